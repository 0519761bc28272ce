"""LSP features, one per module; each module's `register(server)` adds its handlers."""
