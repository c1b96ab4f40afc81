"""Workflows: steps with dependencies (agent turns, registry commands, shell commands) run in
topological order, independent ones in parallel, each run and step persisted and resumable."""
