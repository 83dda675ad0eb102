"""The types every layer shares: findings, settings, special and runtime codes."""
