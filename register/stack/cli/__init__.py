"""The stack's commands: `lamplighter services` and `lamplighter up`."""
