"""The ``minigan`` command: ``minigan train | sample | eval | sweep | gradcheck | bench`` (also ``python -m minigan``).

Each subcommand lives in its own module, which owns its options (``minigan CMD --help``).
``minigan`` alone prints the usage and exits 2; ``minigan --version`` prints the version.
Exit codes: ``minigan.app.exitcodes`` (the same for every subcommand).
"""

from __future__ import annotations

import importlib
import sys

from . import exitcodes
from .._version import __version__

COMMANDS = {
    "train": ("minigan.app.train", "main", "train a GAN (the paper's Algorithm 1) and write history, checkpoint and figures"),
    "sample": ("minigan.app.sample_eval", "sample_main", "write samples of a saved run's generator to .npy or .csv"),
    "eval": ("minigan.app.sample_eval", "eval_main", "a saved run's metrics on fresh samples (table or --json)"),
    "gradcheck": ("minigan.app.gradcheck_command", "main", "finite-difference check of every analytic gradient"),
    "sweep": ("minigan.app.sweep", "main", "many runs at once (Dask or one after another): one CSV and one figure"),
    "bench": ("minigan.app.bench", "main", "time one training step against the GEMM floor and PyTorch"),
}


def usage() -> str:
    lines = ["usage: minigan COMMAND [options]   (minigan COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<10} {doc}" for name, (_, _, doc) in COMMANDS.items()]
    lines += ["", "  --version  print the version", "", exitcodes.table()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
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
