"""The groomed backlog: markdown import/export, grooming, and plan-versus-reality sync."""
