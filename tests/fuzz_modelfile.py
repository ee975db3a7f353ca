"""The long fuzz run of the Modelfile parser, through `validate` (outside the default suite).

Three sources of Modelfiles, seeded: random ones (commands in any case, quoting,
interesting arguments, stray characters, raw bytes); the corpus of
tests/integration/test_modelfile_corpus.py (and examples/modelfiles) mutated
line by line (lines dropped, repeated, swapped; commands, parameter names and
arguments replaced); and the corpus edited character by character (quotes, line
breaks, BOMs, NULs, spans deleted or repeated), then written in one of the
corpus's encodings and sometimes cut or bit-flipped. Every case is a manifest
whose custom model reads the file (`modelfile_path:`; every third case also
inline, `modelfile:`), run through `ollama-provision validate` in process, and
must:

- raise nothing (a traceback), and not hang (20 s per case);
- exit 0 ("valid") or 2 with its problem lines counted, every stderr line being
  one `file:line:col: message` (problems and warnings), never the internal-bug
  wording ("please report", "unexpected").

    python tests/fuzz_modelfile.py                 # 4,000 cases (make reliability runs 10,000)
    python tests/fuzz_modelfile.py --cases 200 --seed 7

Run it from the repository root. It prints how many cases ran, how they ended,
and each failure's case number and input (rerun with the same seed to see it again);
it exits 1 when any case failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from provisioner.cli import cli  # noqa: E402
from tests.integration.test_modelfile_corpus import (  # noqa: E402
    CORPUS,
    ENCODINGS,
    ERRORS,
    INVALID_BYTES,
    encode,
)
from tests.testbed.tiny_models import write_completion_model, write_lora_adapter  # noqa: E402

CASE_SECONDS = 20
COMMANDS = (
    "FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "LICENSE", "MESSAGE", "REQUIRES",
    "FOO", "#", "",
)  # fmt: skip
PARAMETERS = (
    "num_ctx", "temperature", "top_p", "top_k", "min_p", "seed", "stop", "use_mmap",
    "repeat_last_n", "num_predict", "mirostat", "penalize_newline", "Temperature", "nope", "",
)  # fmt: skip
ARGUMENTS = (
    "llama3.2", "llama3.2:latest", "team/tiny:v1", "127.0.0.1:5000/library/tiny:latest",
    "a:b:c", "x/y/z/w", "LLAMA3.2", "-bad", "foo:", "./tiny.gguf", "./lora.gguf", "./weights",
    "./fifo", "./zero", "./empty", "./nope.gguf", "/dev/zero", "/dev/null", ".", "..", "~",
    "~nobody/x", "{dir}/tiny.gguf", "0", "-1", "1e308", "1e39", "nan", "inf", "0x1p-4",
    "9223372036854775808", "-9223372036854775809", "true", "T", "yes", "1_000", "+3.",
    "system", "user", "assistant", "robot", '""', '""""""', '"""', '"', '"a b"', "<|user|>",
    "0.14.0", "v1.2.3-rc.1", "x" * 300, "\t", " ", "é", "\U0001f600", "\u200b", "\x00",
)  # fmt: skip
EDITS = (
    '"""', '"', "'", "\n", "\r", "\r\n", "\n\n", " ", "\t", "#", "\x00", "\ufeff",
    "\u2028", "\x85", "\u200b", "\ufffd", "\\", "{{", "}}", "FROM ", "PARAMETER ", "MESSAGE ",
)  # fmt: skip
NOISE = "abcXYZ019 \t\n\r\"'#:/.-_{}<>|\\\x00\x7f\x85\xa0\u200b\u2028\ufeff\ufffdé\U0001f600"
KINDS = ("random", "mutated", "edited")
ON_DISK = "version: 1\nmodels:\n  - name: fz\n    modelfile_path: fuzz.Modelfile\n"


def corpus_texts() -> list[str]:
    texts = [c.text for c in (*CORPUS, *ERRORS)]
    texts += [p.read_text() for p in sorted((ROOT / "examples/modelfiles").glob("*"))]
    return texts


def make_folder(root: Path) -> None:
    """What the Modelfiles' paths may name: weights, an adapter, a FIFO, a device."""
    write_completion_model(root / "tiny.gguf", seed=0)
    write_lora_adapter(root / "lora.gguf", seed=0)
    (root / "weights").mkdir()
    write_completion_model(root / "weights" / "model.gguf", seed=1)
    (root / "empty").mkdir()
    os.mkfifo(root / "fifo")
    (root / "zero").symlink_to("/dev/zero")


def _word(rng: random.Random, words: tuple[str, ...]) -> str:
    word = rng.choice(words)
    return rng.choice((word, word.lower(), word.title())) if rng.random() < 0.3 else word


def _noise(rng: random.Random, most: int = 8) -> str:
    return "".join(rng.choice(NOISE) for _ in range(rng.randint(0, most)))


def _line(rng: random.Random) -> str:
    command = _word(rng, COMMANDS)
    if command.upper() == "PARAMETER":
        return f"{command} {rng.choice(PARAMETERS)} {rng.choice(ARGUMENTS)}"
    if command.upper() == "MESSAGE":
        return f"{command} {rng.choice(ARGUMENTS)} {rng.choice(ARGUMENTS)}"
    arguments = [rng.choice(ARGUMENTS) for _ in range(rng.randint(0, 2))]
    return rng.choice((" ", "\t", "  ", "")).join([command, *arguments]) + _noise(rng, 2)


def random_modelfile(rng: random.Random) -> str | bytes:
    if rng.random() < 0.05:
        return rng.randbytes(rng.randint(0, 200))
    if rng.random() < 0.05:  # the corpus's invalid UTF-8 and UTF-16, cut somewhere
        data = rng.choice(INVALID_BYTES)
        return data[: rng.randint(0, len(data))]
    lines = [_line(rng) for _ in range(rng.randint(0, 8))]
    if lines and rng.random() < 0.7:
        lines.insert(0, f"FROM {rng.choice(ARGUMENTS)}")
    return rng.choice(("\n", "\r\n", "\n\n")).join(lines) + rng.choice(("", "\n"))


def mutate(rng: random.Random, text: str) -> str:
    """One to three line-level edits of a corpus Modelfile."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(lines))
        op = rng.choice(("drop", "repeat", "swap", "command", "argument", "parameter", "add"))
        words = lines[at].split(" ")
        if op == "drop" and len(lines) > 1:
            lines.pop(at)
        elif op == "repeat":
            lines.insert(at, lines[at])
        elif op == "swap":
            other = rng.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        elif op == "command":
            lines[at] = " ".join([_word(rng, COMMANDS), *words[1:]])
        elif op == "argument":
            words[rng.randrange(len(words))] = rng.choice(ARGUMENTS)
            lines[at] = " ".join(words)
        elif op == "parameter":
            lines[at] = f"PARAMETER {rng.choice(PARAMETERS)} {rng.choice(ARGUMENTS)}"
        else:
            lines.insert(at, _line(rng))
    return "\n".join(lines)


def edit(rng: random.Random, text: str) -> str:
    """One to four character-level edits: inserted punctuation, spans deleted or repeated."""
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(text))
        op = rng.choice(("insert", "insert", "delete", "repeat"))
        if op == "insert":
            text = (
                text[:at] + (rng.choice(EDITS) if rng.random() < 0.8 else _noise(rng)) + text[at:]
            )
        else:
            end = min(len(text), at + rng.randint(1, 30))
            text = text[:at] + (text[at:end] * 2 if op == "repeat" else "") + text[end:]
    return text


def to_bytes(rng: random.Random, case: str | bytes) -> bytes:
    """Write a case in one of the corpus's encodings; sometimes cut or flip a byte after."""
    if isinstance(case, bytes):
        return case
    data = encode(case, rng.choice(ENCODINGS)) if rng.random() < 0.4 else case.encode()
    if data and rng.random() < 0.1:
        data = data[: rng.randrange(len(data))]
    if data and rng.random() < 0.1:
        at = rng.randrange(len(data))
        data = data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]
    return data


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks where YAML allows it (else quoted)."""


_LiteralDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def inline_manifest(text: str) -> str | None:
    body = {"version": 1, "models": [{"name": "fz", "modelfile": text}]}
    try:
        return yaml.dump(body, Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, UnicodeError):
        return None


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"no answer within {CASE_SECONDS} s")


POSITION = re.compile(r"^\S.*?:\d+:\d+: ")
BUG_WORDING = ("please report", "unexpected ", "Traceback")


@dataclass
class Fuzz:
    folder: Path
    seed: int
    texts: list[str]
    guard: bool = True
    ended: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    tracebacks: int = 0

    def case(self, number: int) -> None:
        rng = random.Random(f"{self.seed}:{number}")
        kind = KINDS[number % 3]
        made: str | bytes
        if kind == "random":
            made = random_modelfile(rng)
        else:
            base = rng.choice(self.texts).replace("{dir}", str(self.folder))
            made = mutate(rng, base) if kind == "mutated" else edit(rng, base)
        data = to_bytes(rng, made)
        (self.folder / "fuzz.Modelfile").write_bytes(data)
        manifest = self.folder / "on-disk.yaml"
        manifest.write_text(
            "version: 1\nmodels:\n  - name: fz\n    modelfile_path: fuzz.Modelfile\n"
        )
        self.check(number, kind, "modelfile_path", manifest, data)
        if number % 3 == 0 and isinstance(made, str):
            inline = inline_manifest(made.replace("\x00", ""))
            if inline is not None:
                manifest = self.folder / "inline.yaml"
                manifest.write_text(inline, encoding="utf-8")
                self.check(number, kind, "modelfile", manifest, made.encode(errors="replace"))

    def check(self, number: int, kind: str, key: str, manifest: Path, data: bytes) -> None:
        if self.guard:
            signal.alarm(CASE_SECONDS)
        try:
            result = CliRunner().invoke(cli, ["validate", str(manifest)], catch_exceptions=True)
        finally:
            if self.guard:
                signal.alarm(0)
        problems = self.problems(result)
        self.ended[f"exit {result.exit_code}"] += 1
        if problems:
            self.failures.append(
                f"case {number} ({kind}, {key}): {problems}\n    input: {data[:400]!r}"
            )

    def problems(self, result: Any) -> str:
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            self.tracebacks += 1
            trace = "".join(traceback.format_exception(result.exception))
            return f"raised {result.exception!r}\n{trace[-1500:]}"
        lines = [x for x in result.output.splitlines() if x.strip()]
        if any(w in result.output for w in BUG_WORDING):
            return f"internal-bug wording: {result.output[-600:]!r}"
        if result.exit_code not in (0, 2):
            return f"exit {result.exit_code}: {result.output[-600:]!r}"
        summary = lines.pop() if lines else ""
        stray = [x for x in lines if not POSITION.match(x)]
        if stray:
            return f"a line without file:line:col: {stray[:3]!r}"
        errors = [x for x in lines if not POSITION.sub("", x).startswith("warning: ")]
        if result.exit_code == 0 and (errors or not summary.endswith(": valid")):
            return f"exit 0 but {result.output[-600:]!r}"
        # every problem of the Modelfile is said (issue 18), each on its line, and the
        # summary counts them
        counted = f"invalid ({len(errors)} problem{'s' * (len(errors) != 1)})"
        if result.exit_code == 2 and (not errors or counted not in summary):
            return f"exit 2 without its problem lines counted: {result.output[-600:]!r}"
        return ""


def run(cases: int, seed: int, *, guard: bool = True) -> Fuzz:
    """Run CASES fuzzed Modelfiles from SEED; the returned Fuzz holds the counts.

    guard: bound each case with SIGALRM; pass False where something else owns that
    signal (pytest-timeout does, in the default suite)."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-modelfile-"))
    previous = signal.signal(signal.SIGALRM, _alarm) if guard else None
    try:
        make_folder(folder)
        fuzz = Fuzz(folder, seed, corpus_texts(), guard=guard)
        for number in range(cases):
            fuzz.case(number)
        return fuzz
    finally:
        if guard:
            signal.signal(signal.SIGALRM, previous)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz the Modelfile parser through `validate`.")
    parser.add_argument("--cases", type=int, default=4_000, help="Modelfiles (default 4000)")
    parser.add_argument("--seed", type=int, default=12, help="the seed (default 12)")
    args = parser.parse_args()
    start = time.perf_counter()
    fuzz = run(args.cases, args.seed)
    elapsed = time.perf_counter() - start
    for failure in fuzz.failures[:20]:
        print(failure, flush=True)
    runs = sum(fuzz.ended.values())
    print(f"kinds: {', '.join(f'{k} {len(range(i, args.cases, 3))}' for i, k in enumerate(KINDS))}")
    print(f"validate runs: {runs} ({dict(sorted(fuzz.ended.items()))})")
    print(
        f"total: {args.cases} Modelfiles ({runs} validate runs) in {elapsed:.0f} s, seed "
        f"{args.seed}, {fuzz.tracebacks} tracebacks, {len(fuzz.failures)} failures"
    )
    return 1 if fuzz.failures else 0


if __name__ == "__main__":
    sys.exit(main())
