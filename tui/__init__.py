"""The Textual front end (the only package that imports Textual).

``opencode.tui.app.run_app`` is what ``opencode`` with no subcommand calls. Layout:

- ``app.py``        the App: engine ownership, permission modal, command palette, theme memory
- ``screens/``      the chat screen, the permission modal, the picker (each with its .tcss)
- ``widgets/``      transcript (+ its event builder, message views, command output), streaming
                    markdown (Line API), tool calls, prompt, status line
- ``panels/``       backlog, target registry and verification panels over registered commands
- ``host.py``       ``ChatHost``: what screens may use of the app (they never import it)
- ``replay.py``     stored messages replayed as session events (the transcript eats events only)
- ``messages.py``   the Textual messages the widgets exchange
"""
