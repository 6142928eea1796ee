"""The ``minigan`` command: ``minigan train | sample | eval | sweep | gradcheck | bench`` (also
``python -m minigan``).

Each subcommand lives in its own module, which owns its options (``minigan CMD --help``).
``minigan`` alone prints the usage and exits 2; ``minigan --version`` prints the version.
Exit codes: ``minigan.app.exitcodes`` (the same for every subcommand).

Output piped into a command that stops reading (``minigan eval RUN --json | head -1``) ends the
command quietly, as ``git log | head`` does: no traceback, exit code 141 (128 + SIGPIPE, what the
shell reports for a program the closed pipe stops). Python's recipe: the BrokenPipeError is caught
here and stdout pointed at /dev/null, so the interpreter's last flush writes nowhere.
"""

from __future__ import annotations

import importlib
import os
import sys

from .._version import __version__
from . import exitcodes

COMMANDS = {
    "train": (
        "minigan.app.train",
        "main",
        "train a GAN (the paper's Algorithm 1) and write history, checkpoint and figures",
    ),
    "sample": (
        "minigan.app.sample_eval",
        "sample_main",
        "write samples of a saved run's generator to .npy or .csv",
    ),
    "eval": (
        "minigan.app.sample_eval",
        "eval_main",
        "a saved run's metrics on fresh samples (table or --json)",
    ),
    "gradcheck": (
        "minigan.app.gradcheck_command",
        "main",
        "finite-difference check of every analytic gradient",
    ),
    "sweep": (
        "minigan.app.sweep",
        "main",
        "many runs at once (Dask or one after another): one CSV and one figure",
    ),
    "bench": ("minigan.app.bench", "main", "time one training step against the GEMM floor and PyTorch"),
}


def usage() -> str:
    lines = ["usage: minigan COMMAND [options]   (minigan COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<10} {doc}" for name, (_, _, doc) in COMMANDS.items()]
    lines += ["", "  --version  print the version", "", exitcodes.table()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``minigan ARGV``: the exit code of the command (``exitcodes``)."""
    try:
        code = _dispatch(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # a pipe closed early fails here rather than at the interpreter's exit
    except BrokenPipeError:
        _quiet_stdout()
        return exitcodes.BROKEN_PIPE
    return code


def _quiet_stdout() -> None:
    """stdout to /dev/null: what is still buffered for a closed pipe is dropped without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor (tests)
        pass


def _dispatch(argv: list[str]) -> int:
    if not argv:
        print(usage(), file=sys.stderr)
        return exitcodes.USAGE
    if argv[0] in ("-h", "--help", "help"):
        print(usage())
        return exitcodes.OK
    if argv[0] in ("-V", "--version"):
        print(f"minigan {__version__}")
        return exitcodes.OK
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"minigan: unknown command {cmd!r}\n\n{usage()}", file=sys.stderr)
        return exitcodes.USAGE
    module, func, _ = COMMANDS[cmd]
    try:
        return getattr(importlib.import_module(module), func)(rest)
    except SystemExit as e:  # argparse: --help (0) or a bad option (2, message printed)
        return int(e.code or exitcodes.OK)
    except KeyboardInterrupt:  # a command that does not catch Ctrl-C itself
        print(f"minigan {cmd}: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
