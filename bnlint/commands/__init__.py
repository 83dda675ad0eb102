"""What a user runs: the CLI, its commands, the language server."""
