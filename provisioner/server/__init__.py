"""Talking to servers: the Ollama client, registries, host resolution."""
