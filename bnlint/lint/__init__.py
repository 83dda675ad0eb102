"""Finding the rules and running them on parsed modules."""
