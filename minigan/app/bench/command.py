"""``minigan bench`` (also ``python -m minigan.bench`` and ``python -m minigan.app.bench``):
the options, then ``run``, then the JSON file. Exit codes: ``minigan.app.exitcodes``."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

from ..._checks import check_int
from ...backend import BackendUnavailable, get_backend
from ...engine import keep_freed_memory
from .. import exitcodes
from .configs import CONFIGS, DEFAULT_CONFIGS, MAX_REPEATS, parse_configs
from .measure import run
from .report import check_writable, write_results

PROG = "minigan bench"
DESCRIPTION = "Benchmark: one training step of Algorithm 1 against the GEMM floor and PyTorch eager."
MAX_THREADS = 1024  # --threads at most
TORCH_CPU = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (no usage block), exit 2."""

    def error(self, message: str) -> Any:
        self.exit(exitcodes.USAGE, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")


def _count(high: int) -> Any:
    """An argparse type: an integer in [1, high]."""

    def parse(text: str) -> int:
        try:
            return check_int("value", int(text), 1, high)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [1, {high:,}], got {text!r}") from None

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=DESCRIPTION, allow_abbrev=False)  # options named in full
    p.add_argument("--backend", default="numpy", help="numpy | cupy | strict[:device] (default numpy)")
    p.add_argument(
        "--configs", default=",".join(DEFAULT_CONFIGS),
        help=f"names ({', '.join(CONFIGS)}) separated by '+' or ',', or 'm,noise,data,width,layers' "
        f"(default {','.join(DEFAULT_CONFIGS)})",
    )  # fmt: skip
    p.add_argument("--repeats", type=_count(MAX_REPEATS), default=None,
                   help=f"timed steps per config, at most {MAX_REPEATS:,} (default: per config)")  # fmt: skip
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    p.add_argument("--threads", type=_count(MAX_THREADS), default=None,
                   help=f"BLAS threads for numpy (threadpoolctl) and torch, at most {MAX_THREADS} "
                   "(default: numpy's as it is)")  # fmt: skip
    p.add_argument("--json", default=None, help="write the results here (its folder is made)")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    try:
        configs = parse_configs(a.configs)
        get_backend(a.backend)
    except (ValueError, BackendUnavailable) as e:
        p.error(str(e))
    limits = None
    if a.threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            p.error("--threads needs threadpoolctl (pip install threadpoolctl)")
    if a.json:
        try:
            check_writable(a.json)  # before the run, not after minutes of it
        except OSError as e:
            return _cannot_write(e)
    if not a.no_torch and importlib.util.find_spec("torch") is None:
        print(
            f"{PROG}: PyTorch is not installed: no peer columns ({TORCH_CPU}; or --no-torch)", file=sys.stderr
        )
    # every contender (step, floor, PyTorch) runs in this process, with the same allocator
    allocator_kept = keep_freed_memory()
    if a.threads is not None:
        limits = threadpool_limits(limits=a.threads, user_api="blas")
    try:
        out = run(configs, a.backend, a.repeats, not a.no_torch)
        out["environment"]["malloc_keeps_freed_memory"] = allocator_kept
    finally:
        if limits is not None:
            limits.restore_original_limits()
    if a.json:
        try:
            write_results(a.json, out)
        except OSError as e:
            return _cannot_write(e)
        print(f"wrote {a.json}")
    return exitcodes.OK


def _cannot_write(e: OSError) -> int:
    print(f"{PROG}: error: --json: cannot write {e.filename} ({e.strerror or e})", file=sys.stderr)
    return exitcodes.WRITE_ERROR
