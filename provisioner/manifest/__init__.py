"""The manifest: YAML in, a validated and typed Manifest out (and its lock)."""
