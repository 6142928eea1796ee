"""The option types of the commands, and the error that blames an option.

An option type only converts the text of an option to a number (or a tuple of them); argparse
reports what cannot be converted as ``argument --x: expected an integer, got 'many'``. The range
an option takes is the rule of what owns the value (``TrainConfig``, ``RunSettings``, the
command): its ValueError, ``"batch_size: expected a positive integer, got 0"``, becomes a
``UsageError`` naming the option, ``--batch-size: expected a positive integer, got 0``
(``blame``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from .._checks import check_int


class UsageError(Exception):
    """A bad option: ``option`` is the one to blame ("--batch-size"; "" when no single option is),
    ``problem`` what is wrong with it. ``str()``: ``"--batch-size: expected ..."``."""

    def __init__(self, option: str, problem: str) -> None:
        self.option, self.problem = option, problem
        super().__init__(f"{option}: {problem}" if option else problem)


def blame(error: Exception, options: Mapping[str, str], default: str = "") -> UsageError:
    """The UsageError for ``error`` of an owner whose message starts with a field's name
    (``"batch_size: ..."`` or ``"betas[0]: ..."``): the option ``options[field]`` takes the blame;
    a message naming no field in ``options`` blames ``default``."""
    msg = str(error)
    head, sep, rest = msg.partition(": ")
    field = head.split("[", 1)[0]
    if sep and field in options:
        return UsageError(options[field], rest)
    return UsageError(default, msg)


def memory_bound() -> int:
    """Bytes a command may fill with its arrays: half of this machine's memory (4 GiB where that
    cannot be read). The sizes that would not fit are refused before any work (``-n`` of sample and
    eval, ``--batch-size`` with the widths of train)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def integer(text: str) -> int:
    """'12' -> 12."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def number(text: str) -> float:
    """'1e-3' -> 0.001 (nan and inf too: the owner's rule refuses them where they make no sense)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def integers(text: str) -> tuple[int, ...]:
    """'128,128,128' -> (128, 128, 128)."""
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, e.g. 128,128, got {text!r}"
        ) from None


def numbers(text: str) -> tuple[float, ...]:
    """'0.5,0.999' -> (0.5, 0.999)."""
    try:
        return tuple(float(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, e.g. 0.5,0.999, got {text!r}"
        ) from None


def positive_integer(text: str) -> int:
    """A count that the command itself owns (``sample -n``, ``sweep --workers``): an integer >= 1."""
    try:
        return check_int("", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
