"""`apply FILE`: print the plan, apply it, report. Exit (exit_codes.apply_exit) 0 done
or in sync, 1 failed, refused (--locked: errors.Refused) or cancelled at the prompt;
2 when pruning needs --yes off a terminal."""

from __future__ import annotations

import os
import sys

import click

from provisioner import exit_codes
from provisioner.commands.common import echo_document, echo_lines, echo_notes
from provisioner.commands.options import GlobalOptions
from provisioner.manifest.load import load_manifest
from provisioner.reconcile import core
from provisioner.reconcile.apply import Result
from provisioner.secrets import mask
from provisioner.views import json_docs, markdown, text
from provisioner.views.errors import prune_refusal
from provisioner.views.formats import Output
from provisioner.views.progress import progress_view


class _Consent:
    """Asks before pruning; remembers whether it was refused for want of --yes."""

    def __init__(self, yes: bool) -> None:
        self.yes = yes
        self.needs_yes = False

    def __call__(self, names: list[str]) -> bool:
        if self.yes:
            return True
        if sys.stdin.isatty():
            return click.confirm(f"delete {len(names)} undeclared model(s): {', '.join(names)}?")
        self.needs_yes = True
        click.echo(prune_refusal(names, why="stdin is not a terminal"), err=True)
        return False


def _write_step_summary(applied: core.Applied) -> None:
    """Append to $GITHUB_STEP_SUMMARY when running inside GitHub Actions.

    A summary that cannot be written (a folder, a missing folder, a FIFO nobody
    reads) is a warning: the apply's outcome and exit code stay what they were."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags, 0o666)  # non-blocking: a FIFO without a reader fails
        with open(fd, "a", encoding="utf-8") as f:
            f.write(mask(markdown.apply_summary(applied)))
    except OSError as e:
        reason = e.strerror or str(e)
        click.echo(f"warning: cannot write the step summary to {target}: {reason}", err=True)


def run(
    file: str, settings: core.Settings, opts: GlobalOptions, *, dry_run: bool, yes: bool
) -> int:
    if opts.fleet:
        from provisioner.commands import fleet

        return fleet.apply(file, settings, opts, dry_run=dry_run, yes=yes)
    manifest = load_manifest(file)
    is_text, quiet, verbose = opts.text, opts.quiet, opts.verbose
    view = progress_view(quiet=quiet or not is_text)
    consent = _Consent(yes)

    def show_plan(planned: core.Planned) -> None:
        if is_text:
            echo_notes(manifest, planned.target)
            if not quiet:
                echo_lines(text.plan_lines(planned, verbose=verbose))
            elif planned.plan.failures:
                echo_lines(text.plan_lines(planned, quiet=True)[:-1])

    def _show_result(result: Result) -> None:
        if not quiet or result.outcome != "done":
            view.log(text.result_line(result))

    hooks = core.Hooks(
        on_plan=show_plan,
        on_progress=view,
        on_result=_show_result if is_text else None,
        confirm_prune=consent,
        # --quiet: failures and the summary only; a failure still says how many attempts
        on_retry=(lambda e: view.log(text.retry_line(e))) if is_text and not quiet else None,
    )
    try:
        applied = core.apply(manifest, settings, hooks, dry_run=dry_run)
    finally:
        view.close()
    if applied.outcome != "dry-run" and not consent.needs_yes:
        _write_step_summary(applied)
    if opts.output is Output.MARKDOWN:
        click.echo(markdown.apply_summary(applied), nl=False)
    elif not is_text:
        echo_document(json_docs.apply_document(applied))
    elif applied.outcome == "cancelled" and not consent.needs_yes:
        click.echo(text.apply_summary(applied), err=True)
    elif applied.outcome in ("done", "failed"):
        click.echo(text.apply_summary(applied))
    elif applied.outcome == "in-sync" and quiet:
        click.echo(text.plan_lines(applied.planned, quiet=True)[-1])
    if consent.needs_yes:
        return exit_codes.USAGE
    return exit_codes.apply_exit(applied.outcome, applied.planned.plan)
