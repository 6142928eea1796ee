"""The checks every public function makes of its settings, written once.

A bool is not a number here (``True`` is not a batch size), NumPy's integer and float scalars
are (``sample(np.int64(5))`` works). Each ``check_*`` raises one line naming the argument and
what was expected, and returns the value as a plain Python ``int`` or ``float``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def is_int(v: Any) -> bool:
    """An integer (Python's or NumPy's), not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """A real number (int, float or a NumPy scalar of either), not a bool; NaN and inf included."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _int_words(low: int, high: int | None) -> str:
    if high is not None:
        return f"an integer in [{low}, {high:,}]"
    return {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer >= {low}")


def check_int(name: str, v: Any, low: int = 1, high: int | None = None, what: str | None = None) -> int:
    """``int(v)`` if v is an integer in [low, high] (high None: no upper bound), else a ValueError
    ``"<name>: expected <what>, got <v>"``; ``what`` defaults to the bounds in words."""
    if not is_int(v) or v < low or (high is not None and v > high):
        raise ValueError(f"{name}: expected {what or _int_words(low, high)}, got {v!r}")
    return int(v)


def check_positive(name: str, v: Any, what: str = "a positive finite number") -> float:
    """``float(v)`` if v is a finite number > 0, else a ValueError naming ``name``."""
    if not is_number(v) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: expected {what}, got {v!r}")
    return float(v)


def check_fraction(name: str, v: Any, interval: str) -> float:
    """``float(v)`` if v lies in ``interval``, one of "[0, 1)", "(0, 1]", "(0, 1)", "[0, 1]"."""
    lo_open, hi_open = interval[0] == "(", interval[-1] == ")"
    ok = is_number(v) and (0.0 < v if lo_open else 0.0 <= v) and (v < 1.0 if hi_open else v <= 1.0)
    if not ok:
        raise ValueError(f"{name}: expected a number in {interval}, got {v!r}")
    return float(v)
