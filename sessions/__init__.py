"""The opencode engine: config, store, providers, tools and the agent loop.

Nothing below this package imports Textual or ``commands``; headless paths depend on that.
"""
