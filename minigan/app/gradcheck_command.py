"""``minigan gradcheck`` (also ``python -m minigan.gradcheck``): every analytic gradient against
centred differences in float64 (``minigan.gradcheck.run_all``), as a table.

The sizes are bounded (``LIMITS``): the check's time grows with batch × width² × depth and the
entries checked, while what it checks, the formulas of the gradients, is the same at every size;
the defaults take about 10 s. The step h is at least ``MIN_H``: float64 carries about 16 digits
(ε ≈ 2.2e-16), so at parameters of size about 1 a centred difference (f(θ+h) − f(θ−h)) / 2h
keeps about log10(h / ε) of them, 6 at h = 1e-10, and none at h = 1e-16, where θ ± h rounds to θ
and every check would "pass" on differences of zero.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from ..backend import BackendUnavailable, get_backend
from ..gradcheck import MAX_ENTRIES, THRESHOLD, H, format_table, run_all
from . import exitcodes
from .options import integer, number

# option -> (lowest, highest) value it takes, and the range in words
LIMITS = {
    "seed": (0, 2**63 - 1),
    "batch": (3, 1024),
    "width": (1, 256),
    "depth": (1, 8),
    "entries": (0, 10_000),
}
WORDS = {
    "seed": "an integer in [0, 2**63)",
    "batch": "at least 3 (batch norm) and at most 1,024",
    "width": "a positive integer up to 256",
    "depth": "a positive integer up to 8",
    "entries": "0 (every entry) or a count up to 10,000",
}
MIN_H = 1e-10
EVERY_ENTRY_WIDTH = 32  # --entries 0 (every entry of every array) up to this width


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        allow_abbrev=False,  # --lr is not --lr-decay: an option is named in full
        prog="minigan gradcheck",
        description="Check every gradient against centred differences in float64. Sizes are bounded "
        f"({', '.join(f'--{k} {lo}..{hi:,}' for k, (lo, hi) in LIMITS.items() if k != 'seed')}): "
        "the time grows with them, the formulas checked do not change.",
    )
    p.add_argument(
        "--backend", help="numpy | strict | strict:device1 | cupy (default: $MINIGAN_BACKEND or numpy)"
    )
    for flag, default, text in [
        ("seed", 0, "seed of every draw"),
        ("batch", 8, "batch size N"),
        ("width", 16, "hidden width and layer features"),
        ("depth", 2, "hidden layers of the MLPs"),
        ("entries", MAX_ENTRIES, f"check at most this many random entries per array; 0 = every entry "
         f"(width <= {EVERY_ENTRY_WIDTH})"),
        ("h", H, f"finite-difference step, {MIN_H:g} <= h < 1"),
        ("threshold", THRESHOLD, "max relative error"),
    ]:  # fmt: skip
        kind = integer if isinstance(default, int) else number
        p.add_argument(f"--{flag}", type=kind, default=default, help=f"{text} (default {default:g})")
    return p


def _check(args: argparse.Namespace) -> str | None:
    """The first option out of its range, as the line that says so; None when all are in range."""
    for flag, (lo, hi) in LIMITS.items():
        v = getattr(args, flag)
        if not lo <= v <= hi:
            why = "" if flag == "seed" else " (the check's time grows with it; the formulas checked do not)"
            return f"--{flag}: expected {WORDS[flag]}{why}, got {v}"
    if args.entries == 0 and args.width > EVERY_ENTRY_WIDTH:
        return (
            f"--entries: 0 (every entry) takes --width at most {EVERY_ENTRY_WIDTH}, got --width "
            f"{args.width}; give a number of entries per array"
        )
    if not (math.isfinite(args.h) and MIN_H <= args.h < 1):
        return (
            f"--h: expected a step from {MIN_H:g} to 1, got {args.h!r}: float64 resolves about 2.2e-16 at "
            "parameters of size 1, so a smaller step loses the difference to rounding (the checks would "
            "pass on zeros)"
        )
    if not (math.isfinite(args.threshold) and 0 < args.threshold < 1):
        return f"--threshold: expected a number in (0, 1), got {args.threshold!r}"
    return None


def main(argv: list[str] | None = None) -> int:
    """``minigan gradcheck [options]``: exit 0 if every check passes, 1 if one fails, 2 on bad options."""
    p = _parser()
    args = p.parse_args(argv)
    why = _check(args)
    if why:
        print(f"minigan gradcheck: error: {why}", file=sys.stderr)
        return exitcodes.USAGE
    try:
        b, t0 = get_backend(args.backend, dtype="float64"), time.perf_counter()
        results = run_all(
            b, args.seed, args.batch, args.width, args.depth, args.h, args.threshold, args.entries
        )
    except (ValueError, TypeError, BackendUnavailable) as e:
        print(f"minigan gradcheck: error: {e}", file=sys.stderr)
        return exitcodes.USAGE
    print(
        f"gradient check: backend {b.spec} (float64), seed {args.seed}, batch {args.batch}, "
        f"width {args.width}, depth {args.depth}, entries/array {args.entries or 'all'}, h {args.h:g}, "
        f"threshold {args.threshold:g}"
    )
    print(format_table(results))
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)}/{len(results)} passed in {time.perf_counter() - t0:.1f} s")
    return exitcodes.FAILED if failed else exitcodes.OK


if __name__ == "__main__":
    sys.exit(main())
