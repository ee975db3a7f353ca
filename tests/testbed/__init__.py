"""The real test bed: Ollama servers built from pinned releases, a real registry, tiny models.

Run `python -m tests.testbed --help`. Everything built is cached outside the
work tree (OLLAMA_PROVISION_CACHE, default ~/.cache/ollama-provision).
"""
