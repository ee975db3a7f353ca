"""`init [FILE]`: write a commented starter manifest (models.yaml unless told otherwise).

The starter validates as written; it never replaces an existing file without
--force, and is written atomically (see manifest_files.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from provisioner import exit_codes
from provisioner.commands.common import echo_document
from provisioner.commands.options import GlobalOptions
from provisioner.manifest.files import SCHEMA_URL, write_manifest
from provisioner.views.formats import Output
from provisioner.views.json_docs import init_document

DEFAULT_FILE = "models.yaml"

STARTER = """\
---
# yamllint disable-line rule:line-length
# yaml-language-server: $schema=@SCHEMA@
#
# Which models an Ollama server must have. Check this file (editors do too,
# through the line above), see what would change on the server and why, then
# make it so (a second apply does nothing):
#
#   ollama-provision validate @FILE@
#   ollama-provision plan @FILE@
#   ollama-provision apply @FILE@
#
# The server is --host, else server.host below, else OLLAMA_HOST, else
# http://localhost:11434. ${VAR} and ${VAR:-default} expand from the
# environment.
version: 1

# server:
#   host: ${OLLAMA_HOST:-http://localhost:11434}
#   timeout: 30s
#   headers:          # e.g. behind a reverse proxy; values are never printed
#     Authorization: Bearer ${OLLAMA_TOKEN}

# defaults:           # applied to every model unless it says otherwise
#   pull: if-missing  # or `always`: re-pull when the registry's tag moved
#   warm: false       # true: load into memory after apply
#   keep_alive: 10m   # how long a warmed model stays loaded (-1: forever)

models:
  # A registry model: pulled when missing. `llama3.2` means llama3.2:latest,
  # and is not satisfied by llama3.2:1b (names compare exactly, never by
  # prefix).
  - name: llama3.2

  # Another tag, kept loaded, with a second name (a copy at the same digest):
  # - name: qwen2.5-coder:7b
  #   warm: true
  #   keep_alive: 1h
  #   aliases: [coder]

  # A private registry that speaks plain http:
  # - name: registry.example.internal:5000/team/model:v1
  #   insecure: true

  # A custom model, as a Modelfile (built after its base is present):
  # - name: concise
  #   modelfile: |
  #     FROM llama3.2
  #     SYSTEM You are a concise assistant. Answer in at most three sentences.
  #     PARAMETER temperature 0.3

  # The same, as YAML fields; or `modelfile_path: path/to/Modelfile`:
  # - name: json-extractor
  #   from: llama3.2
  #   system: Reply with JSON only.
  #   parameters: {temperature: 0, num_ctx: 8192}

  # A model that must not be on the server:
  # - name: llama2
  #   state: absent

# prune:               # delete models this file does not declare
#   enabled: false     # or per run: apply --prune (asks first, or --yes)
#   keep: ["*-embed*"] # glob patterns never pruned
"""


def starter_text(file: str) -> str:
    return STARTER.replace("@SCHEMA@", SCHEMA_URL).replace("@FILE@", file)


def run(file: str | None, opts: GlobalOptions, *, force: bool) -> int:
    path = Path(file or DEFAULT_FILE)
    write_manifest(path, starter_text(str(path)), force=force)  # WouldOverwrite: exit 2
    if opts.output is Output.JSON:
        echo_document(init_document(path))
    elif not opts.quiet:
        click.echo(f"wrote {path}: edit the models, then `ollama-provision plan {path}`")
    return exit_codes.OK
