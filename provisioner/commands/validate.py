"""`validate FILE...`: load each manifest, print every problem, exit 0 or 2.

Text: `file:line:col: message` per problem on stderr, then a summary line per
file; warnings read `file:line:col: warning: message` and never fail.
"""

from __future__ import annotations

from provisioner import exit_codes
from provisioner.commands.common import echo_document, echo_lines
from provisioner.commands.options import GlobalOptions
from provisioner.manifest.check import check_files
from provisioner.views import json_docs, text
from provisioner.views.formats import Output


def run(files: list[str], opts: GlobalOptions, *, allow_unset: bool = False) -> int:
    checks = check_files(files, allow_unset=allow_unset)
    if opts.output is Output.JSON:
        echo_document(json_docs.validate_document(checks))
    else:
        out, err = text.validate_lines(checks)
        echo_lines(err, err=True)
        echo_lines(out)
    return exit_codes.OK if all(c.valid for c in checks) else exit_codes.USAGE
