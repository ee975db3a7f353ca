"""Does a custom model on the server still match its declaration?

Compares a CreateSpec with the server's POST /api/show of the model, after
normalizing both to what `ollama create` stores (server/create.go):
- what the declaration leaves out is inherited: from the base's own /api/show
  for `FROM <model>`; for `FROM <file>`, from the GGUF, which gives nothing
  when it has no chat template (template `{{ .Prompt }}`, no parameters);
- parameters merge over the inherited ones key by key (`stop` as a whole
  list, compared as a set); licenses add up after the base's; messages replace the
  base's only when some are declared; adapters add up after the base's;
- weights compare by digest: the model layer (the first FROM blob of the
  show's Modelfile) against the local file's sha256, or the base's model
  layer; adapters likewise. Where the server does not store the uploaded
  bytes as they are (quantize, safetensors, servers from 0.30 that rewrite
  GGUFs), the layer a previous create produced, remembered by hash_cache.py.
What cannot be known is not compared: the inherited fields of a base that is
not on the server, or the template and parameters Ollama derives from a GGUF
chat template, and quantized weights without a remembered build.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.custom.weights import LocalState, show_weights
from provisioner.errors import InvalidName
from provisioner.names import parse_name
from provisioner.types.manifest import CreateSpec
from provisioner.types.wire import ShowResult
from provisioner.versions import parse_version

DEFAULT_TEMPLATE = "{{ .Prompt }}"  # what /api/show says when a model has no template
_REWRITES_GGUF = (0, 30)  # from here a create may rewrite an uploaded GGUF (llama-quantize COPY)
_KNOWS_REQUIRES = (0, 14)  # REQUIRES (ollama/ollama#13361): stored in the config, shown by show
_EXCERPT = 40


def parse_show_parameters(text: str) -> dict[str, Any]:
    """Read /api/show's `parameters` (one `%-30s %#v` line per value, stop repeated)."""
    params: dict[str, Any] = {}
    for line in text.splitlines():
        key, _, raw = line.strip().partition(" ")
        if not key:
            continue
        value = _go_value(raw.strip())
        if key == "stop":
            params.setdefault("stop", []).append(value)
        else:
            params[key] = value
    return params


def _go_value(raw: str) -> Any:
    """A value printed by Go's %#v: a quoted string, true/false, or a number."""
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return _go_unquote(raw[1:-1])
    if raw in ("true", "false"):
        return raw == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _go_unquote(body: str) -> str:
    """The inside of a Go strconv.Quote literal (\\n, \\t, \\xHH, \\uHHHH, \\UHHHHHHHH, octal)."""
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 == len(body):
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        width = {"x": 2, "u": 4, "U": 8}.get(e)
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif width is not None:
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        elif e in "01234567":
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
        else:  # \\ \" \'
            out.append(e)
            i += 2
    return "".join(out)


def same_parameter_value(want: Any, have: Any, *, ordered: bool = False) -> bool:
    """Whether two parameter values are the same to Ollama.

    Floats compare at float32 precision (how Ollama keeps them). Lists are the
    stop sequences: by default a set (a new order alone is no reason to
    re-create); `ordered` for when their order is what is being reproduced.
    """
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return math.isclose(float(want), float(have), rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(want, list) and isinstance(have, list):
        left, right = [str(x) for x in want], [str(x) for x in have]
        return left == right if ordered else sorted(left) == sorted(right)
    return bool(want == have)


def _excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
    return repr(text) if isinstance(value, str) else text


# ---- what the model should have, field by field ----------------------------------------


@dataclass(frozen=True)
class _Inherited:
    """What the declaration does not set, as the base gives it; None where unknown."""

    system: str | None = None
    template: str | None = None
    parameters: Mapping[str, Any] | None = None
    license: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None
    adapters: tuple[str, ...] | None = None
    requires: str | None = None


def show_messages(show: ShowResult) -> tuple[tuple[str, str], ...]:
    """(role, content) pairs as /api/show lists them; a missing field is empty text."""
    return tuple((str(m.get("role") or ""), str(m.get("content") or "")) for m in show.messages)


def _inherited(spec: CreateSpec, base: ShowResult | None, local: LocalState) -> _Inherited:
    if not spec.from_is_path:
        if base is None:
            return _Inherited()
        return _Inherited(
            system=base.system,
            template=base.template,
            parameters=parse_show_parameters(base.parameters),
            license=base.license,
            messages=show_messages(base),
            adapters=show_weights(base).adapters,
            requires=str(base.raw.get("requires") or ""),
        )
    weights = local.weights.get(spec.from_)
    plain_gguf = weights is not None and weights.chat_template is False
    return _Inherited(
        system="",
        template=DEFAULT_TEMPLATE if plain_gguf else None,
        parameters={} if plain_gguf else None,
        license="",
        messages=(),
        adapters=(),
        requires="",
    )


def _at_least(server_version: str, wanted: tuple[int, ...]) -> bool:
    version = parse_version(server_version)
    return version is not None and version >= wanted


def _stored_as_is(server_version: str) -> bool:
    version = parse_version(server_version)
    return version is not None and version < _REWRITES_GGUF


def _expected_model(
    spec: CreateSpec, base: ShowResult | None, local: LocalState, server_version: str
) -> str | None:
    """The model layer digest `ollama create` would make now; None when unknowable."""
    source: str | None = None
    if spec.from_is_path:
        weights = local.weights.get(spec.from_)
        source = weights.source if weights else None
        as_is = weights is not None and weights.single_gguf and _stored_as_is(server_version)
    elif base is not None:
        source, as_is = show_weights(base).model, True  # the base's layers are reused
    if source is None:
        return None
    recorded = local.built(source, "model", spec.quantize)
    if recorded is not None:
        return recorded
    return source if as_is and not spec.quantize else None


def _expected_adapters(spec: CreateSpec, local: LocalState) -> tuple[str | None, ...]:
    """Adapter layer digests; a GGUF adapter is stored as uploaded (v0.11.4 and v0.32.15)."""
    out: list[str | None] = []
    for path in spec.adapters:
        weights = local.weights.get(path)
        if weights is None:
            out.append(None)
            continue
        recorded = local.built(weights.source, "adapter")
        out.append(recorded or (weights.source if weights.single_gguf else None))
    return tuple(out)


# ---- the comparison ---------------------------------------------------------------------


def _text_difference(what: str, want: str | None, have: str) -> list[str]:
    if want is None or want == have:
        return []
    shown = _excerpt(have) if have else "none"
    return [f"{what} differs: server has {shown}, declared {_excerpt(want) if want else 'none'}"]


def _parameter_differences(
    declared: Mapping[str, Any], inherited: Mapping[str, Any] | None, have: Mapping[str, Any]
) -> list[str]:
    want = {**(inherited or {}), **declared}
    keys = list(want) + ([k for k in have if k not in want] if inherited is not None else [])
    out = []
    for key in keys:
        if key not in have:
            out.append(f"parameter {key}: server has none, declared {_excerpt(want[key])}")
        elif key not in want:
            out.append(f"parameter {key}: server has {_excerpt(have[key])}, declared none")
        elif not same_parameter_value(want[key], have[key]):
            out.append(
                f"parameter {key}: server has {_excerpt(have[key])}, declared {_excerpt(want[key])}"
            )
    return out


def _license_difference(spec: CreateSpec, inherited: str | None, have: str) -> list[str]:
    declared = "\n".join(spec.license)
    if inherited is None:  # base unknown: ours must at least come last
        same = not spec.license or have == declared or have.endswith("\n" + declared)
        return [] if same else _text_difference("license", declared, have)
    return _text_difference(
        "license", "\n".join([inherited, *spec.license] if inherited else spec.license), have
    )


def _messages_difference(
    declared: Sequence[tuple[str, str]],
    inherited: tuple[tuple[str, str], ...] | None,
    show: ShowResult,
) -> list[str]:
    want = tuple(declared) if declared else inherited
    have = show_messages(show)
    if want is None or want == have:
        return []
    if len(want) != len(have):
        return [f"messages differ: server has {len(have)}, declared {len(want)}"]
    i = next(i for i, (w, h) in enumerate(zip(want, have, strict=True)) if w != h)
    return [
        f"messages differ: #{i + 1} is {have[i][0]} {_excerpt(have[i][1])} on the server, "
        f"declared {want[i][0]} {_excerpt(want[i][1])}"
    ]


def _short(digest: str | None) -> str:
    return "sha256:" + digest[7:19] if digest else "none"


def _digests(digests: Sequence[str | None]) -> str:
    return "[" + ", ".join(map(_short, digests)) + "]"


def _weights_differences(
    spec: CreateSpec,
    show: ShowResult,
    base: ShowResult | None,
    inherited: _Inherited,
    local: LocalState,
    server_version: str,
) -> list[str]:
    out = []
    have = show_weights(show)
    want_model = _expected_model(spec, base, local, server_version)
    if want_model is not None and have.model != want_model:
        what = "local file" if spec.from_is_path else f"{spec.from_} now"
        out.append(
            f"base weights: server has {_short(have.model)}, {what} gives {_short(want_model)}"
        )
    declared = _expected_adapters(spec, local)
    if inherited.adapters is not None and None not in declared:
        want = (*inherited.adapters, *declared)
        if have.adapters != want:
            out.append(f"adapters: server has {_digests(have.adapters)}, declared {_digests(want)}")
    elif declared and None not in declared and have.adapters[-len(declared) :] != declared:
        out.append(f"adapters: server has {_digests(have.adapters)}, declared {_digests(declared)}")
    return out


def _base_difference(spec: CreateSpec, show: ShowResult) -> str | None:
    if spec.from_is_path:
        return None  # compared by weight digest
    parent = str(show.details.get("parent_model") or "")
    if not parent:
        return None
    try:
        same = parse_name(parent).key == parse_name(spec.from_).key
    except InvalidName:
        return None  # a blob path or file name: not a model reference
    return None if same else f"base: server has {parent}, declared {spec.from_}"


def _quantize_difference(spec: CreateSpec, show: ShowResult) -> str | None:
    if not spec.quantize:
        return None
    have = str(show.details.get("quantization_level") or "")
    if have.upper() == spec.quantize.upper():
        return None
    return f"quantize: server has {have or 'none'}, declared {spec.quantize.upper()}"


def definition_differences(
    spec: CreateSpec,
    show: ShowResult,
    *,
    base: ShowResult | None = None,
    local: LocalState | None = None,
    server_version: str = "",
) -> tuple[str, ...]:
    """What differs between the declaration and the server, one short line each.

    base: /api/show of the FROM model when it is on the server; local: the
    hashed FROM/ADAPTER files and remembered builds; server_version: the
    server's /api/version (it decides whether an uploaded GGUF is kept as is).
    """
    local = local or LocalState()
    inherited = _inherited(spec, base, local)
    out: list[str] = []
    out += _text_difference("system prompt", spec.system or inherited.system, show.system)
    out += _text_difference("template", spec.template or inherited.template, show.template)
    out += _parameter_differences(
        spec.parameters, inherited.parameters, parse_show_parameters(show.parameters)
    )
    out += _messages_difference(spec.messages, inherited.messages, show)
    out += _license_difference(spec, inherited.license, show.license)
    if _at_least(server_version, _KNOWS_REQUIRES):  # older servers drop it
        want = spec.requires or inherited.requires
        out += _text_difference("requires", want, str(show.raw.get("requires") or ""))
    out += _weights_differences(spec, show, base, inherited, local, server_version)
    for extra in (_base_difference(spec, show), _quantize_difference(spec, show)):
        if extra:
            out.append(extra)
    return tuple(out)
