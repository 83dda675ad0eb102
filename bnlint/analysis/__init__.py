"""One module's walk and the project-wide facts built from all modules."""
