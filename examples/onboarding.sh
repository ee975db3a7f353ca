#!/usr/bin/env bash
# Onboarding: give this machine's Ollama the team's models, or say what to do.
#
#   examples/onboarding.sh [MANIFEST] [apply options...]
#
# MANIFEST defaults to team.yaml next to this script. Without the tool, it says how
# to install it (OLLAMA_PROVISION_SOURCE: what to install; default: the git tag).
# Safe to rerun at any time: apply only does what is still missing. Exit status: 0 all set, 1 something
# could not be done (the message says what to do), 2 a problem with the setup.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="${1:-$here/team.yaml}"
if [[ $# -gt 0 ]]; then shift; fi
tool="${OLLAMA_PROVISION:-ollama-provision}"

step() { printf '==> %s\n' "$*"; }
tell() { printf '%s\n' "$@" >&2; }

# 1. The tool.
step "checking for $tool"
if ! command -v "$tool" >/dev/null 2>&1; then
  # The README's "Install": from the repository, or a wheel the team built with `make dist`.
  source="${OLLAMA_PROVISION_SOURCE:-git+https://github.com/ollama-provision/ollama-provision@main}"
  tell "" "ollama-provision is not installed (or not on PATH). It needs Python 3.10+." \
    "  Install it:  pipx install $source" \
    "          or:  python3 -m pip install --user $source" \
    "  (set OLLAMA_PROVISION_SOURCE to a wheel your team shares, e.g. ./ollama_provision-*.whl)" \
    "  Then rerun:  $0 $manifest"
  exit 2
fi

# 2. The manifest.
step "checking $manifest"
if [[ ! -f "$manifest" ]]; then
  tell "" "The team manifest '$manifest' does not exist." \
    "  Pass its path:  $0 path/to/team.yaml" \
    "  (ask your team where it lives; it is usually in the team's repository)"
  exit 2
fi
if ! "$tool" validate "$manifest" >/dev/null; then
  tell "" "The team manifest has the problems listed above." \
    "  Tell whoever maintains it; rerun this script once it is fixed."
  exit 2
fi

# 3. The Ollama server.
step "checking that Ollama answers"
if ! status="$("$tool" status "$manifest" 2>&1)"; then
  tell "$status"
  if ! grep -qE "cannot connect|no answer|connection to" <<< "$status"; then
    exit 1
  fi
  tell "" "Ollama is not answering. What to do:" \
    "  - Not installed?  https://ollama.com/download" \
    "      (Linux: curl -fsSL https://ollama.com/install.sh | sh)" \
    "  - Installed but not running?  Start it: open the Ollama app, or run 'ollama serve'" \
    "      (Linux service: sudo systemctl start ollama)" \
    "  - Running on another machine or port?  export OLLAMA_HOST=http://HOST:11434" \
    "      (the manifest's server.host, when set, wins over OLLAMA_HOST; --host wins over both)" \
    "  - OLLAMA_HOST=0.0.0.0 tells the *server* to listen on every interface; it is not an" \
    "    address to connect to. On this machine use 127.0.0.1 (ollama-provision does so, with" \
    "    a note); from another machine use the server's real name or IP." \
    "  Now: OLLAMA_HOST=${OLLAMA_HOST:-<unset>}. Then rerun: $0 $manifest"
  exit 1
fi
head -n 1 <<< "$status"

# 4. The models.
step "applying $manifest"
code=0
"$tool" apply "$manifest" "$@" || code=$?
if [[ $code -eq 0 ]]; then
  step "all set: every model in $manifest is on the server ('ollama list' shows them)"
  exit 0
fi
tell ""
if [[ $code -eq 2 ]]; then
  tell "apply stopped before changing anything (reason above). If it wants to delete" \
    "models, rerun in a terminal to confirm, or add --yes: $0 $manifest --yes"
  exit 2
fi
tell "Some models could not be set up; the FAILED lines above say why. Still to do:"
"$tool" drift "$manifest" 2>&1 | grep -v '^extra' >&2 || true  # extra: not the team's concern
tell "" "What usually helps:" \
  "  - 'file does not exist' or 'not found': the name or tag is wrong, or the registry lacks" \
  "    it. Check the name (https://ollama.com/library) or ask the manifest's owner." \
  "  - a private registry over plain http needs 'insecure: true' on that model." \
  "  - 'no space left on device': free disk space, or set OLLAMA_MODELS to a bigger disk" \
  "    and restart Ollama." \
  "  - 'requires a newer version of Ollama': update Ollama (https://ollama.com/download)." \
  "  - network errors or timeouts: rerun this script; downloads resume where they stopped."
exit 1
