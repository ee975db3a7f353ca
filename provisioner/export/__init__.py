"""A manifest from a running server."""
