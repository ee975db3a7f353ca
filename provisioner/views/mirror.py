"""The mirror command's report as text: a line per model and a summary."""

from __future__ import annotations

from provisioner.mirror.copy import MirrorReport, ModelResult
from provisioner.views.units import human_size


def _blobs(count: int, size: int, what: str) -> str:
    return f"{count} blob{'s' if count != 1 else ''} {what} ({human_size(size)})"


def model_line(m: ModelResult) -> str:
    if m.status == "failed":
        return f"  FAILED {m.error}"
    said = []
    if m.blobs_copied:
        said.append(_blobs(m.blobs_copied, m.bytes_copied, "copied"))
    if m.blobs_mounted:
        said.append(_blobs(m.blobs_mounted, m.bytes_mounted, "mounted"))
    if m.blobs_skipped:
        said.append(_blobs(m.blobs_skipped, m.bytes_skipped, "already there"))
    mark = "=" if m.status == "up to date" else "+"
    return f"  {mark} {m.name} -> {m.target}: {m.status}; {', '.join(said) or 'no blobs'}"


def mirror_lines(report: MirrorReport, *, quiet: bool = False) -> list[str]:
    lines = [] if quiet else [f"mirror: {report.source} -> {report.destination}"]
    lines += [model_line(m) for m in report.models if not quiet or m.status == "failed"]
    lines.append(summary_line(report))
    return lines


def summary_line(report: MirrorReport) -> str:
    total = report.total
    failed = len(report.failed)
    models = f"{len(report.models) - failed} model(s) mirrored" + (
        f", {failed} FAILED" if failed else ""
    )
    moved = [
        f"{total('blobs_copied')} blobs copied ({human_size(total('bytes_copied'))})",
        f"{total('blobs_skipped')} skipped ({human_size(total('bytes_skipped'))})",
    ]
    if total("blobs_mounted"):
        moved.insert(1, f"{total('blobs_mounted')} mounted ({human_size(total('bytes_mounted'))})")
    return f"{models}; {', '.join(moved)} in {report.seconds:.1f}s"
