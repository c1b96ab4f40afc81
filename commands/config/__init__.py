"""`opencode config explain` and `opencode init`."""
