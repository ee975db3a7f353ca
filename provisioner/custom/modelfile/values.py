"""Parameter values typed as Go's strconv parses them, and numbers as the float32
the Ollama CLI sends (the nearest float32, written as its shortest decimal, read
back as a float64 by the server). NaN and infinite numbers are refused (the
Ollama CLI fails later, encoding JSON)."""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal
from fractions import Fraction

AN_INTEGER, A_NUMBER, TRUE_OR_FALSE = "an integer", "a number", "true or false"
A_FINITE_NUMBER = "a finite number"
IN_FLOAT32_RANGE = "a number within the float32 range (about ±3.4e38)"

_INT64 = 2**63
_BOOLS = dict.fromkeys(["1", "t", "T", "TRUE", "true", "True"], True)
_BOOLS.update(dict.fromkeys(["0", "f", "F", "FALSE", "false", "False"], False))
_DIGITS = r"[0-9](?:_?[0-9])*"  # Go allows one _ between digits
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DECIMAL_FLOAT = re.compile(
    rf"([+-]?)({_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE]([+-]?{_DIGITS}))?"
)
_HEX_FLOAT = re.compile(rf"([+-]?)0[xX](_?{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP]([+-]?{_DIGITS})")
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)
_FLOAT32_OVERFLOW = Fraction(2**128 - 2**103)  # halfway past the largest float32


def parse_int(text: str) -> int:
    """strconv.ParseInt(text, 10, 64)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(AN_INTEGER)
    return int64(int(text))


def int64(value: int) -> int:
    """The value when it fits Go's int64 (api.Options' int fields), else ValueError."""
    if not -_INT64 <= value < _INT64:
        raise ValueError(f"an integer between {-_INT64} and {_INT64 - 1}")
    return value


def parse_bool(text: str) -> bool:
    """strconv.ParseBool."""
    if text not in _BOOLS:
        raise ValueError(TRUE_OR_FALSE)
    return _BOOLS[text]


def parse_float(text: str) -> float:
    """strconv.ParseFloat(text, 32), as the float64 the server decodes from the CLI's JSON."""
    if _SPECIAL_FLOAT.fullmatch(text):
        raise ValueError(A_FINITE_NUMBER)  # the CLI cannot encode NaN or Inf as JSON
    return _checked_float32(*_float_literal(text))


def number32(value: int | float) -> float:
    """A JSON number as the float32 the Ollama CLI would send for it; ValueError when it
    is not finite or beyond the float32 range."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(A_FINITE_NUMBER)
    negative = math.copysign(1.0, value) < 0 if isinstance(value, float) else value < 0
    return _checked_float32(negative, Fraction(abs(value)))


def _checked_float32(negative: bool, magnitude: Fraction) -> float:
    try:
        return _float32(negative, magnitude)
    except OverflowError:
        raise ValueError(IN_FLOAT32_RANGE) from None


def _float_literal(text: str) -> tuple[bool, Fraction]:
    """Sign and exact magnitude of a Go float literal (decimal or hex, with _ separators)."""
    if match := _DECIMAL_FLOAT.fullmatch(text):
        base, digit_bits, limits = 10, 1, (-46, 40)
    elif match := _HEX_FLOAT.fullmatch(text):
        base, digit_bits, limits = 2, 4, (-150, 130)
    else:
        raise ValueError(A_NUMBER)
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
