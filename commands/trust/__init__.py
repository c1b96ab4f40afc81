"""`opencode trust [PATH] | --list | --revoke PATH`: workspace trust."""
