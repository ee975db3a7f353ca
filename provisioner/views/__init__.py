"""Rendering typed results: text, JSON, Markdown, live progress."""
