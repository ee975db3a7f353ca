"""YAML for manifests: safe, positioned, and strict about the usual hazards.

The tree is built straight from the parser's events, so no Python object is
ever constructed from a tag, and every value keeps the line and column it was
written at. Refused, each with a position: syntax errors (tabs included),
more than one document, duplicate keys, tags other than the core ones,
recursive aliases, alias expansion bombs, nesting deeper than MAX_DEPTH.

Plain scalars resolve by the YAML 1.2 core schema, as the YAML language
server reads them: `yes`, `no`, `on`, `off`, `1:30` and dates stay text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from provisioner.errors import Position, Problem, YamlFailure
from provisioner.manifest.yaml_errors import mark_position, syntax_problem

MAX_DEPTH = 64
MIN_ALIAS_BUDGET = 10_000  # nodes an alias may add, at least; more for larger files

ScalarValue = str | int | float | bool | None
PathPart = str | int

_CORE = "tag:yaml.org,2002:"
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


@dataclass(eq=False)
class Node:
    line: int  # 1-based
    column: int  # 1-based
    size: int = field(default=1, init=False)  # nodes in the expanded subtree
    height: int = field(default=1, init=False)


@dataclass(eq=False)
class Scalar(Node):
    value: ScalarValue = None
    text: str = ""  # the value as written, after quotes and escapes
    plain: bool = True  # unquoted, no block indicator, no tag: its type came from its text
    block: bool = False  # `|` or `>`
    start: int = 0  # character offsets of the node in the document
    end: int = 0


@dataclass(eq=False)
class Mapping(Node):
    entries: dict[str, tuple[Scalar, Node]] = field(default_factory=dict)


@dataclass(eq=False)
class Sequence(Node):
    items: list[Node] = field(default_factory=list)


def resolve_plain(text: str) -> ScalarValue:
    """The value of an untagged plain scalar, by the YAML 1.2 core schema."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    try:
        if _INT.fullmatch(text):
            return int(text)
        if _OCT.fullmatch(text):
            return int(text[2:], 8)
        if _HEX.fullmatch(text):
            return int(text[2:], 16)
    except ValueError:  # more digits than Python converts; leave it as text
        return text
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


def pointer(path: tuple[PathPart, ...]) -> str:
    """JSON pointer of a path, e.g. /models/2/name."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def position_in(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character offset, counting YAML's line breaks."""
    line, last = 1, 0
    for m in _BREAKS.finditer(text, 0, index):
        line, last = line + 1, m.end()
    return line, index - last + 1


@dataclass
class _Frame:
    node: Mapping | Sequence
    anchor: str | None
    path: tuple[PathPart, ...]
    key: Scalar | None = None
    merges: list[tuple[Scalar, Node]] = field(default_factory=list)


class _Composer:
    """Turns parser events into Nodes with an explicit stack (no recursion)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.flagged: set[int] = set()  # ids of nodes with a problem of their own
        self.anchors: dict[str, Node] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.root: Node | None = None
        self.nodes = 0
        self.alias_nodes = 0
        self.documents = 0

    def problem(
        self, line: int, column: int, message: str, path: tuple[PathPart, ...] | None = None
    ) -> None:
        where = pointer(self.here() if path is None else path)
        self.problems.append(Problem(Position(self.file, line, column), where, message))

    def here(self) -> tuple[PathPart, ...]:
        """The path of the node about to be added."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.node, Sequence):
            return (*frame.path, len(frame.node.items))
        return frame.path if frame.key is None else (*frame.path, frame.key.text)

    def run(self, events: Iterator[yaml.Event]) -> Node | None:
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    mark = event.start_mark
                    raise YamlFailure(
                        *mark_position(mark),
                        "a second YAML document starts here; a manifest is one document "
                        "(remove this '---' or split the file)",
                    )
            elif isinstance(event, yaml.ScalarEvent):
                self.add(self.scalar(event), event)
            elif isinstance(event, yaml.AliasEvent):
                self.add(self.alias(event), event)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                self.open(event)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = self.stack.pop()
                self.close(frame)
                self.add(frame.node, event)
        return self.root

    def check_tag(self, event: yaml.NodeEvent, allowed: tuple[str, ...]) -> str | None:
        """The core tag name (str, int, ...) of an explicit tag, None for none."""
        tag: str | None = getattr(event, "tag", None)
        if tag is None or tag == "!":
            return None
        name = tag[len(_CORE) :] if tag.startswith(_CORE) else None
        if name in allowed:
            return name
        shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
        mark = event.start_mark
        self.problem(*mark_position(mark), f"unsupported YAML tag {shown!r}; remove the tag")
        return None

    def scalar(self, event: yaml.ScalarEvent) -> Scalar:
        start, end = event.start_mark, event.end_mark
        known = len(self.problems)
        tag = self.check_tag(event, ("str", "int", "float", "bool", "null"))
        plain = event.style in (None, "") and event.tag is None
        text = event.value
        value: ScalarValue
        if plain:
            value = resolve_plain(text)
        elif tag in (None, "str"):
            value = text
        else:
            value = resolve_plain(text)
            wanted: Any = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[tag]
            if (isinstance(value, bool) and tag != "bool") or not isinstance(value, wanted):
                self.problem(*mark_position(start), f"{text!r} is not a valid !!{tag}")
                value = text
        node = Scalar(
            *mark_position(start),
            value=value,
            text=text,
            plain=plain,
            block=event.style in ("|", ">"),
            start=getattr(start, "index", 0),
            end=getattr(end, "index", 0),
        )
        if len(self.problems) > known:
            self.flagged.add(id(node))
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return node

    def alias(self, event: yaml.AliasEvent) -> Node:
        mark = event.start_mark
        name = event.anchor or ""
        if name in self.open_anchors:
            raise YamlFailure(
                *mark_position(mark), f"alias '*{name}' refers to a node that contains it"
            )
        node = self.anchors.get(name)
        if node is None:
            raise YamlFailure(
                *mark_position(mark), f"unknown alias '*{name}'; define '&{name}' first"
            )
        self.alias_nodes += node.size
        if self.alias_nodes > max(MIN_ALIAS_BUDGET, self.nodes):
            raise YamlFailure(
                *mark_position(mark),
                "aliases expand this document too much (more nodes than the file itself); "
                "use fewer nested aliases",
            )
        return node

    def open(self, event: yaml.CollectionStartEvent) -> None:
        mark = event.start_mark
        if len(self.stack) >= MAX_DEPTH:
            raise YamlFailure(*mark_position(mark), f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(event, yaml.MappingStartEvent):
            tag_ok = self.check_tag(event, ("map",)) is not None or event.tag in (None, "!")
            node: Mapping | Sequence = Mapping(*mark_position(mark))
        else:
            tag_ok = self.check_tag(event, ("seq",)) is not None or event.tag in (None, "!")
            node = Sequence(*mark_position(mark))
        if not tag_ok:
            self.flagged.add(id(node))
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(node, event.anchor, self.here()))

    def close(self, frame: _Frame) -> None:
        node = frame.node
        if isinstance(node, Mapping):
            self.merge(node, frame.merges, frame.path)
            children: list[Node] = [n for pair in node.entries.values() for n in pair]
        else:
            children = node.items
        node.size = 1 + sum(c.size for c in children)
        node.height = 1 + max((c.height for c in children), default=0)
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = node

    def merge(
        self, node: Mapping, merges: list[tuple[Scalar, Node]], path: tuple[PathPart, ...]
    ) -> None:
        """YAML merge keys (`<<: *base`): explicit keys win, then earlier sources."""
        for key, source in merges:
            sources = source.items if isinstance(source, Sequence) else [source]
            for src in sources:
                if not isinstance(src, Mapping):
                    message = "'<<' merges a mapping or a list of mappings only"
                    self.problem(key.line, key.column, message, (*path, "<<"))
                    continue
                for name, pair in src.entries.items():
                    node.entries.setdefault(name, pair)

    def add(self, node: Node, event: yaml.Event) -> None:
        self.nodes += 1
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        depth = len(self.stack)
        if depth + node.height > MAX_DEPTH + 1:
            mark = event.start_mark
            raise YamlFailure(*mark_position(mark), f"nested more than {MAX_DEPTH} levels deep")
        parent = frame.node
        if isinstance(parent, Sequence):
            parent.items.append(node)
        elif frame.key is None:
            if not isinstance(node, Scalar) or isinstance(event, yaml.AliasEvent):
                raise YamlFailure(
                    node.line, node.column, "a key must be plain text, not a list or a mapping"
                )
            frame.key = node
        else:
            key, frame.key = frame.key, None
            self.put(frame, key, node)

    def put(self, frame: _Frame, key: Scalar, value: Node) -> None:
        assert isinstance(frame.node, Mapping)
        if key.text == "<<" and key.plain:
            frame.merges.append((key, value))
            return
        entries = frame.node.entries
        first = entries.get(key.text)
        if first is not None:
            message = f"duplicate key {key.text!r} (first set at line {first[0].line}); keep one"
            self.problem(key.line, key.column, message, (*frame.path, key.text))
            return
        entries[key.text] = (key, value)


class Composed(NamedTuple):
    root: Node | None  # None after a problem that stops reading
    problems: list[Problem]
    flagged: set[int]  # ids of nodes that already have a problem (e.g. a refused tag)


def compose(text: str, file: str) -> Composed:
    """Parse one YAML document into Nodes; a fatal problem comes back with root None."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    composer = _Composer(file)
    try:
        root = composer.run(yaml.parse(text, Loader=loader))
    except YamlFailure as e:
        fatal = Problem(Position(file, e.line, e.column), "", e.message)
        return Composed(None, [*composer.problems, fatal], set())
    except yaml.MarkedYAMLError as e:
        return Composed(None, [syntax_problem(e, text, file)], set())
    except yaml.reader.ReaderError as e:
        line, column = position_in(text, e.position)
        code = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or " ")
        message = f"character U+{code:04X} is not allowed in YAML; remove it"
        return Composed(None, [Problem(Position(file, line, column), "", message)], set())
    except yaml.YAMLError as e:  # anything else the parser may raise, still one line
        message = f"invalid YAML: {e}".splitlines()[0]
        return Composed(None, [Problem(Position(file, 1, 1), "", message)], set())
    return Composed(root, composer.problems, composer.flagged)


def to_plain(node: Node) -> Any:
    """Plain Python data (dict, list, scalars) for JSON Schema; aliases stay shared."""
    memo: dict[int, Any] = {}

    def convert(n: Node) -> Any:
        done = memo.get(id(n))
        if done is not None:
            return done
        result: Any
        if isinstance(n, Scalar):
            return n.value
        if isinstance(n, Mapping):
            result = {k: convert(v) for k, (_, v) in n.entries.items()}
        else:
            assert isinstance(n, Sequence)
            result = [convert(item) for item in n.items]
        memo[id(n)] = result
        return result

    return convert(node)


def find(root: Node, path: tuple[PathPart, ...]) -> tuple[Node, Scalar | None]:
    """The deepest node along path, and the key node it was reached by (if any)."""
    node, key = root, None
    for part in path:
        if isinstance(node, Mapping) and isinstance(part, str) and part in node.entries:
            key, node = node.entries[part]
        elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node.items):
            key, node = None, node.items[part]
        else:
            break
    return node, key
