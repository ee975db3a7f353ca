"""observe -> plan (pure) -> apply, and the core that runs them for every entry point."""
