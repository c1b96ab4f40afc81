"""Undo for sessions: bash snapshots (``snapshots``), rewinding code and conversation to an
earlier step (``restore``), forking a session (``fork``)."""
