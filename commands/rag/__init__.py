"""``opencode rag ...`` and ``/rag ...``: search and edit the RAG index."""
