"""`lock FILE`: write `<stem>.lock.json` beside the manifest (see reconcile/lock_write.py),
and say which locked digests moved since the previous lock."""

from __future__ import annotations

from provisioner import exit_codes
from provisioner.commands.common import echo_document, echo_lines
from provisioner.errors import UsageError
from provisioner.manifest.load import load_manifest
from provisioner.reconcile.lock_write import write_lock
from provisioner.views import json_docs, text


def run(file: str, *, output: str) -> int:
    if file == "-":  # the lock lives beside its manifest; standard input has no beside
        raise UsageError("lock needs a manifest file, not standard input (-)")
    written = write_lock(load_manifest(file))
    if output == "json":
        echo_document(json_docs.lock_document(written))
    else:
        echo_lines(text.lock_written_lines(written))
    return exit_codes.OK
