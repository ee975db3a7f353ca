"""Read a running server into an Export: one GET /api/tags, one POST /api/show per
distinct digest (concurrently), and, only for a custom or local-file model with a
name on a registry host of its own, one manifest GET to that registry (never to
ollama.com). Reads only: GET, HEAD and POST /api/show; nothing is created, copied
or deleted. A custom model whose template equals its base's cannot be told from
reads (an inherited template and a restated one make different digests): it is
written as inherited, with a comment saying so, unless `exact` is asked, which
builds it once more under a throwaway name (created, compared, deleted) to settle
it: the one export that writes. The rules themselves live in export/build.py."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from secrets import token_hex

from provisioner.custom.modelfile.request import create_request
from provisioner.custom.weights import show_weights
from provisioner.errors import ServerError
from provisioner.export.build import Export, ExportedModel, build_export
from provisioner.export.groups import Group, group_tags, plain_http_likely
from provisioner.names import DEFAULT_HOST
from provisioner.server.client import Client
from provisioner.server.registry import fetch_manifest
from provisioner.types.wire import ShowResult


def _shows(client: Client, groups: tuple[Group, ...], parallel: int = 4) -> dict[str, ShowResult]:
    if not groups:
        return {}
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {g.digest: pool.submit(client.show, g.canonical.display) for g in groups}
        return {digest: future.result() for digest, future in futures.items()}


def _registry_serves(group: Group, show: ShowResult) -> bool:
    """Whether a registry one of the names points at serves this very model (it was pushed)."""
    weights = show_weights(show).model
    for name in group.names:
        if name.host.lower() == DEFAULT_HOST:
            continue  # export never contacts ollama.com
        try:
            remote = fetch_manifest(name, insecure=plain_http_likely(name.host), timeout=5.0)
        except ServerError:
            continue
        if remote.matches(group.digest) or (weights is not None and weights in remote.layers):
            return True
    return False


# Written on a model whose TEMPLATE equals its base's when only reads were made.
INHERITED = (
    "its TEMPLATE equals its base's: written as inherited (no TEMPLATE line), the "
    "reading a Modelfile that does not restate it gives; if apply elsewhere makes "
    "another digest, `export --exact` settles it"
)


def _own_template(client: Client, model: ExportedModel, on_write: Callable[[str], None]) -> bool:
    """Whether the model holds its template as a layer of its own (equal to its base's).

    Nothing /api/show or /api/tags gives tells an inherited template from a restated
    one, yet they make different digests. So build it once with the TEMPLATE written,
    under a throwaway name, and compare digests; the throwaway is deleted at once.
    A server that refuses the create keeps the inherited reading.
    """
    assert model.create is not None and model.same_template is not None
    probe = f"ollama-provision-probe-{token_hex(6)}"
    spec = dataclasses.replace(model.create, template=model.same_template)
    shown = model.group.canonical.display
    try:
        client.create(create_request(spec, probe))
        on_write(f"built {probe} to settle the TEMPLATE of {shown}")
        made = next((t.digest for t in client.tags() if t.name == f"{probe}:latest"), None)
    except ServerError:
        return False
    finally:
        with contextlib.suppress(ServerError):
            client.delete(probe)
            on_write(f"deleted {probe}")
    return made == model.group.digest


def _with_own_templates(
    client: Client, export: Export, exact: bool, on_write: Callable[[str], None]
) -> Export:
    models = []
    for m in export.models:
        ambiguous = m.kind == "custom" and m.create is not None and m.same_template is not None
        if ambiguous and not exact:
            m = dataclasses.replace(m, notes=(*m.notes, INHERITED))
        elif ambiguous and m.create is not None and _own_template(client, m, on_write):
            note = "its TEMPLATE equals its base's but is a layer of its own: written out"
            create = dataclasses.replace(m.create, template=m.same_template)
            m = dataclasses.replace(m, create=create, notes=(*m.notes, note))
        models.append(m)
    return dataclasses.replace(export, models=tuple(models))


def read_export(
    client: Client, *, exact: bool = False, on_write: Callable[[str], None] | None = None
) -> tuple[Export, str]:
    """The export of the server behind client, and the server's version. Reads only,
    unless `exact`: then on_write hears of each model built and deleted to settle a
    TEMPLATE."""
    version = client.version()
    groups, skipped = group_tags(client.tags())
    shows = _shows(client, groups)
    export = build_export(groups, shows, skipped=skipped, registry_serves=_registry_serves)
    wrote = on_write if on_write is not None else (lambda _line: None)
    return _with_own_templates(client, export, exact, wrote), version
