"""``minigan gradcheck`` (also ``python -m minigan.gradcheck``): every analytic gradient against
centred differences in float64 (``minigan.gradcheck.run_all``), as a table."""

from __future__ import annotations

import argparse
import math
import sys
import time

from ..backend import BackendUnavailable, get_backend
from ..gradcheck import MAX_ENTRIES, THRESHOLD, H, format_table, run_all
from . import exitcodes


def main(argv: list[str] | None = None) -> int:
    """``minigan gradcheck [options]``: exit 0 if every check passes, 1 if one fails, 2 on bad options."""
    p = argparse.ArgumentParser(
        prog="minigan gradcheck", description="check every gradient against centred differences"
    )
    p.add_argument(
        "--backend", help="numpy | strict | strict:device1 | cupy (default: $MINIGAN_BACKEND or numpy)"
    )
    for flag, default, text in [
        ("seed", 0, "seed of every draw"),
        ("batch", 8, "batch size N"),
        ("width", 16, "hidden width and layer features"),
        ("depth", 2, "hidden layers of the MLPs"),
        ("entries", MAX_ENTRIES, "check at most this many random entries per array; 0 = every entry"),
        ("h", H, "finite-difference step"),
        ("threshold", THRESHOLD, "max relative error"),
    ]:
        p.add_argument(f"--{flag}", type=type(default), default=default, help=f"{text} (default {default:g})")
    args = p.parse_args(argv)
    for flag in ("h", "threshold"):
        v = getattr(args, flag)
        if not (math.isfinite(v) and 0 < v < 1):
            p.error(f"--{flag}: expected a number in (0, 1), got {v!r}")
    try:
        b, t0 = get_backend(args.backend, dtype="float64"), time.perf_counter()
        results = run_all(
            b, args.seed, args.batch, args.width, args.depth, args.h, args.threshold, args.entries
        )
    except (ValueError, TypeError, BackendUnavailable) as e:
        print(f"minigan gradcheck: {e}", file=sys.stderr)
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
