"""The console script: a remembered in-sync verdict first (stdlib only), then the CLI.

Kept apart from cli.py so that a repeated no-op apply (provisioner/noop.py) exits
before click, httpx and yaml are imported.
"""

from __future__ import annotations

import sys


def main() -> None:
    from provisioner import noop

    noop.replay_or_arm(sys.argv[1:])  # exits 0 when the remembered verdict holds
    from provisioner.cli import main as cli_main

    cli_main()
