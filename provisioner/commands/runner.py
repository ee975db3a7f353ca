"""Run one command as the CLI does: options checked, output masked, and every error
one line on stderr (and, under --output json, an error document on stdout) with its
exit code; a traceback only with --verbose."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import NoReturn

import click

from provisioner import exit_codes
from provisioner.commands.options import GlobalOptions, check_options, json_requested
from provisioner.errors import ManifestError
from provisioner.secrets import masked_output
from provisioner.views.errors import error_lines
from provisioner.views.formats import Output


def run_command(command: str, opts: GlobalOptions, call: Callable[[], int]) -> NoReturn:
    """Check the options, run `call` (the command), and exit with its code."""
    with masked_output():
        code = _exit_code(command, opts, call)
    sys.exit(code)


def _exit_code(command: str, opts: GlobalOptions, call: Callable[[], int]) -> int:
    try:
        check_options(command, opts)
        code = call()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`status | head -1`): what it read was printed; end quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_codes.OK
    except KeyboardInterrupt as e:
        click.echo("interrupted; rerun the same command to converge", err=True)
        _error_document(opts, "interrupted", exit_codes.INTERRUPTED, e)
        return exit_codes.INTERRUPTED
    except Exception as e:
        if opts.verbose:
            raise
        lines = error_lines(e)
        for line in lines:
            click.echo(line, err=True)
        code = exit_codes.for_error(e)
        _error_document(opts, lines[0].removeprefix("error: "), code, e)
    return code


def _error_document(opts: GlobalOptions, message: str, code: int, e: BaseException) -> None:
    if opts.output is Output.JSON:
        from provisioner.views.json_docs import error_document  # the views load only here

        problems = e.problems if isinstance(e, ManifestError) else ()
        click.echo(json.dumps(error_document(message, code, problems)))


def run_group(group: click.Group) -> NoReturn:
    """Click parses; a usage error it finds is also an `error` document under -o json
    (stdout holds one document per run, errors included); stderr keeps click's text."""
    try:
        code = group.main(prog_name="ollama-provision", standalone_mode=False)
    except click.UsageError as e:
        e.show()
        if json_requested(sys.argv[1:]):
            from provisioner.views.json_docs import error_document

            click.echo(json.dumps(error_document(e.format_message().rstrip("."), e.exit_code)))
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
