"""The Textual front end (the only package that imports Textual).

``opencode.tui.app.run_app`` is what ``opencode`` with no subcommand calls. Layout:

- ``app.py``        the App: engine ownership, permission modal, command palette, theme memory
- ``screens/``      the chat screen, the permission modal, the picker (each with its .tcss)
- ``widgets/``      transcript, streaming markdown (Line API), tool calls, prompt, status line
- ``panels/``       backlog, target registry and verification panels over registered commands
- ``messages.py``   the Textual messages the widgets exchange
- ``testing.py``    helpers shared by tests and benchmarks (config, seeding, event feeding)
"""
