"""Permission commands (`permission explain`)."""
