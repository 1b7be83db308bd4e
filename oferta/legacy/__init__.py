"""Frozen code that running workflow histories still need; see each package's docstring."""
