"""Side panels (backlog, target registry, verification results), each fed by a registered
command's structured data."""
