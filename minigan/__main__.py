"""The ``minigan`` command: ``minigan train | gradcheck | bench`` (also ``python -m minigan``).

Each subcommand lives in its own module, which owns its options (``minigan CMD --help``).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": ("minigan.cli", "train a GAN (the paper's Algorithm 1) and write history, checkpoint and figures"),
    "gradcheck": ("minigan.gradcheck", "finite-difference check of every analytic gradient"),
    "bench": ("minigan.bench", "time one training step against the GEMM floor and PyTorch"),
}


def usage() -> str:
    lines = ["usage: minigan COMMAND [options]   (minigan COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<10} {doc}" for name, (_, doc) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["train"]  # the main job: `minigan` alone trains on the ring
    if argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"minigan: unknown command {cmd!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[cmd][0])
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
