"""Modelfile text <-> CreateSpec, with the grammar and typing of Ollama's own parser.

Reading follows Ollama's `parser/parser.go` (ParseFile, then CreateRequest) and
`api.FormatParams`, which agree at v0.11.4 and v0.32.15 except that REQUIRES
exists only in the later one. What a user may find surprising, all as Ollama:
- a value runs to the end of its line and is trimmed; `#` is a comment only
  where a command could start; there are no escapes;
- a value that starts with `"` or `\"\"\"` goes on, across lines, until a line
  where the whole value ends with the same quote; a CRLF file keeps `\\r\\n`
  inside a multi-line value; characters that are not printable are dropped,
  except tab and line breaks inside quotes: "printable" is Go's strconv.IsPrint
  (printable.py), never the running Python's Unicode tables;
- invalid UTF-8 becomes U+FFFD per maximal invalid subpart (Go's x/text decoder
  and Python's "replace" agree; the corpus test checks it);
- an empty TEMPLATE or SYSTEM means "not set" (Ollama omits it from the request);
- `PARAMETER stop` accumulates, any other repeated command or parameter replaces,
  LICENSE and MESSAGE accumulate; only the last ADAPTER counts;
- a parameter named like a command (`PARAMETER system x`, also model, adapter,
  template, license, message, requires) acts as that command;
- FROM names a local file or folder when that path exists (relative to the
  Modelfile's folder, `~` expanded), otherwise a model, kept verbatim.
- a FROM or ADAPTER folder whose weight files resolve (through symlinks) outside
  the folder as written is refused, as Ollama refuses it ("insecure path").
Decisions of ours, where Ollama would go on: a second FROM is an error; a FROM
that looks like a path (`./`, `../`, `/`, `~`) but does not exist is an error
(Ollama would try to pull it as a model name); an empty FROM is an error
(Ollama would take the Modelfile's own folder as the weights); a FROM that is
neither an existing path nor a valid model name is an error (the server would
refuse it at create); a FROM or ADAPTER that is neither a regular file nor a
folder (/dev/zero, a FIFO, a socket) is an error (the CLI of v0.11.4 and
v0.34.4 hashes /dev/zero or a FIFO forever at "gathering model components",
and sends /dev/null as an empty blob the server refuses: "unknown type"); NaN
and infinite numbers are errors (the Ollama CLI fails later, encoding JSON);
DRAFT, RENDERER and PARSER (v0.32) are not supported yet.
"""

from __future__ import annotations

import math
import os
import re
import stat
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from difflib import get_close_matches
from fractions import Fraction
from pathlib import Path
from typing import Any

from provisioner.custom.printable import is_printable, printable_only
from provisioner.errors import ModelfileError, WeightsNotFound
from provisioner.names import invalid_reason
from provisioner.types.manifest import CreateSpec

COMMANDS = ("FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "LICENSE", "MESSAGE", "REQUIRES")
ROLES = ("system", "user", "assistant")
_UNSUPPORTED = ("DRAFT", "RENDERER", "PARSER")

# api.Options field types (v0.32.15 adds draft_num_predict; older servers store and ignore it).
_INT, _FLOAT, _BOOL, _LIST = "an integer", "a number", "true or false", "a list"


def _words(text: str) -> list[str]:
    return text.split()


PARAMETER_TYPES: Mapping[str, str] = {
    **dict.fromkeys(_words("num_ctx num_batch num_gpu main_gpu num_thread num_keep"), _INT),
    **dict.fromkeys(_words("seed num_predict top_k repeat_last_n draft_num_predict"), _INT),
    **dict.fromkeys(_words("top_p min_p typical_p temperature repeat_penalty"), _FLOAT),
    **dict.fromkeys(_words("presence_penalty frequency_penalty"), _FLOAT),
    "use_mmap": _BOOL,
    "stop": _LIST,
}
DEPRECATED_PARAMETERS = frozenset(
    _words("penalize_newline low_vram f16_kv logits_all vocab_only use_mlock")
    + _words("mirostat mirostat_tau mirostat_eta")
)

_BLANK, _NEWLINE = " \t", "\r\n"
_TRIM = _BLANK + _NEWLINE  # the only whitespace a value buffer can hold (the rest is dropped)


@dataclass(frozen=True)
class _Command:
    """One command as Ollama records it: name "model" for FROM, a parameter's own
    name for PARAMETER, and "role: content" as the args of MESSAGE."""

    name: str
    args: str
    at: int  # offsets into the text, for error positions
    name_at: int
    value_at: int


@dataclass(frozen=True)
class _Origin:
    """Where the text came from: for positions in errors and for relative paths."""

    text: str
    source: str
    base_dir: Path

    def where(self, offset: int) -> tuple[int, int]:
        """1-based line and column; CRLF, CR and LF each end one line."""
        before = self.text[:offset]
        line = before.count("\n") + before.count("\r") - before.count("\r\n") + 1
        start = max(before.rfind("\n"), before.rfind("\r")) + 1
        return line, offset - start + 1

    def error(self, offset: int, message: str) -> ModelfileError:
        line, column = self.where(offset)
        return ModelfileError(_escaped(message), file=self.source, line=line, column=column)

    def warning(self, offset: int, message: str) -> str:
        line, column = self.where(offset)
        return f"{self.source}:{line}:{column}: {message}"


def _escaped(message: str) -> str:
    """The message with what it quotes from the file made visible: a control character
    or line separator in a quoted token (ESC, VT, NEL, U+2028...) is written as its
    escape, so the error stays one line and sends nothing raw to the terminal."""
    if printable_only(message) == message:
        return message
    return "".join(c if is_printable(c) else ascii(c)[1:-1] for c in message)


def parse_modelfile(text: str, *, source: str, base_dir: Path) -> CreateSpec:
    """Parse Modelfile text into a CreateSpec; raise ModelfileError at the first problem."""
    return parse_modelfile_with_warnings(text, source=source, base_dir=base_dir)[0]


def parse_modelfile_with_warnings(
    text: str, *, source: str, base_dir: Path
) -> tuple[CreateSpec, list[str]]:
    """Like parse_modelfile, plus warnings ("file:line:col: message") for what Ollama ignores."""
    spec, warnings, _ = parse_modelfile_located(text, source=source, base_dir=base_dir)
    return spec, warnings


def parse_modelfile_located(
    text: str, *, source: str, base_dir: Path
) -> tuple[CreateSpec, list[str], tuple[int, int]]:
    """Like parse_modelfile_with_warnings, plus the line and column of the FROM value
    (where a problem with the base, found later, is reported)."""
    origin = _Origin(text.removeprefix("\ufeff"), source, base_dir)
    commands = _tokenize(origin)
    froms = [command for command in commands if command.name == "model"]
    if not froms:
        raise origin.error(0, "no FROM line: add `FROM <model or path>`")
    spec, warnings = _build(commands, origin)
    return spec, warnings, origin.where(froms[0].value_at)


def decode_modelfile(data: bytes) -> str:
    """Modelfile bytes to text as Ollama reads them: UTF-8, or UTF-16 when a BOM says so."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[2:].decode(codec, errors="replace")
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")


# ---- reading: the character grammar of ParseFile ------------------------------------


def _tokenize(origin: _Origin) -> list[_Command]:
    text, commands, i = origin.text, list[_Command](), 0
    while i < len(text):
        if text[i] in _TRIM:
            i += 1
        elif text[i] == "#":  # only where a command could start; runs to the line end
            i = _line_end(text, i)
        else:
            command, i = _read_command(origin, i, commands[-1] if commands else None)
            commands.append(command)
    return commands


def _read_command(origin: _Origin, start: int, previous: _Command | None) -> tuple[_Command, int]:
    text = origin.text
    # Ollama takes any first character as the start of a name, but drops it when it
    # is not printable (so a stray BOM or zero-width space before FROM is harmless).
    word_end = _skip(text, start + 1, _is_ascii_letter)
    word = text[start:word_end] if is_printable(text[start]) else text[start + 1 : word_end]
    keyword = word.upper() if word.isascii() else ""  # Go lower-cases; no non-ASCII folds in
    if keyword in COMMANDS and word_end < len(text) and text[word_end] in _BLANK:
        if keyword in ("PARAMETER", "MESSAGE"):
            return _read_named(origin, start, word_end + 1, keyword)
        value, value_at, end = _read_value(origin, word_end + 1)
        name = "model" if keyword == "FROM" else keyword.lower()
        return _Command(name, value, start, value_at, value_at), end
    if keyword in COMMANDS and _at_line_end(text, word_end):
        raise origin.error(start, f"incomplete {keyword}: write `{_usage(keyword)}`")
    if keyword in _UNSUPPORTED:
        raise origin.error(start, f"{keyword} is not supported by ollama-provision yet: remove it")
    token = text[start : _token_end(text, start)]
    close = get_close_matches(keyword, COMMANDS, n=1)
    advice = f"did you mean {close[0]}?" if close else f"use one of {', '.join(COMMANDS)}"
    if previous and previous.name in ("template", "system", "license", "message"):
        advice += ' (a text that spans lines needs """triple quotes""")'
    raise origin.error(start, f"unknown command '{token}': {advice}")


def _read_named(origin: _Origin, start: int, at: int, keyword: str) -> tuple[_Command, int]:
    """PARAMETER <name> <value> and MESSAGE <role> <text>: one blank after each word."""
    text, is_parameter = origin.text, keyword == "PARAMETER"
    end = _skip(text, at, _is_name_char if is_parameter else _is_ascii_letter)
    word, token = text[at:end], text[at : _token_end(text, at)]
    if not token:
        raise origin.error(at, f"incomplete {keyword}: write `{_usage(keyword)}` (single spaces)")
    if not is_parameter and token not in ROLES:
        raise origin.error(at, f"invalid message role '{token}': use system, user or assistant")
    if _at_line_end(text, end):
        what = "<value>" if is_parameter else "<text>"
        raise origin.error(end, f"incomplete {keyword} {word}: write `{keyword} {word} {what}`")
    if word != token:
        raise origin.error(at, f"invalid parameter name '{token}': use letters, digits and _")
    value, value_at, after = _read_value(origin, end + 1)
    if is_parameter:
        return _Command(word, value, start, at, value_at), after
    return _Command("message", f"{word}: {value}", start, at, value_at), after


def _usage(keyword: str) -> str:
    what = {"FROM": "<model or path>", "ADAPTER": "<path>", "REQUIRES": "<version>"}
    what |= {"PARAMETER": "<name> <value>", "MESSAGE": "<role> <text>"}
    return f"{keyword} {what.get(keyword, '<text>')}"


def _read_value(origin: _Origin, at: int) -> tuple[str, int, int]:
    """The value that starts at `at`: (value, offset of its first character, offset after it).

    Ollama re-checks at every line break whether the trimmed text so far is a
    complete value. After the first line the value has an open quote, so only a
    line that ends in that quote can complete it: only those are checked here.
    """
    text = origin.text
    value_at = _skip(text, at, lambda c: c in _BLANK)
    end = _line_end(text, at)
    parts = [_printable(text[at:end])]
    value = _unquote(parts[0].strip(_TRIM))
    quote = '"""' if parts[0].lstrip(_BLANK).startswith('"""') else '"'
    while value is None:
        if end == len(text):
            message = f"unterminated {quote} value: end its last line with {quote}"
            raise origin.error(value_at, message)
        start, end = end + 1, _line_end(text, end + 1)
        parts += [text[start - 1], _printable(text[start:end])]
        if parts[-1].rstrip(_TRIM).endswith(quote):
            value = _unquote("".join(parts).strip(_TRIM))
    return value, value_at, end + 1


def _unquote(value: str) -> str | None:
    """The content of a complete value, or None while a quote is still open."""
    if value.startswith('"""'):
        return value[3:-3] if len(value) >= 6 and value.endswith('"""') else None
    if value.startswith('"'):
        return value[1:-1] if len(value) >= 2 and value.endswith('"') else None
    return value


def _printable(segment: str) -> str:
    return printable_only(segment, keep=_BLANK)


def _is_ascii_letter(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _is_name_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _skip(text: str, i: int, accept: Callable[[str], bool]) -> int:
    while i < len(text) and accept(text[i]):
        i += 1
    return i


def _line_end(text: str, i: int) -> int:
    return _skip(text, i, lambda c: c not in _NEWLINE)


def _token_end(text: str, i: int) -> int:
    return _skip(text, i, lambda c: c not in _TRIM)


def _at_line_end(text: str, i: int) -> bool:
    return i == len(text) or text[i] in _NEWLINE


# ---- building: the meaning CreateRequest gives each command -------------------------


def _build(commands: list[_Command], origin: _Origin) -> tuple[CreateSpec, list[str]]:
    fields: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    messages: list[tuple[str, str]] = []
    licenses: list[str] = []
    warnings: list[str] = []
    first: dict[str, _Command] = {}
    for command in commands:
        name = command.name
        if name in ("model", "adapter") and name in first:
            _repeated(command, first[name], origin, warnings)
        first.setdefault(name, command)
        if name == "model":
            fields["from_"], fields["from_is_path"] = _resolve_from(command, origin)
        elif name == "adapter":
            fields["adapters"] = (_resolve_adapter(command, origin),)
        elif name in ("template", "system"):
            fields[name] = command.args or None  # Ollama omits an empty one
        elif name == "license":
            licenses.append(command.args)
        elif name == "requires":
            fields["requires"] = _requires(command, origin)
        elif name == "message":
            messages.append(_message(command, origin))
        elif name in DEPRECATED_PARAMETERS:
            message = f"parameter '{name}' is deprecated and Ollama ignores it: remove it"
            warnings.append(origin.warning(command.at, message))
        else:
            _add_parameter(parameters, command, origin)
    spec = CreateSpec(
        **fields, parameters=parameters, messages=tuple(messages), license=tuple(licenses)
    )
    return spec, warnings


def _repeated(command: _Command, first: _Command, origin: _Origin, warnings: list[str]) -> None:
    line = origin.where(first.at)[0]
    if command.name == "model":
        raise origin.error(command.at, f"second FROM (the first is on line {line}): keep one")
    message = f"this ADAPTER replaces the one on line {line}: Ollama uses only the last"
    warnings.append(origin.warning(command.at, message))


def _resolve_from(command: _Command, origin: _Origin) -> tuple[str, bool]:
    if not command.args:
        raise origin.error(
            command.value_at, "empty FROM: write `FROM <model or path>` (a model name or a file)"
        )
    path = _local_path(command, origin)
    if _exists(path, command, origin):
        _check_kind(path, command, origin)
        _check_folder(path, command, origin)
        return path, True
    if looks_like_path(command.args):
        raise origin.error(
            command.value_at,
            f"FROM path '{command.args}' does not exist (looked for {path}): "
            "fix the path, or name a model without ./ / ~",
        )
    reason = invalid_reason(command.args)
    if reason is not None:
        raise origin.error(
            command.value_at,
            f"base '{command.args}' is neither a model name ({reason}) nor an existing file; "
            "fix FROM",
        )
    return command.args, False


def _resolve_adapter(command: _Command, origin: _Origin) -> str:
    path = _local_path(command, origin)
    if not command.args or not _exists(path, command, origin):
        raise origin.error(
            command.value_at,
            f"ADAPTER path '{command.args}' does not exist (looked for {path}): "
            "fix the path; relative paths start at the Modelfile's folder",
        )
    _check_kind(path, command, origin)
    _check_folder(path, command, origin)
    return path


def special_file(path: str) -> str | None:
    """What a path is when it is neither a regular file nor a folder ("a FIFO (named
    pipe)", "a character device"...), else None. Ollama's create reads such a FROM
    (/dev/zero, a FIFO) forever; we refuse it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # gone or unreadable: reported where it is read
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    from provisioner.custom.blobs import file_kind  # late: heavier imports

    return file_kind(mode)


def _check_kind(path: str, command: _Command, origin: _Origin) -> None:
    kind = special_file(path)
    if kind is not None:
        keyword = "FROM" if command.name == "model" else "ADAPTER"
        raise origin.error(
            command.value_at,
            f"{keyword} '{command.args}' is {kind}, not a file or folder of weights: "
            f"point {keyword} at a GGUF or safetensors file or folder",
        )


def _check_folder(path: str, command: _Command, origin: _Origin) -> None:
    """A folder must hold weights, each inside the folder as written once symlinks are
    resolved: Ollama's fileDigestMap refuses anything else as "insecure path"."""
    if not os.path.isdir(path):
        return  # a single file is read through its symlinks, wherever they lead
    from provisioner.custom.blobs import weight_files  # late: heavier imports

    keyword = "FROM" if command.name == "model" else "ADAPTER"
    try:
        files = weight_files(Path(path))
    except WeightsNotFound as err:
        raise origin.error(command.value_at, f"{keyword} folder {err}") from None
    except OSError as err:
        raise origin.error(command.value_at, f"cannot read '{path}': {err.strerror}") from None
    for file in files.values():
        resolved = os.path.realpath(file)
        relative = os.path.relpath(resolved, path)
        if relative == ".." or relative.startswith(("../", "/")) or os.path.isabs(relative):
            raise origin.error(
                command.value_at,
                f"insecure path: {keyword} '{command.args}' has {file}, which resolves to "
                f"{resolved}, outside {path} (Ollama refuses symlinks leading out of the "
                "folder): point it at the real folder",
            )


def _local_path(command: _Command, origin: _Origin) -> str:
    """Ollama's expandPath: absolute stays, ~ and ~user expand, the rest joins base_dir."""
    value = command.args
    if value.startswith("~"):
        value = os.path.expanduser(value)
        if value.startswith("~"):
            user = command.args[1:].split("/")[0]
            raise origin.error(command.value_at, f"cannot expand '~{user}': no such user")
    return os.path.abspath(os.path.join(origin.base_dir, value))


def _exists(path: str, command: _Command, origin: _Origin) -> bool:
    """Whether the path exists; any failure other than "no such file" is an error, as in Ollama."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as err:
        raise origin.error(command.value_at, f"cannot read '{path}': {err.strerror}") from None
    return True


def looks_like_path(value: str) -> bool:
    """Whether FROM/ADAPTER text is meant as a file (Ollama's CLI reads these as paths)."""
    return value.startswith(("./", "../", "/", "~", ".\\", "..\\", "\\")) or os.path.isabs(value)


_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
# golang.org/x/mod/semver: "v1" and "v1.2" are valid; pre-release and build need all three numbers.
_SEMVER = re.compile(
    rf"v?{_NUMBER}(?:\.{_NUMBER}(?:\.{_NUMBER}"
    rf"(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?(?:\+{_BUILD_ID}(?:\.{_BUILD_ID})*)?)?)?"
)


def _requires(command: _Command, origin: _Origin) -> str:
    if not _SEMVER.fullmatch(command.args):
        raise origin.error(
            command.value_at,
            f"invalid REQUIRES version '{command.args}': use a semantic version such as 0.14.0",
        )
    return command.args.removeprefix("v")


def _message(command: _Command, origin: _Origin) -> tuple[str, str]:
    role, _, content = command.args.partition(": ")  # Ollama's strings.Cut
    if role not in ROLES:  # only reachable through `PARAMETER message ...`
        raise origin.error(
            command.value_at, f"invalid message role '{role}': use system, user or assistant"
        )
    return role, content


def _add_parameter(parameters: dict[str, Any], command: _Command, origin: _Origin) -> None:
    name, text = command.name, command.args
    kind = PARAMETER_TYPES.get(name)
    if kind is None:
        raise origin.error(command.name_at, _unknown_parameter(name))
    if kind == _LIST:
        parameters[name] = [*parameters.get(name, []), text]
        return
    try:
        parameters[name] = _PARSERS[kind](text)
    except ValueError as err:
        message = f"invalid value '{text}' for parameter '{name}': expected {err}"
        raise origin.error(command.value_at, message) from None


def _unknown_parameter(name: str) -> str:
    close = get_close_matches(name.lower(), PARAMETER_TYPES, n=1)
    if close:
        return f"unknown parameter '{name}': did you mean '{close[0]}'? (names are case-sensitive)"
    return f"unknown parameter '{name}': use one of {', '.join(sorted(PARAMETER_TYPES))}"


# ---- parameter values, typed as Go's strconv parses them ----------------------------

_INT64 = 2**63
_BOOLS = dict.fromkeys(_words("1 t T TRUE true True"), True)
_BOOLS.update(dict.fromkeys(_words("0 f F FALSE false False"), False))
_DIGITS = r"[0-9](?:_?[0-9])*"  # Go allows one _ between digits
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DECIMAL_FLOAT = re.compile(
    rf"([+-]?)({_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE]([+-]?{_DIGITS}))?"
)
_HEX_FLOAT = re.compile(rf"([+-]?)0[xX](_?{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP]([+-]?{_DIGITS})")
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)
_FLOAT32_OVERFLOW = Fraction(2**128 - 2**103)  # halfway past the largest float32


def _parse_int(text: str) -> int:
    """strconv.ParseInt(text, 10, 64)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(_INT)
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise ValueError(f"an integer between {-_INT64} and {_INT64 - 1}")
    return value


def _parse_bool(text: str) -> bool:
    """strconv.ParseBool."""
    if text not in _BOOLS:
        raise ValueError(_BOOL)
    return _BOOLS[text]


def _parse_float(text: str) -> float:
    """strconv.ParseFloat(text, 32), as the float64 the server decodes from the CLI's JSON."""
    if _SPECIAL_FLOAT.fullmatch(text):
        raise ValueError("a finite number")  # the CLI cannot encode NaN or Inf as JSON
    negative, magnitude = _float_literal(text)
    try:
        return _float32(negative, magnitude)
    except OverflowError:
        raise ValueError("a number within the float32 range (about ±3.4e38)") from None


_PARSERS: dict[str, Callable[[str], Any]] = {
    _INT: _parse_int,
    _FLOAT: _parse_float,
    _BOOL: _parse_bool,
}


def _float_literal(text: str) -> tuple[bool, Fraction]:
    """Sign and exact magnitude of a Go float literal (decimal or hex, with _ separators)."""
    if match := _DECIMAL_FLOAT.fullmatch(text):
        base, digit_bits, limits = 10, 1, (-46, 40)
    elif match := _HEX_FLOAT.fullmatch(text):
        base, digit_bits, limits = 2, 4, (-150, 130)
    else:
        raise ValueError(_FLOAT)
    sign, mantissa, exponent = match.groups()
    whole, _, fraction = mantissa.replace("_", "").partition(".")
    number = int(whole + fraction, 10 if base == 10 else 16)
    scale = int((exponent or "0").replace("_", "")) - digit_bits * len(fraction)
    # Size the value before computing it, so `1e999999999` cannot ask for 10**999999999.
    top = (len(str(number)) if base == 10 else number.bit_length()) + scale  # value < base**top
    if number == 0 or top < limits[0]:
        return sign == "-", Fraction(0)  # below half the smallest float32: rounds to zero
    if top > limits[1]:
        return sign == "-", _FLOAT32_OVERFLOW
    return sign == "-", number * Fraction(base) ** scale


def _float32(negative: bool, magnitude: Fraction) -> float:
    """The value the Ollama CLI sends for a float32: the nearest float32, written as the
    shortest decimal that reads back as it (Go's JSON), read as a float64 (the server)."""
    nearest = _round_float32(magnitude)
    if nearest:
        exact, top = Fraction(nearest), Decimal(nearest).adjusted()
        for digits in range(1, 10):
            quantum = Fraction(10) ** (top - digits + 1)
            low = exact // quantum * quantum
            fits = [c for c in (low, low + quantum) if _rounds_to(c, nearest)]
            if fits:
                # closest wins; a tie goes to the even last digit, as Go's formatter does
                best = min(fits, key=lambda c: (abs(c - exact), c / quantum % 2))
                nearest = float(best)
                break
    return -nearest if negative else nearest


def _rounds_to(candidate: Fraction, value: float) -> bool:
    return candidate < _FLOAT32_OVERFLOW and _round_float32(candidate) == value


def _round_float32(magnitude: Fraction) -> float:
    """The float32 nearest to magnitude (>= 0), ties to even; OverflowError past the range."""
    if magnitude >= _FLOAT32_OVERFLOW:
        raise OverflowError
    approx = min(float(magnitude), _FLOAT32_MAX)
    bits = struct.unpack("<I", struct.pack("<f", approx))[0]
    # float64 then float32 can round twice; the right answer is at most one step away.
    nearby = [b for b in (bits - 1, bits, bits + 1) if 0 <= b < _FLOAT32_INF_BITS]
    values = {b: struct.unpack("<f", struct.pack("<I", b))[0] for b in nearby}
    best = min(nearby, key=lambda b: (abs(Fraction(values[b]) - magnitude), b & 1))
    return float(values[best])


_FLOAT32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
_FLOAT32_INF_BITS = 0x7F800000


# ---- writing -------------------------------------------------------------------------


def to_modelfile(spec: CreateSpec) -> str:
    """Modelfile text that parses back to `spec`.

    Raises ValueError for what a Modelfile cannot say: more than one adapter (Ollama
    keeps only the last ADAPTER), an unknown parameter, a non-printable character
    other than tab and line breaks, or a multi-line value with a line (not the last)
    that ends in \"\"\" (there are no escapes). An empty template or system is left
    out (it means "not set"); quantize is not a Modelfile command and becomes a comment.
    """
    if len(spec.adapters) > 1:
        raise ValueError("a Modelfile holds one ADAPTER; Ollama ignores all but the last")
    lines = [f"# quantize {spec.quantize} (ollama create --quantize)"] if spec.quantize else []
    lines.append(f"FROM {_quote(spec.from_)}")
    lines += [f"ADAPTER {_quote(path)}" for path in spec.adapters]
    lines += [f"TEMPLATE {_quote(spec.template)}"] if spec.template else []
    lines += [f"SYSTEM {_quote(spec.system)}"] if spec.system else []
    for name, value in spec.parameters.items():
        for item in value if name == "stop" else [value]:
            lines.append(f"PARAMETER {name} {_quote(_format_parameter(name, item))}")
    for role, content in spec.messages:
        if role not in ROLES:
            raise ValueError(f"invalid message role '{role}': use system, user or assistant")
        lines.append(f"MESSAGE {role} {_quote(content)}")
    lines += [f"LICENSE {_quote(text)}" for text in spec.license]
    lines += [f"REQUIRES {_quote(spec.requires)}"] if spec.requires else []
    return "\n".join(lines) + "\n"


def _format_parameter(name: str, value: Any) -> str:
    if name not in PARAMETER_TYPES:
        raise ValueError(_unknown_parameter(name))
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _quote(value: str) -> str:
    """The plainest form that reads back as value: bare, "quoted", or \"\"\"triple-quoted\"\"\"."""
    if printable_only(value, keep=_TRIM) != value:
        raise ValueError(f"{value!r}: a Modelfile drops non-printable characters")
    starts_with_quote = value.startswith('"')
    if not any(c in _NEWLINE for c in value) and not starts_with_quote:
        return value if value and value == value.strip(_BLANK) else f'"{value}"'
    # Ollama ends the value at the first line break where the text so far ends in """.
    if any(value[:i].rstrip(_TRIM).endswith('"""') for i, c in enumerate(value) if c in _NEWLINE):
        raise ValueError(f'{value!r}: a line ending in """ cannot be inside a multi-line value')
    return f'"""{value}"""'


# ---- the request -----------------------------------------------------------------------


def create_request(
    spec: CreateSpec,
    name: str,
    *,
    files: dict[str, str] | None = None,
    adapters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON body of POST /api/create, shaped as the Ollama CLI sends it.

    files / adapters: {file name: "sha256:<hex>"} of blobs already uploaded, needed
    when the spec has a local FROM / adapters. Empty template and system are left
    out (Go's omitempty), as are empty license, parameters and messages.
    """
    if spec.from_is_path != bool(files) or bool(spec.adapters) != bool(adapters):
        raise ValueError(
            "pass files for a local FROM (only then), adapters for ADAPTER (only then)"
        )
    body: dict[str, Any] = {"model": name, "stream": True}
    optional = {
        "quantize": spec.quantize,
        "from": None if spec.from_is_path else spec.from_,
        "files": dict(files or {}),
        "adapters": dict(adapters or {}),
        "template": spec.template,
        "license": list(spec.license),
        "system": spec.system,
        "parameters": {key: _json_parameter(key, v) for key, v in spec.parameters.items()},
        "messages": [{"role": role, "content": content} for role, content in spec.messages],
        "requires": spec.requires,
    }
    body.update((key, value) for key, value in optional.items() if value)
    return body


def to_float32(value: float) -> float | None:
    """A float parameter as Ollama keeps it (the CLI's float32, as shortest decimal);
    None when it is not finite or beyond the float32 range."""
    try:
        if not math.isfinite(value):
            return None
        return _float32(value < 0, Fraction(abs(value)))
    except OverflowError:  # beyond float32, or an integer too large for any float
        return None


def _json_parameter(name: str, value: Any) -> Any:
    """Float parameters go as the CLI sends a float32; stop as a list; the rest unchanged."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if PARAMETER_TYPES.get(name) == _FLOAT and is_number:
        if not math.isfinite(value):
            raise ValueError(f"parameter '{name}' must be a finite number, not {value}")
        return _float32(math.copysign(1.0, value) < 0, Fraction(abs(value)))
    if name == "stop":
        return list(value)
    return value
