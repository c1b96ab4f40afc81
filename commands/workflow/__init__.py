"""``opencode workflow ...`` and ``/workflow ...``: run, resume and inspect workflows."""
