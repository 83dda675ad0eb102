"""The shared questions rules ask, one module per topic."""
