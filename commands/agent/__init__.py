"""Agent profile commands (``agent list``, ``agent show NAME``)."""
