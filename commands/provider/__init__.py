"""Provider commands: breaker status, the call audit log, model lists."""
