"""The character grammar of Ollama's `parser/parser.go` (ParseFile): text -> commands.

What a user may find surprising, all as Ollama:
- a value runs to the end of its line and is trimmed; `#` is a comment only
  where a command could start; there are no escapes;
- a value that starts with `"` or `\"\"\"` goes on, across lines, until a line
  where the whole value ends with the same quote; a CRLF file keeps `\\r\\n`
  inside a multi-line value; characters that are not printable are dropped,
  except tab and line breaks inside quotes: "printable" is Go's strconv.IsPrint
  (printable.py), never the running Python's Unicode tables;
- invalid UTF-8 becomes U+FFFD per maximal invalid subpart (Go's x/text decoder
  and Python's "replace" agree; the corpus test checks it).
DRAFT, RENDERER and PARSER (v0.32) are not supported yet: each is one error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from provisioner.custom.printable import is_printable, printable_only
from provisioner.errors import ModelfileError

COMMANDS = ("FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "LICENSE", "MESSAGE", "REQUIRES")
ROLES = ("system", "user", "assistant")
_UNSUPPORTED = ("DRAFT", "RENDERER", "PARSER")

BLANK, NEWLINE = " \t", "\r\n"
TRIM = BLANK + NEWLINE  # the only whitespace a value buffer can hold (the rest is dropped)


@dataclass(frozen=True)
class Command:
    """One command as Ollama records it: name "model" for FROM, a parameter's own
    name for PARAMETER, and "role: content" as the args of MESSAGE."""

    name: str
    args: str
    at: int  # offsets into the text, for error positions
    name_at: int
    value_at: int


@dataclass(frozen=True)
class Origin:
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
        return ModelfileError(escaped(message), file=self.source, line=line, column=column)

    def warning(self, offset: int, message: str) -> str:
        line, column = self.where(offset)
        return f"{self.source}:{line}:{column}: {message}"


def escaped(message: str) -> str:
    """The message with what it quotes from the file made visible: a control character
    or line separator in a quoted token (ESC, VT, NEL, U+2028...) is written as its
    escape, so the error stays one line and sends nothing raw to the terminal."""
    if printable_only(message) == message:
        return message
    return "".join(c if is_printable(c) else ascii(c)[1:-1] for c in message)


def decode_modelfile(data: bytes) -> str:
    """Modelfile bytes to text as Ollama reads them: UTF-8, or UTF-16 when a BOM says so."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[2:].decode(codec, errors="replace")
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")


def tokenize(origin: Origin) -> list[Command]:
    text, commands, i = origin.text, list[Command](), 0
    while i < len(text):
        if text[i] in TRIM:
            i += 1
        elif text[i] == "#":  # only where a command could start; runs to the line end
            i = _line_end(text, i)
        else:
            command, i = _read_command(origin, i, commands[-1] if commands else None)
            commands.append(command)
    return commands


def _read_command(origin: Origin, start: int, previous: Command | None) -> tuple[Command, int]:
    text = origin.text
    # Ollama takes any first character as the start of a name, but drops it when it
    # is not printable (so a stray BOM or zero-width space before FROM is harmless).
    word_end = _skip(text, start + 1, _is_ascii_letter)
    word = text[start:word_end] if is_printable(text[start]) else text[start + 1 : word_end]
    keyword = word.upper() if word.isascii() else ""  # Go lower-cases; no non-ASCII folds in
    if keyword in COMMANDS and word_end < len(text) and text[word_end] in BLANK:
        if keyword in ("PARAMETER", "MESSAGE"):
            return _read_named(origin, start, word_end + 1, keyword)
        value, value_at, end = _read_value(origin, word_end + 1)
        name = "model" if keyword == "FROM" else keyword.lower()
        return Command(name, value, start, value_at, value_at), end
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


def _read_named(origin: Origin, start: int, at: int, keyword: str) -> tuple[Command, int]:
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
        return Command(word, value, start, at, value_at), after
    return Command("message", f"{word}: {value}", start, at, value_at), after


def _usage(keyword: str) -> str:
    what = {"FROM": "<model or path>", "ADAPTER": "<path>", "REQUIRES": "<version>"}
    what |= {"PARAMETER": "<name> <value>", "MESSAGE": "<role> <text>"}
    return f"{keyword} {what.get(keyword, '<text>')}"


def _read_value(origin: Origin, at: int) -> tuple[str, int, int]:
    """The value that starts at `at`: (value, offset of its first character, offset after it).

    Ollama re-checks at every line break whether the trimmed text so far is a
    complete value. After the first line the value has an open quote, so only a
    line that ends in that quote can complete it: only those are checked here.
    """
    text = origin.text
    value_at = _skip(text, at, lambda c: c in BLANK)
    end = _line_end(text, at)
    parts = [_printable(text[at:end])]
    value = _unquote(parts[0].strip(TRIM))
    quote = '"""' if parts[0].lstrip(BLANK).startswith('"""') else '"'
    while value is None:
        if end == len(text):
            message = f"unterminated {quote} value: end its last line with {quote}"
            raise origin.error(value_at, message)
        start, end = end + 1, _line_end(text, end + 1)
        parts += [text[start - 1], _printable(text[start:end])]
        if parts[-1].rstrip(TRIM).endswith(quote):
            value = _unquote("".join(parts).strip(TRIM))
    return value, value_at, end + 1


def _unquote(value: str) -> str | None:
    """The content of a complete value, or None while a quote is still open."""
    if value.startswith('"""'):
        return value[3:-3] if len(value) >= 6 and value.endswith('"""') else None
    if value.startswith('"'):
        return value[1:-1] if len(value) >= 2 and value.endswith('"') else None
    return value


def _printable(segment: str) -> str:
    return printable_only(segment, keep=BLANK)


def _is_ascii_letter(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _is_name_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def _skip(text: str, i: int, accept: Callable[[str], bool]) -> int:
    while i < len(text) and accept(text[i]):
        i += 1
    return i


def _line_end(text: str, i: int) -> int:
    return _skip(text, i, lambda c: c not in NEWLINE)


def _token_end(text: str, i: int) -> int:
    return _skip(text, i, lambda c: c not in TRIM)


def _at_line_end(text: str, i: int) -> bool:
    return i == len(text) or text[i] in NEWLINE
