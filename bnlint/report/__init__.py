"""Rendering findings and rule pages."""
