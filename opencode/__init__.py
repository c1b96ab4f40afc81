"""opencode: a Textual terminal app for LLM agent sessions, and the same engine headless.

The distribution owns this one import namespace. Its three parts keep the design card's
top-level folders and are reached through links beside this file:

- ``opencode.sessions`` (``sessions/``): the engine; never imports Textual or Rich.
- ``opencode.commands`` (``commands/``): the CLI and the command registry behind slash commands.
- ``opencode.tui`` (``tui/``): the Textual app.

Dependencies point one way, ``tui -> commands -> sessions`` (checked by ``tests/test_layers.py``).
"""

__version__ = "0.1.0"
