"""``minigan train``: train a GAN from the command line and write what it did.

    minigan train                        # the main job: 8 Gaussians on a ring, < 1 min on 2 cores
    minigan train --dataset grid --steps 20000 --seed 3
    minigan train --resume runs/ring-nonsaturating-fresh-seed0/checkpoint.npz

The output folder (``--out``, default ``runs/<dataset>-<g_loss>-<mode>-seed<seed>``) gets

    history.csv     one row per step: step and the columns of ``training.HISTORY``
    checkpoint.npz  the whole state (``checkpoint.save``), written every
                    ``--checkpoint-every`` steps and at the end, only from finite states
    metrics.json    the final metrics (``metrics.evaluate``: PacGAN's modes covered and
                    high-quality fraction for the ring and grid), also printed
    losses.png      loss curves against the equilibrium values L_D = log 4, L_G^ns = log 2,
                    V = −log 4 (``plots.loss_curves``)
    samples.png     generated samples over the data (``plots.samples``)
    game.png        the game at the last step: D(x) over the data, the samples and the force
                    of G's loss on each (``game.game_figure``; 1-D and 2-D data)
    evals.csv       every ``--eval-every`` steps: modes covered and high-quality fraction
                    (ring, grid) and the sliced W1 distance (``diagnostics.Diagnostics``),
                    also drawn in losses.png; warnings go to the terminal and metrics.json;
                    written with each checkpoint, so a killed run keeps what its checkpoint
                    covers and ``--resume`` takes it back (and the warnings that had fired)
    animation.gif   with ``--animate``: the game figure and the losses so far, every
                    ``--animate-every`` steps (``game.Animation``)
    run.json        the configuration, the learning-rate schedule, the command and the run's
                    ``--checkpoint-every``/``--eval-every``/``--eval-samples`` (``--resume``
                    keeps each one not given again), written (atomically) with the run's first
                    checkpoint: a run that fails before it leaves the run.json that was there

The defaults (one set for every dataset) were tuned so that the default run covers the
ring's 8 modes with high-quality samples in well under a minute on 2 CPU cores: a 3-layer
generator (128-128-128; D 128-128), Adam at 1e-3 with betas (0.5, 0.999), batch 256,
6000 steps, and learning rates that fall linearly to 5 % of their start (``--lr-decay``):
without the decay the samples keep orbiting their modes (40-80 % high quality after
6000 steps); with it they settle (93-97 %). Adam at 2e-3 reached the same quality but
dropped a mode on more seeds; 8-D noise dropped 2-3 modes. Even so one seed in four (3 and 5 of
0-7) lost a mode, and a larger batch, a faster D, k = 2 did not change that; a small R1 penalty on
D (``--penalty r1 --gamma 0.03``, the default) did: 8/8 modes, 91.6-95.8 % high quality on every
seed of 0-7, in about the same time (``--penalty none``: the plain game).

Exit codes (``minigan.exitcodes``, shared by every subcommand): 0 done; 1 training diverged (the
message names the step and the quantity; the last checkpoint, written from a finite state, is left
as it was); 2 bad options, an
unreadable checkpoint, or an output folder that holds another run or is in use by another
``minigan train``; 3 a file could not be written (disk full, no permission, a read-only folder,
a file-size limit: the message names the file; files written before, the last checkpoint
among them, are left as they were); 130 interrupted (Ctrl-C: the run stops at the next flush
and saves a checkpoint to resume from).

A new run never writes into a folder that holds another run: with no ``--out`` it takes the next
free name (``runs/ring-nonsaturating-fresh-seed0-2``, ...) and says so; an ``--out`` that holds a
run is refused unless ``--overwrite``. While a run writes its folder it holds a lock on it
(``.lock``, released by the system when the process ends, however it ends).
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import IO, Any, Literal

import numpy as np

from .. import checkpoint, losses, metrics, training
from ..figures import game, plots
from . import diagnostics, exitcodes
from ..engine import keep_freed_memory
from ..data import DATASETS, ArrayDataset
from ..optim import DEFAULT_LR, OPTIMIZERS, SGD_LR_BY_LOSS
from ..penalties import PENALTIES
from ..training import GAN, HISTORY, MODES, DivergenceError, TrainConfig

PROG = "minigan train"

# The defaults of the command are TrainConfig's (tuned for the ring; see the module docstring):
# options left out on the command line take them; with --resume they come from the checkpoint.
CONFIG_DEFAULTS = TrainConfig()
DEFAULTS = {f.name: getattr(CONFIG_DEFAULTS, f.name) for f in fields(TrainConfig)}
DEFAULT_CHECKPOINT_EVERY = 1000
EVAL_SAMPLES = 2500  # PacGAN's number of samples for the mode metrics (Lin et al. 2018)
DEFAULT_EVAL_EVERY = 500  # steps between the diagnostics' evaluations (diagnostics.Diagnostics)

# Options that define the game: fixed by the checkpoint when resuming.
RUN_OPTIONS = ("dataset", "g_loss", "mode", "k", "batch_size", "optimizer", "d_optimizer", "g_lr", "d_lr",
               "betas", "momentum", "g_hidden", "d_hidden", "noise_dim", "real_target", "seed", "log_every",
               "penalty", "gamma", "gp_weight")


class UsageError(Exception):
    """A bad option: reported as ``minigan train: error: ...`` with exit code 2."""


# --------------------------------------------------------------------------------------
# Option types (argparse reports their messages as "argument --x: <message>")
# --------------------------------------------------------------------------------------
def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def _at_most(limit: int) -> Callable[[str], int]:
    """A positive integer up to ``limit``: a value too large for the machine is refused, not a traceback."""
    def parse(s: str) -> int:
        v = _positive_int(s)
        if v > limit:
            raise argparse.ArgumentTypeError(f"{v} is more than minigan takes (at most {limit:,})")
        return v
    return parse


def _int(s: str) -> int:
    try:
        return int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {s!r}")
    return v


def _fraction(interval: str) -> Callable[[str], float]:
    """An option type for a number in ``interval``: "(0, 1]" or "[0, 1)"."""
    def parse(s: str) -> float:
        try:
            v = float(s)
        except ValueError:
            v = math.nan
        ok = 0.0 < v <= 1.0 if interval == "(0, 1]" else 0.0 <= v < 1.0
        if not ok:
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {s!r}")
        return v
    return parse


_unit_interval = _fraction("(0, 1]")  # label smoothing target, learning-rate decay
_momentum = _fraction("[0, 1)")  # SGD's momentum


def _widths(s: str) -> tuple[int, ...]:
    """'128,128,128' -> (128, 128, 128)."""
    try:
        v = tuple(int(p) for p in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, e.g. 128,128, got {s!r}") from None
    if not v or any(w <= 0 for w in v):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, e.g. 128,128, got {s!r}")
    return v


def _betas(s: str) -> tuple[float, ...]:
    try:
        v = tuple(float(p) for p in s.split(","))
    except ValueError:
        v = ()
    if len(v) != 2 or not all(0.0 <= b < 1.0 for b in v):
        raise argparse.ArgumentTypeError(f"expected two numbers in [0, 1) as b1,b2, e.g. 0.5,0.999, got {s!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    d = DEFAULTS
    p = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [options]",
        description="Train a GAN with the paper's Algorithm 1 (Goodfellow et al. 2014) and write the history, "
                    "a checkpoint, the final metrics and figures. With no options: the 8-Gaussian ring, "
                    "under a minute on 2 CPU cores.",
        epilog="Defaults in brackets; every option left out keeps the checkpoint's value with --resume.",
    )
    g = p.add_argument_group("the game")
    g.add_argument("--dataset", choices=DATASETS, help=f"the real data [{d['dataset']}]")
    g.add_argument("--data", metavar="FILE[:key]",
                   help="train on your own data instead: a .npy, .npz (one array, or FILE:key) or .csv table, "
                        "one row a sample; standardized per column unless --raw-scale")
    g.add_argument("--raw-scale", action="store_true", help="with --data: keep the data's own scale")
    g.add_argument("--holdout", type=_fraction("[0, 1)"),
                   help="with --data: the fraction of rows kept out of training for the metrics [0.1]")
    g.add_argument("--g-loss", choices=tuple(losses.GENERATOR_LOSSES),
                   help=f"the generator's loss; the discriminator's is its pair [{d['g_loss']}]")
    g.add_argument("--mode", choices=MODES,
                   help="generator update: fresh (new z, updated D: the paper), reuse (same G(z), updated D), "
                        f"simultaneous (both gradients from one pass) [{d['mode']}]")
    g.add_argument("--k", type=_positive_int, help=f"discriminator steps per generator step [{d['k']}]")
    g.add_argument("--batch-size", "-m", type=_positive_int, help=f"minibatch size m [{d['batch_size']}]")
    g.add_argument("--real-target", type=_unit_interval,
                   help="one-sided label smoothing: D's target for real data, 0 < a <= 1 (bce losses only) "
                        f"[{d['real_target']:g}]")
    g.add_argument("--penalty", choices=("none", *PENALTIES), help="a gradient penalty on D: r1 (on real samples), "
                   "r2 (on generated ones), gp (WGAN-GP, on interpolates; no weight clipping), none "
                   f"[{d['penalty'] or 'none'}]")
    g.add_argument("--gamma", type=_positive_float, help=f"R1/R2's weight γ [{d['gamma']:g}]")
    g.add_argument("--gp-weight", type=_positive_float, help=f"WGAN-GP's weight λ [{d['gp_weight']:g}]")
    g = p.add_argument_group("networks and optimizer")
    g.add_argument("--g-hidden", type=_widths,
                   help=f"generator hidden widths [{','.join(map(str, d['g_hidden']))}]")
    g.add_argument("--d-hidden", type=_widths,
                   help=f"discriminator hidden widths [{','.join(map(str, d['d_hidden']))}]")
    g.add_argument("--noise-dim", type=_positive_int, help=f"dimension of z [{d['noise_dim']}]")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help=f"the generator's, and the discriminator's unless "
                   f"--d-optimizer is given [{d['optimizer']}]")
    g.add_argument("--d-optimizer", choices=OPTIMIZERS, help="the discriminator's optimizer [as --optimizer]")
    sgd = ", ".join(f"{v:g} with {k}" for k, v in SGD_LR_BY_LOSS.items())
    lrs = ", ".join(f"{k} {v:g}" + (f" ({sgd})" if k == "sgd" else "") for k, v in DEFAULT_LR.items())
    g.add_argument("--g-lr", type=_positive_float, help=f"generator learning rate [{lrs}]")
    g.add_argument("--d-lr", type=_positive_float, help="discriminator learning rate [as --g-lr]")
    g.add_argument("--betas", type=_betas, help=f"Adam's b1,b2 [{','.join(map(str, d['betas']))}]")
    g.add_argument("--momentum", type=_momentum, help=f"SGD's momentum (the paper's optimizer) [{d['momentum']}]")
    g.add_argument("--lr-decay", type=_unit_interval,
                   help="learning rates fall linearly to this fraction of their start by the last step; "
                        f"1 = constant [{d['lr_decay']:g}]")
    g = p.add_argument_group("the run")
    g.add_argument("--steps", type=_positive_int,
                   help=f"total number of training steps (with --resume: train on up to this step) [{d['steps']}]")
    g.add_argument("--seed", type=_int, help=f"the random seed of init, noise and data [{d['seed']}]")
    g.add_argument("--backend", help="numpy | strict | strict:<device> | cupy [$MINIGAN_BACKEND or numpy]")
    g.add_argument("--out", help="output folder [runs/<dataset>-<g_loss>-<mode>-seed<seed>; "
                                 "with --resume: the checkpoint's folder]")
    g.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in this checkpoint (.npz)")
    g.add_argument("--overwrite", action="store_true",
                   help="let a new run replace the run already in --out (without it, that is refused)")
    g.add_argument("--log-every", type=_positive_int,
                   help=f"steps between host syncs (history, NaN check, progress) [{d['log_every']}]")
    g.add_argument("--checkpoint-every", type=_positive_int,
                   help=f"steps between checkpoints [{DEFAULT_CHECKPOINT_EVERY}]")
    g.add_argument("--eval-samples", type=_at_most(10**7),
                   help=f"generated samples for the final metrics [{EVAL_SAMPLES}]")
    g.add_argument("--threads", type=_at_most(1024),
                   help="threads of numpy's BLAS during training (needs threadpoolctl; the networks are "
                        "small, so 1 is fastest, and many times faster on a busy machine) [1]")
    g.add_argument("--eval-every", type=_positive_int,
                   help="steps between evaluations of the generator during training (modes covered, high-quality "
                        f"fraction, sliced W1: evals.csv) and the checks for failure modes [{DEFAULT_EVAL_EVERY}]")
    g.add_argument("--animate", action="store_true",
                   help="write animation.gif: the game (D over the data, the samples, the force of G's loss on "
                        "each) and the losses so far, drawn on the host at synced steps (1-D and 2-D data)")
    g.add_argument("--animate-every", type=_positive_int, metavar="N",
                   help=f"steps between frames of --animate [about steps/{game.MAX_FRAMES}, a multiple of "
                        "--log-every]")
    g.add_argument("--no-plots", action="store_true", help="do not draw the figures")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no file list")
    return p


# --------------------------------------------------------------------------------------
# Setting up a run
# --------------------------------------------------------------------------------------
_OPTION_OF = {f: "--" + f.replace("_", "-") for f in (*RUN_OPTIONS, "steps", "backend", "lr_decay")}
_OPTION_OF.update({"m": "--batch-size", "lr": "--g-lr/--d-lr", "data_params": "--dataset"})


def _name_option(msg: str) -> str:
    """'batch_size: expected ...' -> '--batch-size: expected ...' (a config error as an option)."""
    head, sep, rest = msg.partition(":")
    return f"{_OPTION_OF[head]}:{rest}" if sep and head in _OPTION_OF else msg


def _new_run(args: argparse.Namespace) -> tuple[GAN, str]:
    """A fresh GAN from the options; TrainConfig's defaults for those left out."""
    cfg = {name: getattr(args, name) for name in (*RUN_OPTIONS, "steps", "lr_decay")
           if getattr(args, name, None) is not None}
    if cfg.get("penalty") == "none":
        cfg["penalty"] = None
    cfg["backend"] = args.backend or os.environ.get("MINIGAN_BACKEND") or DEFAULTS["backend"]
    used = {args.optimizer or DEFAULTS["optimizer"], args.d_optimizer or args.optimizer or DEFAULTS["optimizer"]}
    for flag, value, opt in (("--betas", args.betas, "adam"), ("--momentum", args.momentum, "sgd")):
        if value is not None and opt not in used:
            raise UsageError(f"{flag}: a setting of {opt}, but this run uses {' and '.join(sorted(used))}")
    name = None
    if args.data:
        if args.dataset:
            raise UsageError("--data: give either --data or --dataset, not both")
        path, _, key = args.data.partition(":") if not os.path.exists(args.data) else (args.data, "", "")
        cfg["dataset"] = "file"
        cfg["data_params"] = {"path": os.path.abspath(path), "key": key or None, "standardize": not args.raw_scale,
                              "holdout": 0.1 if args.holdout is None else args.holdout}
        name = os.path.splitext(os.path.basename(path))[0]
    elif args.raw_scale or args.holdout is not None:
        raise UsageError("--raw-scale/--holdout: they apply to --data only")
    try:
        config = TrainConfig(**cfg)
        gan = GAN(config)
        rows = gan.data.points.shape[0] if isinstance(gan.data, ArrayDataset) else None
        if rows is not None and rows < config.batch_size:  # say so now (without drawing from the run's stream)
            raise ValueError(f"data: {rows} rows, fewer than the batch of {config.batch_size}")
    except FileNotFoundError as e:
        raise UsageError(f"--data: {str(e).removeprefix('data: ')}") from None
    except (ValueError, TypeError, RuntimeError, ImportError) as e:
        msg = str(e)
        raise UsageError(f"--data: {msg.removeprefix('data: ')}" if args.data and msg.startswith("data:")
                         else _name_option(msg)) from None
    out = args.out or os.path.join("runs", f"{name or config.dataset}-{config.g_loss}-{config.mode}-seed{config.seed}")
    if _holds_a_run(out) and not args.overwrite:
        if args.out:
            raise UsageError(f"--out: {out} holds another run; continue it with --resume "
                             f"{os.path.join(out, 'checkpoint.npz')}, replace it with --overwrite, or choose another --out")
        base, i = out, 2
        while _holds_a_run(out):  # the default folder is taken: the next free name
            out, i = f"{base}-{i}", i + 1
        if not args.quiet:
            print(f"{base} holds another run: this one goes to {out}")
    return gan, out


def _holds_a_run(folder: str) -> bool:
    return any(os.path.exists(os.path.join(folder, f)) for f in ("checkpoint.npz", "run.json", "history.csv"))


def _lock(out: str) -> IO[str] | None:
    """An exclusive lock on ``out/.lock`` for the rest of this process (the system releases it when
    the process ends, even by kill -9), or a UsageError if another run holds it."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock
        return None
    f = open(os.path.join(out, ".lock"), "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        who = f.read().strip()
        f.close()
        raise UsageError(f"--out: {out} is being written by another minigan train{f' ({who})' if who else ''}; "
                         "wait for it, or choose another --out") from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}")
    f.flush()
    return f


def _resumed_run(args: argparse.Namespace) -> tuple[GAN, str]:
    """The GAN of ``--resume``; run-defining options must agree with its config."""
    try:
        gan = checkpoint.load(args.resume, backend=args.backend)
    except FileNotFoundError:
        raise UsageError(f"--resume: no such checkpoint: {args.resume}") from None
    except (ValueError, TypeError, RuntimeError, ImportError) as e:
        raise UsageError(f"--resume: {e}") from None
    c = gan.config
    for name in RUN_OPTIONS:
        given = getattr(args, name, None)
        if name == "penalty" and given == "none":
            given = "none" if c.penalty is not None else None  # --penalty none: the same as a run without one
        if given is not None and given != getattr(c, name):
            raise UsageError(f"{_OPTION_OF[name]}: the checkpoint was trained with {name}={getattr(c, name)!r}; "
                             "it cannot change on --resume (start a new run instead)")
    if args.steps is not None:
        if args.steps < gan.step:
            raise UsageError(f"--steps: the checkpoint is already at step {gan.step}; ask for at least that many")
        decay = c.lr_decay if args.lr_decay is None else args.lr_decay
        if args.steps != c.steps and decay != 1.0:
            # the learning rates fall linearly to lr_decay at step ``steps``: another length is another
            # schedule, so the extended run would not be the run it claims to be
            raise UsageError(f"--steps: this run's learning rates fall to {decay:g}x by step {c.steps} (--lr-decay), "
                             f"so {args.steps} steps would be another schedule; resume without --steps, or start a "
                             "new run of that length")
        c.steps = args.steps
    out = args.out or os.path.dirname(os.path.abspath(args.resume))
    if args.lr_decay is not None:
        c.lr_decay = args.lr_decay
    _inherit_run_settings(args, os.path.join(os.path.dirname(os.path.abspath(args.resume)), "run.json"))
    return gan, out


RUN_SETTINGS = ("checkpoint_every", "eval_every", "eval_samples")  # kept in run.json under "run"


def _inherit_run_settings(args: argparse.Namespace, record: str) -> None:
    """On --resume, each of RUN_SETTINGS not given takes the value the run was started with (its
    run.json), so the resumed run checkpoints and evaluates as an uninterrupted one would."""
    try:
        with open(record) as f:
            settings = json.load(f).get("run") or {}
    except (OSError, ValueError, AttributeError):
        return  # no record (or an older one): the defaults
    for name in RUN_SETTINGS:
        value = settings.get(name)
        if getattr(args, name, None) is None and isinstance(value, int) and not isinstance(value, bool) and value > 0:
            setattr(args, name, value)


# --------------------------------------------------------------------------------------
# Writing results
# --------------------------------------------------------------------------------------
def write_history_csv(history: Any, path: str) -> str:
    """history (steps, len(HISTORY)) -> CSV with the header ``step,<HISTORY>``, steps from 1."""
    h = np.asarray(history, dtype=np.float64).reshape(-1, len(HISTORY))
    table = np.concatenate([np.arange(1, h.shape[0] + 1, dtype=np.float64)[:, None], h], axis=1)
    text = io.StringIO()
    np.savetxt(text, table, fmt=["%d"] + ["%.9g"] * len(HISTORY), delimiter=",",
               header=",".join(("step", *HISTORY)), comments="")
    return _write_atomic(path, text.getvalue())


def _write_atomic(path: str, text: str) -> str:
    """``text`` to ``path`` through ``path.tmp`` and a rename: the old file stays whole if this fails."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.isfile(tmp):
            os.remove(tmp)
        raise OSError(e.errno, e.strerror or str(e), path) from None
    return path


def read_history_csv(path: str | os.PathLike[str]) -> np.ndarray:
    """The (steps, len(HISTORY)) array written by ``write_history_csv`` (step column dropped)."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    if header != ["step", *HISTORY]:
        raise ValueError(f"{path}: expected the header step,{','.join(HISTORY)}, got {','.join(header)}")
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, 1:]


def _json_ready(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out[k] = v
    return out


def _title(c: TrainConfig) -> str:
    return f"{c.dataset} · {c.g_loss} · {c.mode} · k={c.k} · m={c.batch_size} · seed {c.seed}"


def draw_figures(gan: GAN, out: str, result: dict[str, Any] | None, say: Callable[[str], Any],
                 evals: dict[str, Any] | None = None) -> list[str]:
    """losses.png (with ``evals``, the diagnostics' metrics over time), and samples.png and
    game.png when the run finished; [] with a note if matplotlib is missing."""
    if not plots.available():
        say(f"matplotlib is not installed: no figures ({plots.INSTALL_HINT})")
        return []
    c = gan.config
    paths = [plots.loss_curves(gan.history_array(), os.path.join(out, "losses.png"), g_loss=c.g_loss,
                               title=_title(c), evals=evals)]
    if result is not None:
        n, seed = result.get("n", EVAL_SAMPLES), 12345
        fake = gan.sample(n, seed=seed)  # the samples metrics.evaluate scored (same seed)
        real = gan.data.reference(n, seed=seed + 1)
        density = None
        if gan.data.dim == 1 and hasattr(gan.data, "density"):
            xs = np.linspace(min(real.min(), fake.min()), max(real.max(), fake.max()), 400)
            density = (xs, gan.data.density(xs))
        title = f"step {gan.step}: {metrics.format_metrics(result)}"
        d = gan.data.dim
        if d > 2 and int(round(d ** 0.5)) ** 2 != d:  # not an image: the first two columns
            real, fake, title = real[:, :2], fake[:, :2], title + " (columns 1 and 2)"
        paths.append(plots.samples(real, fake, os.path.join(out, "samples.png"), means=getattr(gan.data, "means", None)
                                   if gan.data.dim == 2 else None, std=getattr(gan.data, "std", None),
                                   density=density, title=title))
        if gan.data.dim in (1, 2):
            paths.append(game.game_figure(gan, os.path.join(out, "game.png"), title=_title(c)))
    return paths


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------
class Progress:
    """A tqdm bar with live losses, or plain lines every ~10 % when tqdm is missing."""

    def __init__(self, total: int, initial: int, quiet: bool) -> None:
        self.total, self.quiet, self.bar = total, quiet, None
        self.next_line = initial
        self.t0 = time.perf_counter()
        if quiet:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            print(f"training steps {initial}..{total} (install tqdm for a progress bar)", file=sys.stderr)
            self.every = max(1, total // 10)
            self.next_line = initial + self.every
        else:
            self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, file=sys.stderr)

    def update(self, step: int, n: int, rows: np.ndarray) -> None:
        """After a flush: ``n`` new steps, ``rows`` their history (mean shown)."""
        if self.quiet or rows.shape[0] == 0:
            return
        r = rows.mean(axis=0)
        col = {name: i for i, name in enumerate(HISTORY)}
        vals = {"L_D": r[col["L_D"]], "L_G": r[col["L_G"]], "D(x)": r[col["D_real"]], "D(G(z))": r[col["D_fake"]]}
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in vals.items()}, refresh=False)
            self.bar.update(n)
        elif step >= self.next_line or step == self.total:
            self.next_line = step + self.every
            txt = "  ".join(f"{k} {v:.3f}" for k, v in vals.items())
            print(f"step {step}/{self.total}  {txt}  ({time.perf_counter() - self.t0:.1f} s)", file=sys.stderr)

    def write(self, msg: str) -> None:
        """A line on stderr that does not break the bar (the diagnostics' warnings)."""
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
        else:
            print(msg, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def blas_threads(n: int) -> Any:
    """A context limiting numpy's BLAS to ``n`` threads (threadpoolctl), or None if it is missing.

    Without it the BLAS keeps its own default (all cores, or $OPENBLAS_NUM_THREADS /
    $OMP_NUM_THREADS): on 2 busy cores its spinning threads made a step ~16x slower here.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n, user_api="blas")


class _StopFlag:
    """The first Ctrl-C asks the loop to stop at the next flush (and save); a second one aborts."""

    def __init__(self) -> None:
        self.stop: bool = False
        self.old: Any = None

    def __enter__(self) -> _StopFlag:
        try:
            self.old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self.old = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stop:
            raise KeyboardInterrupt
        self.stop = True

    def __exit__(self, *exc: object) -> Literal[False]:
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


# --------------------------------------------------------------------------------------
# The training loop of the command
# --------------------------------------------------------------------------------------
def segment_ends(step: int, log_every: int, ckpt_every: int) -> list[int]:
    """The steps up to ``step`` after which ``train_run`` calls its watchers when it runs from 0
    to at least ``step``: every multiple of ``log_every`` and of ``ckpt_every``, and ``step``."""
    ends = set(range(log_every, step + 1, log_every)) | set(range(ckpt_every, step + 1, ckpt_every))
    return sorted(ends | {step}) if step > 0 else []


def train_run(gan: GAN, total: int, ckpt_path: str, ckpt_every: int, progress: Progress | None = None,
              stop: _StopFlag | None = None, watchers: Iterable[Callable[[GAN], Any]] = (),
              on_save: Callable[[], Any] | None = None) -> int | None:
    """Train ``gan`` up to step ``total`` in segments that end at every multiple of ``log_every``
    (where the learning-rate schedule of TrainConfig.lr_decay moves, so a resumed run matches an
    uninterrupted one) and of ``ckpt_every``. A checkpoint is written at each multiple of
    ``ckpt_every`` and at the end; ``checkpoint.save`` flushes first and refuses non-finite states,
    so a checkpoint always holds a finite state.

    After each segment (the history synced to the host) each of ``watchers`` is called with
    the GAN: the diagnostics and the animation, which so never act inside the step loop.
    ``on_save()`` is called after each checkpoint is written.

    Returns the step of the last checkpoint written (None if none). Raises DivergenceError
    (with the last checkpoint's step in ``.last_checkpoint``) and stops early when
    ``stop.stop`` is set.
    """
    c = gan.config
    le = c.log_every
    last_ckpt = None
    try:
        while gan.step < total:
            if stop is not None and stop.stop:
                break
            # up to the next multiple of log_every (where the schedule moves) or of ckpt_every (a
            # checkpoint), whichever comes first: checkpoints land when asked, not at their lcm
            n = min((gan.step // le + 1) * le, (gan.step // ckpt_every + 1) * ckpt_every, total) - gan.step
            before = len(gan.history)
            gan.train(n)  # ends with a flush: DivergenceError names the step and quantity
            if progress is not None:
                progress.update(gan.step, n, np.asarray(gan.history[before:], dtype=np.float64))
            for watch in watchers:
                watch(gan)
            if gan.step % ckpt_every == 0 or gan.step == total:
                _save_finite(gan, ckpt_path)
                last_ckpt = gan.step
                if on_save is not None:
                    on_save()
        if last_ckpt != gan.step:  # stopped early: keep the state reached
            _save_finite(gan, ckpt_path)
            last_ckpt = gan.step
            if on_save is not None:
                on_save()
    except DivergenceError as e:
        e.last_checkpoint = last_ckpt
        raise
    return last_ckpt


def _save_finite(gan: GAN, path: str) -> None:
    """checkpoint.save, with a non-finite parameter reported as a DivergenceError."""
    try:
        checkpoint.save(gan, path)
    except ValueError as e:
        if "NaN or inf" not in str(e):
            raise
        key = str(e).split(":", 1)[1].split(" contains")[0].strip()
        raise DivergenceError(gan.step, key) from None


def _watchers(gan: GAN, args: argparse.Namespace, out: str, total: int, progress: Progress,
              say: Callable[[str], Any]) -> tuple[diagnostics.Diagnostics, game.Animation | None]:
    """The diagnostics (always; a resumed run takes back its evals.csv) and, with --animate,
    the animation (None without it, for data that is not 1-D or 2-D, or without matplotlib)."""
    diag = diagnostics.Diagnostics(gan, args.eval_every or DEFAULT_EVAL_EVERY, say=progress.write)
    evals = os.path.join(out, "evals.csv")
    if args.resume and os.path.exists(evals):
        try:
            ends = segment_ends(gan.step, gan.config.log_every, args.checkpoint_every or DEFAULT_CHECKPOINT_EVERY)
            diag.read_csv(evals, upto=gan.step, history=gan.history, ends=ends)
        except ValueError as e:
            say(f"note: {e}; the evaluations start again")
    if not args.animate:
        return diag, None
    if gan.data.dim not in (1, 2) or not plots.available():
        why = (f"{gan.data.dim}-D data has no game figure" if gan.data.dim not in (1, 2)
               else f"matplotlib is not installed ({plots.INSTALL_HINT})")
        say(f"note: --animate: {why}; no animation")
        return diag, None
    every = args.animate_every or game.frame_interval(total - gan.step, gan.config.log_every)
    return diag, game.Animation(os.path.join(out, "animation.gif"), every, total, title=_title(gan.config))


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``minigan train``: exit codes in the module docstring."""
    try:
        return _main(argv)
    except OSError as e:  # disk full, no permission, a read-only folder, a file-size limit, ...
        what = e.filename or "an output file"
        print(f"{PROG}: error: cannot write {what}: {e.strerror or e}; files written before "
              "(the last checkpoint among them) are as they were", file=sys.stderr)
        return exitcodes.WRITE_ERROR


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a bad option (2, message printed)
        return int(e.code or exitcodes.OK)

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg)

    try:
        if args.resume:
            gan, out = _resumed_run(args)
        else:
            gan, out = _new_run(args)
        os.makedirs(out, exist_ok=True)
        lock = _lock(out)  # noqa: F841 - held until the process ends
    except UsageError as e:
        print(f"{PROG}: error: {e}\n(minigan train --help lists the options)", file=sys.stderr)
        return exitcodes.USAGE
    except OSError as e:
        print(f"{PROG}: error: --out: cannot create {args.out or 'the output folder'} ({e.strerror or e})",
              file=sys.stderr)
        return exitcodes.WRITE_ERROR
    return train_in_folder(gan, out, args, "minigan train " + shlex.join(argv), say)


def train_in_folder(gan: GAN, out: str, args: argparse.Namespace, command: str,
                    say: Callable[[str], Any]) -> int:
    """Train ``gan`` (a new run, or the one loaded from ``args.resume``) in the folder ``out``,
    created and locked by the caller, and write the files of the module docstring: the body of
    ``minigan train`` once its options are read, also what ``minigan sweep`` runs for each point.
    ``args``: the command's options (``build_parser().parse_args``); ``command``: recorded in
    run.json; ``say``: prints a note. Returns the exit code (``exitcodes``: OK, FAILED when
    training diverged, INTERRUPTED); a file that cannot be written raises OSError.
    """
    c = gan.config
    total = c.steps
    ckpt_path = os.path.join(out, "checkpoint.npz")
    for name in glob.glob(os.path.join(glob.escape(out), ".checkpoint.npz.*.tmp")) + [
            os.path.join(out, "history.csv.tmp"), os.path.join(out, "run.json.tmp"),
            os.path.join(out, "evals.csv.tmp"), os.path.join(out, "metrics.json.tmp")]:
        if os.path.isfile(name):  # left by a run killed while writing: its previous file is intact
            os.remove(name)
    ckpt_every = args.checkpoint_every or DEFAULT_CHECKPOINT_EVERY
    settings = {"checkpoint_every": ckpt_every, "eval_every": args.eval_every or DEFAULT_EVAL_EVERY,
                "eval_samples": args.eval_samples or EVAL_SAMPLES}
    record = json.dumps({"command": command, "config": c.to_dict(), "run": settings, "resumed_from": args.resume,
                         "resumed_at_step": gan.step if args.resume else None}, indent=1)
    recorded = False

    def write_record() -> None:
        """run.json, written with this run's first checkpoint (or its end), atomically: a run that
        fails before it has changed nothing leaves the folder's run.json as it was (issue 10)."""
        nonlocal recorded
        if not recorded:
            _write_atomic(os.path.join(out, "run.json"), record)
            recorded = True

    say(f"{_title(c)}: steps {gan.step}..{total} on {gan.backend.spec}"
        f"{'' if c.lr_decay == 1.0 else f', learning rates decaying linearly to {c.lr_decay:g}x'} -> {out}")
    limit = blas_threads(args.threads or 1)
    keep_freed_memory()  # no page faults to get each step's arrays back (engine.keep_freed_memory)
    if limit is None and not any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")):
        say("note: threadpoolctl is not installed, so numpy's BLAS uses all cores; on a busy machine "
            "OPENBLAS_NUM_THREADS=1 is much faster for these small networks (or: pip install threadpoolctl)")
    progress = Progress(total, gan.step, args.quiet)
    diag, anim = _watchers(gan, args, out, total, progress, say)

    def on_checkpoint() -> None:
        """After each checkpoint: run.json (once) and evals.csv up to the checkpoint's step, so a
        run killed where it cannot write anything (kill -9, a dead sweep worker) keeps every
        evaluation its checkpoint covers, and --resume takes them back."""
        write_record()
        diag.write_csv(os.path.join(out, "evals.csv"))

    t0, step0 = time.perf_counter(), gan.step
    status = exitcodes.OK
    try:
        # overflow on the way to NaN is expected there: the history check reports it
        with _StopFlag() as stop, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if anim is not None and gan.step < total:
                anim.add_frame(gan)  # the game where this run starts
            last_ckpt = train_run(gan, total, ckpt_path, ckpt_every, progress, stop,
                                  [w for w in (diag, anim) if w is not None], on_checkpoint)
    except DivergenceError as e:
        progress.close()
        where = (f"the last good checkpoint (step {e.last_checkpoint}) is intact: {ckpt_path}"
                 if e.last_checkpoint is not None else
                 (f"the checkpoint it resumed from is intact: {args.resume}" if args.resume
                  else "no checkpoint was written before it"))
        print(f"{PROG}: error: {e}; {where}", file=sys.stderr)
        write_record()
        write_history_csv(gan.history, os.path.join(out, "history.csv"))
        diag.write_csv(os.path.join(out, "evals.csv"))
        if anim is not None:
            anim.close()
        if not args.no_plots and gan.history:
            draw_figures(gan, out, None, say, diag.as_dict())
        return exitcodes.FAILED
    except KeyboardInterrupt:
        progress.close()
        print(f"{PROG}: aborted at step {gan.step}; nothing saved since the last checkpoint", file=sys.stderr)
        return exitcodes.INTERRUPTED
    finally:
        if limit is not None:
            limit.restore_original_limits()
    progress.close()
    seconds = time.perf_counter() - t0
    steps_run = gan.step - step0
    write_record()
    write_history_csv(gan.history, os.path.join(out, "history.csv"))
    diag.write_csv(os.path.join(out, "evals.csv"))
    gif = anim.close() if anim is not None else None
    if stop.stop and gan.step < total:
        print(f"{PROG}: interrupted at step {gan.step}; resume with: minigan train --resume {ckpt_path}",
              file=sys.stderr)
        status = exitcodes.INTERRUPTED
        result = None
    else:
        result = metrics.evaluate(gan, n=args.eval_samples or EVAL_SAMPLES)
        # train_seconds: the whole run's training time, every resume included (the checkpoint keeps it)
        result.update(train_seconds=round(gan.seconds, 3), steps_trained=steps_run, warnings=diag.summary())
        _write_atomic(os.path.join(out, "metrics.json"), json.dumps(_json_ready(result), indent=1))
    written = [os.path.join(out, n) for n in ("history.csv", "evals.csv", "checkpoint.npz", "run.json")]
    if result is not None:
        written.append(os.path.join(out, "metrics.json"))
    if not args.no_plots:
        written += draw_figures(gan, out, result, say, diag.as_dict())
    rate = f" ({1000 * seconds / steps_run:.2f} ms/step)" if steps_run else ""
    say(f"trained {steps_run} steps in {seconds:.1f} s{rate}; checkpoint at step {last_ckpt}")
    if gif is not None and anim is not None:
        written.append(gif)
        say(f"animation: {anim.frames} frames, one every {anim.every} steps, drawn in {anim.seconds:.1f} s; "
            f"{os.path.getsize(gif) / 1e6:.1f} MB")
    if diag.warnings:
        say("warnings: " + ", ".join(f"{k} (step {s})" for k, (s, _) in diag.warnings.items()))
    if result is not None:
        print(f"step {gan.step}: {metrics.format_metrics(result)}")
    say("wrote " + ", ".join(written))
    return status
