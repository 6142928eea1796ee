"""``minigan sample`` and ``minigan eval``: using a saved run without training it.

    minigan sample runs/ring-nonsaturating-fresh-seed0 -n 1000 --out samples.npy [--seed S]
    minigan eval runs/ring-nonsaturating-fresh-seed0 [-n 2500] [--seed S] [--json]

RUN is a run folder (holding ``checkpoint.npz``) or a checkpoint file; both commands read only
its two networks (``minigan.load``: no data set or optimizer is rebuilt). ``sample`` writes
``.npy`` or ``.csv`` (one row a sample). ``eval`` scores fresh samples of the generator
(``metrics.evaluate``: PacGAN's mode metrics for the ring and grid, Jensen–Shannon and W1 in 1-D,
sliced W1 and the energy distance with its p-value otherwise) and prints a table, or JSON.

Seeds. ``--seed S`` (default 0) draws the noise of the samples, and ``eval`` draws its reference
data with S + 1: the same S gives the same numbers, another S other samples. ``eval`` scores
the samples ``sample`` writes with the same ``-n`` and ``--seed``. The final metrics of
``minigan train`` (metrics.json) scored the samples of seed ``TRAINING_SEED`` (12345): ``eval
--seed 12345 -n <its --eval-samples>`` gives them again.

Counts. ``-n`` is bounded by memory: about ``BYTES_PER_VALUE`` bytes for each value of a sample
and of its noise (the samples, their copies in the data's scale, the noise; G itself runs on
a bounded number of rows at a time), against half of this machine's memory; ``eval`` takes at
most ``EVAL_LIMIT`` samples, as ``minigan train --eval-samples`` does. A data set of more than
``run.REFERENCE_ROWS`` held-out rows is scored against a seeded subsample of them, said so.

Exit codes (``minigan.app.exitcodes``): 0 done; 2 a bad option, or a RUN that is missing or not
a readable checkpoint, or (``eval``) whose data file is gone or changed since; 3 the samples
could not be written.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from typing import Any, NoReturn

import numpy as np

from ..checkpoint import SavedGAN, load_saved
from ..files import atomic_write
from ..metrics import format_metrics
from . import exitcodes
from .options import integer, memory_bound, positive_integer
from .run import LIMITS, TRAINING_SEED, final_metrics

BYTES_PER_VALUE = 64  # memory a sample takes, per value of it and of its noise (see the docstring)
EVAL_LIMIT = LIMITS["eval_samples"]
SEED_HIGH = 2**63 - 1

DESCRIPTIONS = {
    "sample": "Write n samples of a saved run's generator to a .npy or .csv file (one row a sample, "
    "in the data's own scale). The same --seed writes the same samples.",
    "eval": "Score fresh samples of a saved run's generator: the metrics of its data set (modes "
    "covered and high-quality fraction for the ring and grid, Jensen-Shannon and W1 in 1-D, sliced "
    "W1 and the energy distance otherwise), as a table or JSON. The same --seed gives the same "
    f"numbers; the training's final metrics (metrics.json) used --seed {TRAINING_SEED}.",
}


def _parser(cmd: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"minigan {cmd}", description=DESCRIPTIONS[cmd], allow_abbrev=False)
    p.add_argument("run", metavar="RUN", help="a run folder (holding checkpoint.npz) or a checkpoint file")
    p.add_argument("--backend", help="compute on this backend instead of the run's (numpy, strict, cupy)")
    if cmd == "sample":
        p.add_argument("-n", type=positive_integer, required=True, help="number of samples")
        p.add_argument("--out", required=True, help="where to write them: a .npy or .csv file")
        p.add_argument("--seed", type=integer, default=0, help="the noise's random seed, >= 0 [0]")
    else:
        p.add_argument(
            "-n",
            type=positive_integer,
            default=2500,
            help=f"generated samples to score, 2 to {EVAL_LIMIT:,} [2500]",
        )
        p.add_argument(
            "--seed",
            type=integer,
            default=0,
            help="the seed of the samples scored (and, plus 1, of the reference draws), >= 0 [0]; "
            f"the training's final metrics used {TRAINING_SEED}",
        )
        p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return p


def _fail(p: argparse.ArgumentParser, msg: str) -> NoReturn:
    p.error(msg)  # usage line, ``minigan CMD: error: msg``, exit 2


def _load(p: argparse.ArgumentParser, args: argparse.Namespace) -> SavedGAN:
    if not 0 <= args.seed <= SEED_HIGH:
        _fail(p, f"--seed: expected an integer in [0, 2**63), got {args.seed}")
    try:
        return load_saved(args.run, backend=args.backend)
    except FileNotFoundError:
        _fail(p, f"RUN: no checkpoint at {args.run}")
    except OSError as e:  # no permission, a loop of symbolic links, ...
        _fail(p, f"RUN: cannot read {e.filename or args.run} ({e.strerror or e})")
    except (ValueError, RuntimeError, ImportError) as e:
        _fail(p, f"RUN: {e}")


def check_count(saved: SavedGAN, n: int, high: int | None = None) -> str | None:
    """Why ``n`` samples of ``saved`` are too many (None: they are not): more than ``high``, or
    more than fit in ``memory_bound()`` at BYTES_PER_VALUE bytes a value of a sample and its noise."""
    if high is not None and n > high:
        return f"-n: {n:,} is more than minigan scores (at most {high:,})"
    values = saved.data_dim + saved.noise_dim
    bound = memory_bound()
    most = bound // (BYTES_PER_VALUE * values)
    if n <= most:
        return None
    return (
        f"-n: {n:,} samples need about {n * values * BYTES_PER_VALUE // 10**9:,} GB "
        f"({BYTES_PER_VALUE} bytes for each of the {saved.data_dim} values of a sample and the "
        f"{saved.noise_dim} of its noise); at most {most:,} fit in {bound / 1e9:.1f} GB, half this "
        "machine's memory"
    )


def sample_main(argv: list[str] | None = None) -> int:
    p = _parser("sample")
    args = p.parse_args(argv)
    ext = os.path.splitext(args.out)[1].lower()
    if ext not in (".npy", ".csv"):
        _fail(p, f"--out: expected a .npy or .csv file name, got {args.out!r}")
    saved = _load(p, args)
    why = check_count(saved, args.n)
    if why:
        _fail(p, why)
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
    if args.n < 2:
        _fail(p, f"-n: expected at least 2 samples to score, got {args.n}")
    saved = _load(p, args)
    try:
        data = saved.data  # made from the config: a data file read again, and checked
    except (ValueError, RuntimeError, ImportError) as e:
        _fail(p, f"RUN: {e}")
    if data is None:
        _fail(
            p,
            "RUN: it trained on data given in Python, which the checkpoint does not hold: "
            "evaluate in Python with metrics (e.g. metrics.sliced_wasserstein1)",
        )
    why = check_count(saved, args.n, EVAL_LIMIT)
    if why:
        _fail(p, why)
    result = final_metrics(saved, args.n, args.seed, say=None if args.json else print)
    result["seed"] = args.seed
    if args.json:
        print(json.dumps({k: _plain(v) for k, v in result.items()}, indent=1))
    else:
        print(f"{saved!r}, seed {args.seed}\n{format_metrics(result)}")
    return exitcodes.OK


def _plain(v: Any) -> Any:
    return np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic)) else v
