"""The shapes data takes between the stages: what a manifest declares and what a
server answers. Plain frozen dataclasses that import nothing heavy (no httpx,
yaml, jsonschema, click), so the pure plan and the views can use them cheaply.
"""
