#!/usr/bin/env bash
# The provision action's step: `ollama-provision [--host H] --output json COMMAND ARGS MANIFEST`,
# then report.py turns the JSON document into a log, ::error:: annotations and step outputs.
#
# Environment (action.yml sets it from its inputs):
#   OP_MANIFEST  the manifest file (required)
#   OP_COMMAND   apply (default; --yes is passed), plan or drift
#   OP_HOST      the Ollama server URL (optional)
#   OP_ARGS      more options for the command, split on whitespace (optional)
#   OLLAMA_PROVISION  the command to run (default: ollama-provision on PATH)
#   OP_PYTHON    the Python that runs report.py (default: python, the one the action set up)
# GITHUB_OUTPUT, when set, receives the outputs `changed` and `drift`;
# GITHUB_STEP_SUMMARY, when set, receives apply's Markdown summary.
# The exit status is the command's: 0 done or in sync, 1 a model or the connection failed,
# 2 invalid manifest or usage, 3 drift found (drift; plan with --exit-code).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

manifest="${OP_MANIFEST:-}"
if [[ -z "$manifest" ]]; then
  echo "::error title=ollama-provision::the 'manifest' input is required (e.g. manifest: models.yaml)"
  exit 2
fi
if [[ ! -f "$manifest" ]]; then
  echo "::error title=ollama-provision::manifest '$manifest' not found in $(pwd); did the job check out the repository?"
  exit 2
fi

command="${OP_COMMAND:-apply}"
case "$command" in
  apply) run=(apply --yes) ;;
  plan | drift) run=("$command") ;;
  *)
    echo "::error title=ollama-provision::the 'command' input is '$command'; use apply, plan or drift"
    exit 2
    ;;
esac

tool="${OLLAMA_PROVISION:-ollama-provision}"
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "::error title=ollama-provision::'$tool' is not installed; the action's install step should have done it"
  exit 2
fi

global=(--output json)
if [[ -n "${OP_HOST:-}" ]]; then
  global+=(--host "$OP_HOST")
fi
extra=()
if [[ -n "${OP_ARGS:-}" ]]; then
  read -r -a extra <<< "$OP_ARGS"
fi

document="$(mktemp)"
trap 'rm -f "$document"' EXIT
# Errors and progress go to stderr (the log) as they happen; the JSON document to the file.
# ${array[@]+...}: empty arrays are "unbound" under set -u in bash 3 (macOS runners).
code=0
"$tool" "${global[@]}" "${run[@]}" ${extra[@]+"${extra[@]}"} "$manifest" > "$document" || code=$?
if ! "${OP_PYTHON:-python}" "$here/report.py" "$command" "$manifest" "$document"; then
  echo "::error title=ollama-provision::could not read the result of '$tool $command'" \
    "(exit status $code)"
  if [[ $code -eq 0 ]]; then code=1; fi
fi
exit "$code"
