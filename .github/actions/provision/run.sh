#!/usr/bin/env bash
# The provision action's apply step: `ollama-provision [--host H] apply --yes ARGS MANIFEST`.
#
# Environment (action.yml sets it from its inputs):
#   OP_MANIFEST  the manifest file (required)
#   OP_HOST      the Ollama server URL (optional)
#   OP_ARGS      more `apply` options, split on whitespace (optional)
#   OLLAMA_PROVISION  the command to run (default: ollama-provision on PATH)
# GITHUB_STEP_SUMMARY, when set, receives apply's Markdown summary.
# The exit status is apply's: 0 in sync, 1 a model failed, 2 invalid manifest or usage.
set -euo pipefail

manifest="${OP_MANIFEST:-}"
if [[ -z "$manifest" ]]; then
  echo "error: the 'manifest' input is required (e.g. manifest: models.yaml)" >&2
  exit 2
fi
if [[ ! -f "$manifest" ]]; then
  echo "error: manifest '$manifest' not found in $(pwd); did the job check out the repository?" >&2
  exit 2
fi

tool="${OLLAMA_PROVISION:-ollama-provision}"
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "error: '$tool' is not installed; the action's install step should have done it" >&2
  exit 2
fi

global=()
if [[ -n "${OP_HOST:-}" ]]; then
  global+=(--host "$OP_HOST")
fi
extra=()
if [[ -n "${OP_ARGS:-}" ]]; then
  read -r -a extra <<< "$OP_ARGS"
fi

# ${array[@]+...}: empty arrays are "unbound" under set -u in bash 3 (macOS runners).
exec "$tool" ${global[@]+"${global[@]}"} apply --yes ${extra[@]+"${extra[@]}"} "$manifest"
