"""Engines measured in the project's own environment: the NumPy reference and ai-trading."""
