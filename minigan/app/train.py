"""``minigan train``: train a GAN from the command line and write what it did.

    minigan train                        # the main job: 8 Gaussians on a ring, < 1 min on 2 cores
    minigan train --dataset grid --steps 20000 --seed 3
    minigan train --resume runs/ring-nonsaturating-fresh-seed0/checkpoint.npz
    minigan train --resume runs/ring-nonsaturating-fresh-seed0      # the same: a run folder

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

Exit codes (``minigan.app.exitcodes``, shared by every subcommand): 0 done; 1 training diverged
(the message names the step and the quantity; the last checkpoint, written from a finite state,
is left as it was); 2 bad options, an unreadable checkpoint, or an output folder that holds
another run or is in use by another ``minigan train``; 3 a file could not be written (disk full,
no permission, a read-only folder, a file-size limit: the message names the file; files written
before, the last checkpoint among them, are left as they were); 130 interrupted (Ctrl-C: the run
stops at the next flush and saves a checkpoint to resume from); 143 stopped by SIGTERM (saved
as for Ctrl-C).

A new run never writes into a folder that holds another run: with no ``--out`` it takes the next
free name (``runs/ring-nonsaturating-fresh-seed0-2``, ...) and says so, also when another
``minigan train`` is writing the default folder; an ``--out`` that holds a run is refused unless
``--overwrite`` (with ``--resume``: unless it holds the run being resumed). While a run writes
its folder it holds a lock on it (``.lock``, removed when the run ends, and released by the
system when the process ends, however it ends).

The command reads its options into a ``TrainConfig`` (what is trained) and a
``run.RunSettings`` (how), and calls the run driver ``run.train_in_folder``, which
``minigan sweep`` calls too. The ranges of the options are the rules of those two classes: their
errors come back naming the option (``options.UsageError``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from dataclasses import fields

from .. import checkpoint, losses
from .._checks import check_int
from ..data import DATASETS, ArrayDataset
from ..figures import game
from ..files import FolderInUse, FolderLock, read_json
from ..game_updates import UPDATES
from ..optim import DEFAULT_LR, OPTIMIZERS, SGD_LR_BY_LOSS
from ..penalties import PENALTIES
from ..training import GAN, MODES, TrainConfig
from ..unrolled import MAX_STEPS
from . import exitcodes
from .options import UsageError, blame, integer, integers, memory_bound, number, numbers
from .progress import Progress
from .run import (
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_EVAL_EVERY,
    EVAL_SAMPLES,
    RUN_SETTINGS,
    RunResult,
    RunSettings,
    blas_threads,
    draw_figures,
    read_history_csv,
    recorded_settings,
    segment_ends,
    train_in_folder,
    train_run,
    write_history_csv,
)

# The run driver's names, also here where they were before it had a module of its own.
__all__ = [
    "PROG",
    "CONFIG_DEFAULTS",
    "DEFAULTS",
    "RUN_OPTIONS",
    "OPTION_OF",
    "DEFAULT_LR",
    "UsageError",
    "build_parser",
    "main",
    "DEFAULT_CHECKPOINT_EVERY",
    "DEFAULT_EVAL_EVERY",
    "EVAL_SAMPLES",
    "RUN_SETTINGS",
    "RunResult",
    "RunSettings",
    "Progress",
    "blas_threads",
    "draw_figures",
    "read_history_csv",
    "segment_ends",
    "train_in_folder",
    "train_run",
    "write_history_csv",
]

PROG = "minigan train"

# The defaults of the command are TrainConfig's (tuned for the ring; see the module docstring):
# options left out on the command line take them; with --resume they come from the checkpoint.
CONFIG_DEFAULTS = TrainConfig()
DEFAULTS = {f.name: getattr(CONFIG_DEFAULTS, f.name) for f in fields(TrainConfig)}

# Options that define the game: fixed by the checkpoint when resuming.
RUN_OPTIONS = (
    "dataset",
    "g_loss",
    "mode",
    "k",
    "batch_size",
    "optimizer",
    "d_optimizer",
    "g_lr",
    "d_lr",
    "betas",
    "momentum",
    "g_hidden",
    "d_hidden",
    "noise_dim",
    "real_target",
    "seed",
    "log_every",
    "penalty",
    "gamma",
    "gp_weight",
    "update",
    "consensus_weight",
    "unroll_steps",
    "unroll_constant",
)

# The option of each field of TrainConfig and RunSettings (and of the data set) a command sets.
OPTION_OF = {
    f: "--" + f.replace("_", "-")
    for f in (
        *RUN_OPTIONS,
        "steps",
        "backend",
        "lr_decay",
        "holdout",
        *RUN_SETTINGS,
        "threads",
        "animate_every",
    )
}
OPTION_OF.update({"m": "--batch-size", "lr": "--g-lr/--d-lr", "data_params": "--dataset"})


# --------------------------------------------------------------------------------------
# The options (each type only reads a number: the ranges are TrainConfig's and RunSettings')
# --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        allow_abbrev=False,  # --lr is not --lr-decay: an option is named in full
        prog=PROG,
        usage=f"{PROG} [options]",
        description="Train a GAN with the paper's Algorithm 1 (Goodfellow et al. 2014) and write the "
        "history, a checkpoint, the final metrics and figures. With no options: the 8-Gaussian ring, "
        "under a minute on 2 CPU cores.",
        epilog="Defaults in brackets; every option left out keeps the checkpoint's value with --resume.",
    )
    _game_options(p.add_argument_group("the game"), DEFAULTS)
    _network_options(p.add_argument_group("networks and optimizer"), DEFAULTS)
    _run_options(p.add_argument_group("the run"), DEFAULTS)
    return p


def _game_options(g: argparse._ArgumentGroup, d: dict) -> None:
    g.add_argument("--dataset", choices=DATASETS, help=f"the real data [{d['dataset']}]")
    g.add_argument(
        "--data",
        metavar="FILE[:key]",
        help="train on your own data instead: a .npy, .npz (one array, or FILE:key) or .csv table, "
        "one row a sample; standardized per column unless --raw-scale",
    )
    g.add_argument("--raw-scale", action="store_true", help="with --data: keep the data's own scale")
    g.add_argument(
        "--holdout",
        type=number,
        help="with --data: the fraction of rows kept out of training for the metrics [0.1]",
    )
    g.add_argument(
        "--g-loss",
        choices=tuple(losses.GENERATOR_LOSSES),
        help=f"the generator's loss; the discriminator's is its pair [{d['g_loss']}]",
    )
    g.add_argument(
        "--mode",
        choices=MODES,
        help="generator update: fresh (new z, updated D: the paper), reuse (same G(z), updated D), "
        f"simultaneous (both gradients from one pass) [{d['mode']}]",
    )
    g.add_argument("--k", type=integer, help=f"discriminator steps per generator step [{d['k']}]")
    g.add_argument("--batch-size", "-m", type=integer, help=f"minibatch size m [{d['batch_size']}]")
    g.add_argument(
        "--real-target",
        type=number,
        help="one-sided label smoothing: D's target for real data, 0 < a <= 1 (bce losses only) "
        f"[{d['real_target']:g}]",
    )
    g.add_argument(
        "--penalty",
        choices=("none", *PENALTIES),
        help="a gradient penalty on D: r1 (on real samples), "
        "r2 (on generated ones), gp (WGAN-GP, on interpolates; no weight clipping), none "
        f"[{d['penalty'] or 'none'}]",
    )
    g.add_argument("--gamma", type=number, help=f"R1/R2's weight γ [{d['gamma']:g}]")
    g.add_argument("--gp-weight", type=number, help=f"WGAN-GP's weight λ [{d['gp_weight']:g}]")
    _update_options(g, d)


def _update_options(g: argparse._ArgumentGroup, d: dict) -> None:
    """--update and the settings of its updates (in the group of the game)."""
    g.add_argument(
        "--update",
        choices=UPDATES,
        help="how a step moves the players: plain (Algorithm 1 by --mode and --k), or one of the game's "
        "own optimizers, each moving both players from one state (needs --mode simultaneous, --k 1): "
        "extragradient (two evaluations a step), optimistic (θ − 2δ_t + δ_{t−1}), consensus (also "
        "descends ½‖v‖²) and unrolled (G's gradient through --unroll-steps steps of D's optimizer) "
        f"(both need --penalty none and a smooth loss) [{d['update']}]",
    )
    g.add_argument(
        "--consensus-weight",
        type=number,
        metavar="λ",
        help=f"--update consensus: the weight λ of ½‖v‖² [{d['consensus_weight']:g}]",
    )
    g.add_argument(
        "--unroll-steps",
        type=integer,
        metavar="K",
        help="--update unrolled: the steps of D's optimizer that G's gradient looks through, "
        f"0 to {MAX_STEPS} [{d['unroll_steps']}]",
    )
    g.add_argument(
        "--unroll-constant",
        action="store_true",
        default=None,
        help="--update unrolled: hold D's unrolled parameters constant in G's gradient (the paper's "
        "ablation: no gradient through the steps)",
    )


def _network_options(g: argparse._ArgumentGroup, d: dict) -> None:
    g.add_argument(
        "--g-hidden", type=integers, help=f"generator hidden widths [{','.join(map(str, d['g_hidden']))}]"
    )
    g.add_argument(
        "--d-hidden", type=integers, help=f"discriminator hidden widths [{','.join(map(str, d['d_hidden']))}]"
    )
    g.add_argument("--noise-dim", type=integer, help=f"dimension of z [{d['noise_dim']}]")
    g.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help=f"the generator's, and the discriminator's unless --d-optimizer is given [{d['optimizer']}]",
    )
    g.add_argument("--d-optimizer", choices=OPTIMIZERS, help="the discriminator's optimizer [as --optimizer]")
    sgd = ", ".join(f"{v:g} with {k}" for k, v in SGD_LR_BY_LOSS.items())
    lrs = ", ".join(f"{k} {v:g}" + (f" ({sgd})" if k == "sgd" else "") for k, v in DEFAULT_LR.items())
    g.add_argument("--g-lr", type=number, help=f"generator learning rate [{lrs}]")
    g.add_argument("--d-lr", type=number, help="discriminator learning rate [as --g-lr]")
    g.add_argument("--betas", type=numbers, help=f"Adam's b1,b2 [{','.join(map(str, d['betas']))}]")
    g.add_argument(
        "--momentum", type=number, help=f"SGD's momentum (the paper's optimizer) [{d['momentum']}]"
    )
    g.add_argument(
        "--lr-decay",
        type=number,
        help="learning rates fall linearly to this fraction of their start by the last step; "
        f"1 = constant [{d['lr_decay']:g}]",
    )


def _run_options(g: argparse._ArgumentGroup, d: dict) -> None:
    g.add_argument(
        "--steps",
        type=integer,
        help=f"total number of training steps (with --resume: train on up to this step) [{d['steps']}]",
    )
    g.add_argument("--seed", type=integer, help=f"the random seed of init, noise and data [{d['seed']}]")
    g.add_argument("--backend", help="numpy | strict | strict:<device> | cupy [$MINIGAN_BACKEND or numpy]")
    g.add_argument(
        "--out",
        help="output folder [runs/<dataset>-<g_loss>-<mode>-seed<seed>; "
        "with --resume: the checkpoint's folder]",
    )
    g.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue the run saved in this checkpoint (.npz), or in this run folder's checkpoint.npz",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="let a new run replace the run already in --out (without it, that is refused)",
    )
    g.add_argument(
        "--log-every",
        type=integer,
        help=f"steps between host syncs (history, NaN check, progress) [{d['log_every']}]",
    )
    g.add_argument(
        "--checkpoint-every", type=integer, help=f"steps between checkpoints [{DEFAULT_CHECKPOINT_EVERY}]"
    )
    g.add_argument(
        "--eval-samples", type=integer, help=f"generated samples for the final metrics [{EVAL_SAMPLES}]"
    )
    g.add_argument(
        "--threads",
        type=integer,
        help="threads of numpy's BLAS during training (needs threadpoolctl; the networks are "
        "small, so 1 is fastest, and many times faster on a busy machine) [1]",
    )
    g.add_argument(
        "--eval-every",
        type=integer,
        help="steps between evaluations of the generator during training (modes covered, high-quality "
        f"fraction, sliced W1: evals.csv) and the checks for failure modes [{DEFAULT_EVAL_EVERY}]",
    )
    g.add_argument(
        "--animate",
        action="store_true",
        help="write animation.gif: the game (D over the data, the samples, the force of G's loss on "
        "each) and the losses so far, drawn on the host at synced steps (1-D and 2-D data)",
    )
    g.add_argument(
        "--animate-every",
        type=integer,
        metavar="N",
        help=f"steps between frames of --animate [about steps/{game.MAX_FRAMES}, a multiple of --log-every]",
    )
    g.add_argument("--no-plots", action="store_true", help="do not draw the figures")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no file list")


# --------------------------------------------------------------------------------------
# A new run
# --------------------------------------------------------------------------------------
def _new_run(args: argparse.Namespace) -> tuple[GAN, str]:
    """A fresh GAN from the options (TrainConfig's defaults for those left out) and the folder it
    asks for (the default name when there is no --out: ``_free_folder`` finds the one it gets)."""
    cfg, name = _config_options(args)
    options = {**OPTION_OF, "data": "--data"} if args.data else OPTION_OF
    try:
        check_int("steps", cfg.get("steps", 1))  # a new run trains at least one step
        config = TrainConfig(**cfg)
        _check_memory(config)
        gan = GAN(config)
        rows = gan.data.points.shape[0] if isinstance(gan.data, ArrayDataset) else None
        if (
            rows is not None and rows < config.batch_size
        ):  # say so now (without drawing from the run's stream)
            raise ValueError(f"data: {rows} rows, fewer than the batch of {config.batch_size}")
    except FileNotFoundError as e:
        raise UsageError("--data", str(e).removeprefix("data: ")) from None
    except OSError as e:  # a data file that cannot be read
        raise UsageError("--data", f"cannot read {e.filename or args.data} ({e.strerror or e})") from None
    except (ValueError, TypeError, RuntimeError, ImportError) as e:
        raise _as_options(blame(e, options)) from None
    if args.out is None:
        return gan, os.path.join(
            "runs", f"{name or config.dataset}-{config.g_loss}-{config.mode}-seed{config.seed}"
        )
    if _holds_a_run(args.out) and not args.overwrite:
        raise UsageError(
            "--out",
            f"{args.out} holds another run; continue it with --resume "
            f"{os.path.join(args.out, 'checkpoint.npz')}, replace it with --overwrite, or choose "
            "another --out",
        )
    return gan, args.out


# TrainConfig's defaults named in its messages, as the options that change them
AS_OPTIONS = {
    "(TrainConfig() has mode='fresh' by default)": "(--mode is fresh by default: give --mode simultaneous)",
    "(TrainConfig() has penalty='r1' by default)": "(--penalty is r1 by default: give --penalty none)",
    "g_loss='wasserstein' clips unless penalty='gp'": "--g-loss wasserstein clips unless --penalty gp",
}


def _as_options(e: UsageError) -> UsageError:
    """``e`` with the defaults of TrainConfig its message names said as the command's options."""
    problem = e.problem
    for config_words, option_words in AS_OPTIONS.items():
        problem = problem.replace(config_words, option_words)
    return UsageError(e.option, problem)


def _check_memory(config: TrainConfig) -> None:
    """A batch whose activations (``TrainConfig.activation_bytes``) do not fit in this machine's
    memory bound (``options.memory_bound``) is refused before the first step fails to allocate it."""
    need, bound = config.activation_bytes(), memory_bound()
    if need > bound:
        raise UsageError(
            "--batch-size",
            f"{config.batch_size:,} rows with --noise-dim {config.noise_dim:,} and these widths need about "
            f"{need / 1e9:,.1f} GB of activations a step; this machine takes {bound / 1e9:,.1f} GB (half "
            "its memory): use a smaller --batch-size, --noise-dim or widths",
        )


def _config_options(args: argparse.Namespace) -> tuple[dict, str | None]:
    """The TrainConfig fields the options give, and the name of a --data file (None without)."""
    cfg = {
        name: getattr(args, name)
        for name in (*RUN_OPTIONS, "steps", "lr_decay")
        if getattr(args, name, None) is not None
    }
    if cfg.get("penalty") == "none":
        cfg["penalty"] = None
    cfg["backend"] = args.backend or os.environ.get("MINIGAN_BACKEND") or DEFAULTS["backend"]
    used = {
        args.optimizer or DEFAULTS["optimizer"],
        args.d_optimizer or args.optimizer or DEFAULTS["optimizer"],
    }
    for flag, value, opt in (("--betas", args.betas, "adam"), ("--momentum", args.momentum, "sgd")):
        if value is not None and opt not in used:
            raise UsageError(flag, f"a setting of {opt}, but this run uses {' and '.join(sorted(used))}")
    update = args.update or DEFAULTS["update"]
    for flag, value, owner in (
        ("--consensus-weight", args.consensus_weight, "consensus"),
        ("--unroll-steps", args.unroll_steps, "unrolled"),
        ("--unroll-constant", args.unroll_constant, "unrolled"),
    ):
        if value is not None and update != owner:
            raise UsageError(flag, f"a setting of --update {owner}, but this run has --update {update}")
    if not args.data:
        if args.raw_scale or args.holdout is not None:
            raise UsageError("--raw-scale/--holdout", "they apply to --data only")
        return cfg, None
    if args.dataset:
        raise UsageError("--data", "give either --data or --dataset, not both")
    cfg["dataset"] = "file"
    cfg["data_params"] = _data_params(args)
    _check_data_file(cfg["data_params"]["path"], args.quiet)
    return cfg, os.path.splitext(os.path.basename(cfg["data_params"]["path"]))[0]


def _data_params(args: argparse.Namespace) -> dict:
    """--data FILE[:key], --raw-scale and --holdout as the data_params of a ``file`` data set."""
    path, _, key = args.data.partition(":") if not os.path.exists(args.data) else (args.data, "", "")
    return {
        "path": os.path.abspath(path),
        "key": key or None,
        "standardize": not args.raw_scale,
        "holdout": 0.1 if args.holdout is None else args.holdout,
    }


BIG_DATA_FILE = 10**7  # bytes: a data file this large is said to be read (it takes seconds)


def _check_data_file(path: str, quiet: bool) -> None:
    """--data names a file that can be read (not a folder, not a loop of links); a large one is
    said to be read before the seconds it takes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UsageError("--data", f"no such file: {path}") from None
    except OSError as e:
        raise UsageError("--data", f"cannot read {path} ({e.strerror or e})") from None
    if os.path.isdir(path):
        raise UsageError("--data", f"{path} is a folder; expected a .npy, .npz or .csv file")
    if st.st_size >= BIG_DATA_FILE and not quiet:
        print(f"reading {path} ({st.st_size / 1e6:,.0f} MB) ...", flush=True)


def _holds_a_run(folder: str) -> bool:
    return any(os.path.exists(os.path.join(folder, f)) for f in ("checkpoint.npz", "run.json", "history.csv"))


# --------------------------------------------------------------------------------------
# A resumed run
# --------------------------------------------------------------------------------------
def _checkpoint_file(given: str) -> str:
    """The checkpoint file of ``--resume``: the file given, or ``checkpoint.npz`` in the run folder given."""
    try:
        return checkpoint.checkpoint_file(given)
    except FileNotFoundError:
        raise UsageError("--resume", f"no such checkpoint: {given}") from None
    except OSError as e:  # no permission, a loop of symbolic links, ...
        raise UsageError("--resume", f"cannot read {e.filename or given} ({e.strerror or e})") from None
    except ValueError as e:  # a folder without a checkpoint, a folder named checkpoint.npz
        raise UsageError("--resume", str(e)) from None


def _resumed_run(args: argparse.Namespace) -> tuple[GAN, str]:
    """The GAN of ``--resume`` (a checkpoint file, ``_checkpoint_file``) and its folder; run-defining
    options must agree with its config."""
    try:
        gan = checkpoint.load(args.resume, backend=args.backend)
    except FileNotFoundError:
        raise UsageError("--resume", f"no such checkpoint: {args.resume}") from None
    except OSError as e:
        raise UsageError("--resume", f"cannot read {e.filename or args.resume} ({e.strerror or e})") from None
    except (ValueError, TypeError, RuntimeError, ImportError) as e:
        raise UsageError("--resume", str(e)) from None
    _check_unchanged(args, gan.config)
    if args.steps is not None:
        _check_length(args, gan)
        gan.config.steps = args.steps
    if args.lr_decay is not None:
        gan.config.lr_decay = args.lr_decay
    home = os.path.dirname(os.path.abspath(args.resume))
    out = args.out or home
    if args.out and os.path.abspath(out) != home and _holds_a_run(out) and not args.overwrite:
        held = read_json(os.path.join(out, "run.json")) or {}
        if os.path.abspath(str(held.get("resumed_from"))) != os.path.abspath(args.resume):
            raise UsageError(
                "--out",
                f"{out} holds another run; continue it with --resume "
                f"{os.path.join(out, 'checkpoint.npz')}, replace it with --overwrite, or choose "
                "another --out",
            )
    return gan, out


def _check_unchanged(args: argparse.Namespace, c: TrainConfig) -> None:
    """Each option that defines the game, given again, must be the checkpoint's value."""
    for name in RUN_OPTIONS:
        given = getattr(args, name, None)
        if name == "penalty" and given == "none":
            given = "none" if c.penalty is not None else None  # --penalty none: the same as a run without one
        if given is not None and given != getattr(c, name):
            raise UsageError(
                OPTION_OF[name],
                f"the checkpoint was trained with {name}={getattr(c, name)!r}; "
                "it cannot change on --resume (start a new run instead)",
            )
    if args.data or args.raw_scale or args.holdout is not None:
        held = c.data_params if c.dataset == "file" else {}
        given = (
            _data_params(args)
            if args.data
            else {
                **held,
                "standardize": not args.raw_scale,
                **({} if args.holdout is None else {"holdout": args.holdout}),
            }
        )
        if given != {k: held.get(k) for k in given}:
            flag = "--data" if args.data else "--raw-scale/--holdout"
            trained = f"the data {held}" if held else f"dataset={c.dataset!r}"
            raise UsageError(
                flag,
                f"the checkpoint was trained on {trained}; it cannot change on --resume "
                "(start a new run instead)",
            )


def _check_length(args: argparse.Namespace, gan: GAN) -> None:
    """--steps on --resume: at least the checkpoint's step, and no other length of a decaying schedule."""
    c = gan.config
    if args.steps < gan.step:
        raise UsageError(
            "--steps", f"the checkpoint is already at step {gan.step}; ask for at least that many"
        )
    decay = c.lr_decay if args.lr_decay is None else args.lr_decay
    if args.steps != c.steps and decay != 1.0:
        # the learning rates fall linearly to lr_decay at step ``steps``: another length is another
        # schedule, so the extended run would not be the run it claims to be
        raise UsageError(
            "--steps",
            f"this run's learning rates fall to {decay:g}x by step {c.steps} (--lr-decay), "
            f"so {args.steps} steps would be another schedule; resume without --steps, or start a "
            "new run of that length",
        )


def _run_settings(args: argparse.Namespace, argv: list[str]) -> RunSettings:
    """How the run is run, from the options; on --resume each of RUN_SETTINGS not given takes the value
    the run was started with (its run.json), so it checkpoints and evaluates as an uninterrupted one."""
    recorded = recorded_settings(os.path.dirname(os.path.abspath(args.resume))) if args.resume else {}
    given = {
        name: getattr(args, name)
        for name in (*RUN_SETTINGS, "threads", "animate_every")
        if getattr(args, name) is not None
    }
    try:
        return RunSettings(
            **{**recorded, **given},
            animate=args.animate,
            plots=not args.no_plots,
            quiet=args.quiet,
            command="minigan train " + shlex.join(argv),
            resumed_from=args.resume,
        )
    except ValueError as e:
        raise blame(e, OPTION_OF) from None


# --------------------------------------------------------------------------------------
# The folder
# --------------------------------------------------------------------------------------
def _lock(out: str) -> FolderLock:
    """``out``, created and locked; refused while another minigan train writes it."""
    os.makedirs(out, exist_ok=True)
    try:
        return FolderLock(out)
    except FolderInUse as e:
        who = f" ({e.holder})" if e.holder else ""
        raise UsageError(
            "--out",
            f"{out} is being written by another minigan train{who}; wait for it, or choose another --out",
        ) from None


def _free_folder(base: str, quiet: bool) -> tuple[str, FolderLock]:
    """The default folder of a new run, created and locked; when it holds another run, or another
    minigan train is writing it, the next free name (``base-2``, ``base-3``, ...), said so."""
    out, i, why = base, 2, ""
    while True:
        if not _holds_a_run(out):
            os.makedirs(out, exist_ok=True)
            try:
                lock = FolderLock(out)
            except FolderInUse:
                why = why or "is being written by another minigan train"
            else:
                if not _holds_a_run(out):  # (not finished by another run while this one looked)
                    if out != base and not quiet:
                        print(f"{base} {why}: this one goes to {out}")
                    return out, lock
                lock.release()
        why = why or "holds another run"
        out, i = f"{base}-{i}", i + 1


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``minigan train``: exit codes in the module docstring."""
    try:
        return _main(argv)
    except BrokenPipeError:  # stdout's reader stopped reading: the dispatcher ends quietly
        raise
    except OSError as e:  # disk full, no permission, a read-only folder, a file-size limit, ...
        what = e.filename or "an output file"
        print(
            f"{PROG}: error: cannot write {what}: {e.strerror or e}; files written before "
            "(the last checkpoint among them) are as they were",
            file=sys.stderr,
        )
        return exitcodes.WRITE_ERROR


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a bad option (2, message printed)
        return int(e.code or exitcodes.OK)
    try:
        if args.resume:
            args.resume = _checkpoint_file(args.resume)
        settings = _run_settings(args, argv)
        gan, out = _resumed_run(args) if args.resume else _new_run(args)
        if args.out is None and args.resume is None:
            out, lock = _free_folder(out, args.quiet)
        else:
            lock = _lock(out)
    except UsageError as e:
        print(f"{PROG}: error: {e}\n(minigan train --help lists the options)", file=sys.stderr)
        return exitcodes.USAGE
    with lock:
        try:
            result = train_in_folder(gan, out, settings)
        except KeyboardInterrupt:  # a second Ctrl-C
            print(
                f"{PROG}: aborted at step {gan.step}; nothing saved since the last checkpoint",
                file=sys.stderr,
            )
            return exitcodes.INTERRUPTED
    return _report(result, settings)


def _report(result: RunResult, settings: RunSettings) -> int:
    """The line of a run that diverged or was stopped early, and the exit code of any run."""
    e = result.error
    if e is not None:
        if e.last_checkpoint is not None:
            where = f"the last good checkpoint (step {e.last_checkpoint}) is intact: {result.checkpoint}"
        elif settings.resumed_from:
            where = f"the checkpoint it resumed from is intact: {settings.resumed_from}"
        else:
            where = "no checkpoint was written before it"
        print(f"{PROG}: error: {e}; {where}", file=sys.stderr)
        return exitcodes.FAILED
    if result.stopped_by is not None:
        what = "terminated" if result.stopped_by == signal.SIGTERM else "interrupted"
        resume = f"minigan train --resume {result.checkpoint}"
        print(f"{PROG}: {what} at step {result.step}; resume with: {resume}", file=sys.stderr)
        return exitcodes.TERMINATED if result.stopped_by == signal.SIGTERM else exitcodes.INTERRUPTED
    return exitcodes.OK
