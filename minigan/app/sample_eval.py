"""``minigan sample`` and ``minigan eval``: using a saved run without training it.

    minigan sample runs/ring-nonsaturating-fresh-seed0 -n 1000 --out samples.npy [--seed S]
    minigan eval runs/ring-nonsaturating-fresh-seed0 [-n 2500] [--json]

RUN is a run folder (holding ``checkpoint.npz``) or a checkpoint file; both commands read only
its two networks (``minigan.load``: no data set or optimizer is rebuilt). ``sample`` writes
``.npy`` or ``.csv`` (one row a sample). ``eval`` prints the run's metrics on fresh samples
(``metrics.evaluate``: PacGAN's mode metrics for the ring and grid, Jensen–Shannon and W1 in 1-D,
sliced W1 and the energy distance with its p-value otherwise) as a table, or as JSON.

Exit codes (``minigan.exitcodes``): 0 done; 2 a bad option, or a RUN that is missing or not a readable
checkpoint; 3 the samples could not be written.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys

import numpy as np

from .. import metrics
from ..checkpoint import SavedGAN, load_saved
from ..files import atomic_write
from . import exitcodes
from .options import blame, positive_integer


def _parser(cmd: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"minigan {cmd}", description=__doc__.split("\n")[0])
    p.add_argument("run", metavar="RUN", help="a run folder (holding checkpoint.npz) or a checkpoint file")
    p.add_argument("--backend", help="compute on this backend instead of the run's (numpy, strict, cupy)")
    if cmd == "sample":
        p.add_argument("-n", type=positive_integer, required=True, help="number of samples")
        p.add_argument("--out", required=True, help="where to write them: a .npy or .csv file")
        p.add_argument("--seed", type=int, default=0, help="the noise's random seed [0]")
    else:
        p.add_argument("-n", type=positive_integer, default=2500, help="generated samples to score [2500]")
        p.add_argument("--seed", type=int, default=12345, help="the seed of the samples scored [12345]")
        p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return p


def _load(p: argparse.ArgumentParser, args: argparse.Namespace) -> SavedGAN:
    try:
        return load_saved(args.run, backend=args.backend)
    except FileNotFoundError:
        p.error(f"RUN: no checkpoint at {args.run}")
    except (ValueError, RuntimeError, ImportError) as e:
        p.error(f"RUN: {e}")


def sample_main(argv: list[str] | None = None) -> int:
    p = _parser("sample")
    args = p.parse_args(argv)
    ext = os.path.splitext(args.out)[1].lower()
    if ext not in (".npy", ".csv"):
        p.error(f"--out: expected a .npy or .csv file name, got {args.out!r}")
    saved = _load(p, args)
    x = saved.sample(args.n, seed=args.seed)
    try:  # written aside and renamed: never a half-written file
        if ext == ".npy":
            atomic_write(args.out, lambda f: np.save(f, x))
        else:
            text = io.StringIO()
            np.savetxt(text, x, delimiter=",", fmt="%.9g")
            atomic_write(args.out, text.getvalue())
    except OSError as e:
        print(f"minigan sample: error: --out: cannot write {args.out} ({e.strerror or e})", file=sys.stderr)
        return exitcodes.WRITE_ERROR
    print(f"wrote {args.n} samples of dimension {x.shape[1]} from step {saved.step} to {args.out}")
    return exitcodes.OK


def eval_main(argv: list[str] | None = None) -> int:
    p = _parser("eval")
    args = p.parse_args(argv)
    saved = _load(p, args)
    if saved.data is None:
        p.error(
            "RUN: it trained on data given in Python, which the checkpoint does not hold: "
            "evaluate in Python with metrics (e.g. metrics.sliced_wasserstein1)"
        )
    try:
        result = metrics.evaluate(saved, n=args.n, seed=args.seed)
    except ValueError as e:  # metrics.evaluate owns the range of n
        p.error(str(blame(e, {"n": "-n"})))
    if args.json:
        print(
            json.dumps(
                {
                    k: np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic)) else v
                    for k, v in result.items()
                },
                indent=1,
            )
        )
    else:
        print(f"{saved!r}\n{metrics.format_metrics(result)}")
    return exitcodes.OK
