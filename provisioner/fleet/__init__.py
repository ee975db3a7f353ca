"""Fleets: one manifest, many Ollama servers (an inventory, or --host given several times)."""
