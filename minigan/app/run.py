"""The run driver: train a GAN in a run folder and write what it did. The one body of
``minigan train`` and of every point of ``minigan sweep``.

    gan = GAN(TrainConfig(steps=2000))
    with files.FolderLock("runs/mine"):
        result = train_in_folder(gan, "runs/mine", RunSettings(checkpoint_every=500, quiet=True))
    result.status, result.step, result.metrics, result.error

The folder (created and locked by the caller, who decides whether it may be written) gets the
files of ``minigan train`` (see ``minigan.app.train``): history.csv, checkpoint.npz (every
``checkpoint_every`` steps and at the end, only from finite states), evals.csv (with each
checkpoint), run.json (with the first checkpoint), metrics.json, the figures and, with
``animate``, animation.gif. Every file is written through ``files.atomic_write``: a write that
fails leaves the file before it whole, and the OSError names the file.

The final metrics (``final_metrics``) score ``eval_samples`` samples of seed ``TRAINING_SEED``;
a data file of more than ``REFERENCE_ROWS`` held-out rows is scored against a seeded subsample of
them (the energy distance takes time and memory quadratic in the rows: a 2M-row file's 200,000
held-out rows took minutes and gigabytes), which metrics.json records (``reference_subsample``)
and the run's lines say.

Settings are typed and checked (``RunSettings``); what happened comes back as a ``RunResult``:
a run that diverges returns its ``DivergenceError`` (step, quantity, value, last checkpoint), one
stopped by Ctrl-C or SIGTERM saves the state reached and says which signal stopped it; a second
Ctrl-C raises KeyboardInterrupt (nothing saved since the last checkpoint).
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import checkpoint, metrics
from .._checks import check_int, is_int
from ..engine import keep_freed_memory
from ..figures import game, plots
from ..files import atomic_write, json_ready, read_json, remove_temporaries, write_json
from ..training import GAN, HISTORY, DivergenceError, TrainConfig
from . import diagnostics, exitcodes
from .progress import Progress

DEFAULT_CHECKPOINT_EVERY = 1000
DEFAULT_EVAL_EVERY = 500  # steps between the diagnostics' evaluations (diagnostics.Diagnostics)
EVAL_SAMPLES = 2500  # PacGAN's number of samples for the mode metrics (Lin et al. 2018)
LIMITS = {"eval_samples": 10**7, "threads": 1024}  # beyond these, numbers are typos
RUN_SETTINGS = ("checkpoint_every", "eval_every", "eval_samples")  # kept in run.json under "run"
RUN_FILES = ("checkpoint.npz", "history.csv", "run.json", "evals.csv", "metrics.json")
TRAINING_SEED = 12345  # the seed of the final metrics' samples (metrics.evaluate's default)
REFERENCE_ROWS = 10_000  # held-out rows beyond which the final metrics score a seeded subsample


def _count(name: str, v: Any, low: int) -> int:
    v = check_int(name, v, low)
    if v > LIMITS[name]:
        raise ValueError(f"{name}: {v} is more than minigan takes (at most {LIMITS[name]:,})")
    return v


@dataclass
class RunSettings:
    """How a run is run (what it trains is its ``TrainConfig``); each field is checked on creation,
    a bad one a ValueError ``"<field>: expected ..."``.

    checkpoint_every  steps between checkpoints [1000]
    eval_every        steps between the diagnostics' evaluations (evals.csv) [500]
    eval_samples      generated samples for the final metrics, 2 to 10^7 [2500]
    threads           numpy's BLAS threads while training (threadpoolctl), 1 to 1024 [1]
    animate           write animation.gif (1-D and 2-D data)
    animate_every     steps between its frames; None: about steps / game.MAX_FRAMES (needs animate)
    plots             draw losses.png, samples.png and game.png
    quiet             no progress bar and no notes
    command           the command recorded in run.json
    resumed_from      the checkpoint this run continues (recorded in run.json); None: a new run
    """

    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    eval_every: int = DEFAULT_EVAL_EVERY
    eval_samples: int = EVAL_SAMPLES
    threads: int = 1
    animate: bool = False
    animate_every: int | None = None
    plots: bool = True
    quiet: bool = False
    command: str = ""
    resumed_from: str | None = None

    def __post_init__(self) -> None:
        self.checkpoint_every = check_int("checkpoint_every", self.checkpoint_every)
        self.eval_every = check_int("eval_every", self.eval_every)
        self.eval_samples = _count("eval_samples", self.eval_samples, 2)
        self.threads = _count("threads", self.threads, 1)
        for name in ("animate", "plots", "quiet"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")
        if self.animate_every is not None:
            self.animate_every = check_int("animate_every", self.animate_every)
            if not self.animate:
                raise ValueError(
                    "animate_every: it spaces the frames of the animation, which is not asked for"
                )
        if not isinstance(self.command, str):
            raise ValueError(f"command: expected a string, got {self.command!r}")
        if self.resumed_from is not None:
            self.resumed_from = os.fspath(self.resumed_from)

    def record(self) -> dict[str, int]:
        """What run.json keeps under "run": a resumed run takes them back (``recorded_settings``)."""
        return {name: getattr(self, name) for name in RUN_SETTINGS}


def recorded_settings(folder: str | os.PathLike[str]) -> dict[str, int]:
    """The ``RUN_SETTINGS`` the run in ``folder`` was started with (its run.json), each one that a
    ``RunSettings`` takes; {} without a record (or an older one)."""
    run = (read_json(os.path.join(folder, "run.json")) or {}).get("run")
    if not isinstance(run, dict):
        return {}
    low = {"eval_samples": 2}
    return {k: int(run[k]) for k in RUN_SETTINGS if is_int(run.get(k)) and run[k] >= low.get(k, 1)}


@dataclass
class RunResult:
    """What ``train_in_folder`` did.

    status           exitcodes.OK (trained to the last step), FAILED (diverged: ``error``) or
                     INTERRUPTED (stopped early by the signal ``stopped_by``, the state reached saved)
    step             the step reached
    checkpoint       the checkpoint's path; ``last_checkpoint``: the step of the last one this call
                     wrote (None: none, e.g. it diverged before its first)
    metrics          what metrics.json holds (None unless the run trained to its last step)
    error            the ``training.DivergenceError`` (None unless FAILED)
    warnings         the diagnostics' warnings (``Diagnostics.summary()``)
    written          the files written; ``seconds``, ``steps_trained``: this call's training
    """

    status: int
    step: int
    checkpoint: str
    last_checkpoint: int | None = None
    metrics: dict[str, Any] | None = None
    error: DivergenceError | None = None
    stopped_by: int | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    seconds: float = 0.0
    steps_trained: int = 0


def train_in_folder(
    gan: GAN,
    folder: str | os.PathLike[str],
    settings: RunSettings | None = None,
    say: Callable[[str], Any] | None = None,
) -> RunResult:
    """Train ``gan`` (a new run, or one loaded from ``settings.resumed_from``) up to step
    ``gan.config.steps`` in ``folder``, created and locked by the caller, and write its files.

    ``say``: where the run's lines go (notes, the diagnostics' warnings, the final metrics); None:
    the terminal (notes on stdout unless ``settings.quiet``, warnings on stderr above the progress
    bar, the metrics on stdout). Returns a RunResult; a file that cannot be written raises OSError
    (naming it), a second Ctrl-C KeyboardInterrupt.
    """
    if not isinstance(gan, GAN):
        raise TypeError(f"gan: expected a GAN, got {type(gan).__name__}")
    if settings is None:
        settings = RunSettings()
    if not isinstance(settings, RunSettings):
        raise TypeError(f"settings: expected a RunSettings, got {type(settings).__name__}")
    return _Driver(gan, os.fspath(folder), settings, say).run()


class _Driver:
    """One call of ``train_in_folder``: the run's watchers, its record and its lines."""

    def __init__(
        self, gan: GAN, folder: str, settings: RunSettings, say: Callable[[str], Any] | None
    ) -> None:
        self.gan, self.folder, self.settings, self.say = gan, folder, settings, say
        self.total = gan.config.steps
        self.ckpt = os.path.join(folder, "checkpoint.npz")
        self.record = {
            "command": settings.command,
            "config": gan.config.to_dict(),
            "run": settings.record(),
            "resumed_from": settings.resumed_from,
            "resumed_at_step": gan.step if settings.resumed_from else None,
        }
        self.recorded = False
        self.progress: Progress | None = None

    # -- the lines of the run ---------------------------------------------------------------
    def note(self, msg: str) -> None:
        if self.say is not None:
            self.say(msg)
        elif not self.settings.quiet:
            print(msg)

    def warn(self, msg: str) -> None:
        if self.say is not None:
            self.say(msg)
        elif self.progress is not None:
            self.progress.write(msg)
        else:
            print(msg, file=sys.stderr)

    def _result_line(self, msg: str) -> None:
        """The run's final metrics: shown even when quiet."""
        if self.say is not None:
            self.say(msg)
        else:
            print(msg)

    def path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        gan, s, c = self.gan, self.settings, self.gan.config
        remove_temporaries(self.folder, RUN_FILES)  # left by a run killed mid-write: the files are whole
        decay = "" if c.lr_decay == 1.0 else f", learning rates decaying linearly to {c.lr_decay:g}x"
        self.note(
            f"{_title(c)}: steps {gan.step}..{self.total} on {gan.backend.spec}{decay} -> {self.folder}"
        )
        limit = blas_threads(s.threads)
        keep_freed_memory()  # no page faults to get each step's arrays back (engine.keep_freed_memory)
        if limit is None and not any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")):
            self.note(
                "note: threadpoolctl is not installed, so numpy's BLAS uses all cores; on a busy machine "
                "OPENBLAS_NUM_THREADS=1 is much faster for these small networks "
                "(or: pip install threadpoolctl)"
            )
        self.progress = Progress(self.total, gan.step, quiet=s.quiet, desc="training")
        self.diag, self.anim = self._watchers()
        t0, step0 = time.perf_counter(), gan.step
        try:
            # overflow on the way to NaN is expected there: the history check reports it
            with StopFlag() as stop, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                if self.anim is not None and gan.step < self.total:
                    self.anim.add_frame(gan)  # the game where this run starts
                last = train_run(
                    gan,
                    self.total,
                    self.ckpt,
                    s.checkpoint_every,
                    self.progress,
                    stop,
                    [w for w in (self.diag, self.anim) if w is not None],
                    self._on_checkpoint,
                )
        except DivergenceError as e:
            self.progress.close()
            return self._diverged(e)
        finally:
            self.progress.close()
            if limit is not None:
                limit.restore_original_limits()
        return self._finished(
            last, stop.signal if gan.step < self.total else None, time.perf_counter() - t0, gan.step - step0
        )

    def _watchers(self) -> tuple[diagnostics.Diagnostics, game.Animation | None]:
        """The diagnostics (always; a resumed run takes back its evals.csv) and, with ``animate``,
        the animation (None without it, for data that is not 1-D or 2-D, or without matplotlib)."""
        gan, s = self.gan, self.settings
        diag = diagnostics.Diagnostics(gan, s.eval_every, say=self.warn)
        if s.resumed_from and os.path.exists(self.path("evals.csv")):
            try:
                ends = segment_ends(gan.step, gan.config.log_every, s.checkpoint_every)
                diag.read_csv(self.path("evals.csv"), upto=gan.step, history=gan.history, ends=ends)
            except ValueError as e:
                self.note(f"note: {e}; the evaluations start again")
        if not s.animate:
            return diag, None
        if gan.data.dim not in (1, 2) or not plots.available():
            why = (
                f"{gan.data.dim}-D data has no game figure"
                if gan.data.dim not in (1, 2)
                else f"matplotlib is not installed ({plots.INSTALL_HINT})"
            )
            self.note(f"note: --animate: {why}; no animation")
            return diag, None
        every = s.animate_every or game.frame_interval(self.total - gan.step, gan.config.log_every)
        return diag, game.Animation(self.path("animation.gif"), every, self.total, title=_title(gan.config))

    def _write_record(self) -> None:
        """run.json, written with this run's first checkpoint (or its end), atomically: a run that
        fails before it has changed nothing leaves the folder's run.json as it was."""
        if not self.recorded:
            write_json(self.path("run.json"), self.record)
            self.recorded = True

    def _on_checkpoint(self) -> None:
        """After each checkpoint: run.json (once) and evals.csv up to the checkpoint's step, so a
        run killed where it cannot write anything (kill -9, a dead sweep worker) keeps every
        evaluation its checkpoint covers, and a resumed run takes them back."""
        self._write_record()
        self.diag.write_csv(self.path("evals.csv"))

    def _write_logs(self) -> list[str]:
        self._write_record()
        write_history_csv(self.gan.history, self.path("history.csv"))
        self.diag.write_csv(self.path("evals.csv"))
        return [self.path(n) for n in ("history.csv", "evals.csv", "checkpoint.npz", "run.json")]

    def _diverged(self, e: DivergenceError) -> RunResult:
        """The history up to the divergence, evals.csv and the loss figure; the checkpoint stays the
        last finite one."""
        written = self._write_logs()
        if self.anim is not None:
            self.anim.close()
        if self.settings.plots and self.gan.history:
            written += draw_figures(self.gan, self.folder, None, self.note, self.diag.as_dict())
        return RunResult(
            exitcodes.FAILED,
            self.gan.step,
            self.ckpt,
            e.last_checkpoint,
            error=e,
            warnings=self.diag.summary(),
            written=written,
        )

    def _finished(
        self, last: int | None, stopped_by: int | None, seconds: float, steps_run: int
    ) -> RunResult:
        """The files of a run that trained to its last step, or was stopped early (no metrics)."""
        gan = self.gan
        written = self._write_logs()
        gif = self.anim.close() if self.anim is not None else None
        result = None
        if stopped_by is None:
            result = final_metrics(gan, self.settings.eval_samples, say=self.note)
            # train_seconds: the whole run's training time, every resume included (the checkpoint keeps it)
            result.update(
                train_seconds=round(gan.seconds, 3), steps_trained=steps_run, warnings=self.diag.summary()
            )
            written.append(write_json(self.path("metrics.json"), result))
        if self.settings.plots:
            written += draw_figures(gan, self.folder, result, self.note, self.diag.as_dict())
        rate = f" ({1000 * seconds / steps_run:.2f} ms/step)" if steps_run else ""
        self.note(f"trained {steps_run} steps in {seconds:.1f} s{rate}; checkpoint at step {last}")
        if gif is not None and self.anim is not None:
            written.append(gif)
            self.note(
                f"animation: {self.anim.frames} frames, one every {self.anim.every} steps, drawn in "
                f"{self.anim.seconds:.1f} s; {os.path.getsize(gif) / 1e6:.1f} MB"
            )
        if self.diag.warnings:
            self.note("warnings: " + ", ".join(f"{k} (step {s})" for k, (s, _) in self.diag.warnings.items()))
        if result is not None:
            self._result_line(f"step {gan.step}: {metrics.format_metrics(result)}")
        self.note("wrote " + ", ".join(written))
        status = exitcodes.OK if stopped_by is None else exitcodes.INTERRUPTED
        return RunResult(
            status,
            gan.step,
            self.ckpt,
            last,
            None if result is None else json_ready(result),
            stopped_by=stopped_by,
            warnings=self.diag.summary(),
            written=written,
            seconds=seconds,
            steps_trained=steps_run,
        )


# --------------------------------------------------------------------------------------
# The final metrics
# --------------------------------------------------------------------------------------
class _Subsampled:
    """A data set whose held-out rows are a subsample of its own (everything else is the data set's)."""

    def __init__(self, data: Any, held_out: np.ndarray) -> None:
        self._data, self.held_out = data, held_out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._data, name)


class _Scored:
    """What ``metrics.evaluate`` scores: the samples of ``gan`` against ``data``."""

    def __init__(self, gan: Any, data: Any) -> None:
        self._gan, self.data, self.step = gan, data, gan.step

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        return self._gan.sample(n, seed=seed)


def final_metrics(
    gan: Any, n: int, seed: int = TRAINING_SEED, say: Callable[[str], Any] | None = None
) -> dict[str, Any]:
    """``metrics.evaluate(gan, n, seed)`` (``gan``: a GAN or a ``SavedGAN``), against at most
    REFERENCE_ROWS of a data file's held-out rows: more are subsampled (seeded with ``seed``, without
    replacement), said through ``say`` and recorded as ``reference_subsample`` {rows, held_out, seed}."""
    held = getattr(gan.data, "held_out", None)
    if held is None or len(held) <= REFERENCE_ROWS:
        return metrics.evaluate(gan, n=n, seed=seed)
    pick = np.sort(np.random.default_rng(seed).choice(len(held), REFERENCE_ROWS, replace=False))
    if say is not None:
        say(
            f"scoring {n:,} samples against {REFERENCE_ROWS:,} of the {len(held):,} held-out rows "
            "(a seeded subsample: the energy distance grows with the square of the rows)"
        )
    result = metrics.evaluate(_Scored(gan, _Subsampled(gan.data, held[pick])), n=n, seed=seed)
    result["reference_subsample"] = {"rows": REFERENCE_ROWS, "held_out": len(held), "seed": seed}
    return result


# --------------------------------------------------------------------------------------
# The training loop
# --------------------------------------------------------------------------------------
def segment_ends(step: int, log_every: int, ckpt_every: int) -> list[int]:
    """The steps up to ``step`` after which ``train_run`` calls its watchers when it runs from 0
    to at least ``step``: every multiple of ``log_every`` and of ``ckpt_every``, and ``step``."""
    ends = set(range(log_every, step + 1, log_every)) | set(range(ckpt_every, step + 1, ckpt_every))
    return sorted(ends | {step}) if step > 0 else []


def save_finite(gan: GAN, path: str) -> None:
    """``checkpoint.save``, with a non-finite state reported as a DivergenceError naming the entry."""
    try:
        checkpoint.save(gan, path)
    except checkpoint.NotFiniteState as e:
        raise DivergenceError(gan.step, e.key) from None


def train_run(
    gan: GAN,
    total: int,
    ckpt_path: str,
    ckpt_every: int,
    progress: Progress | None = None,
    stop: StopFlag | None = None,
    watchers: Iterable[Callable[[GAN], Any]] = (),
    on_save: Callable[[], Any] | None = None,
    save: Callable[[GAN, str], Any] = save_finite,
) -> int | None:
    """Train ``gan`` up to step ``total`` in segments that end at every multiple of ``log_every``
    (where the learning-rate schedule of TrainConfig.lr_decay moves, so a resumed run matches an
    uninterrupted one) and of ``ckpt_every``. A checkpoint is written (``save(gan, ckpt_path)``)
    at each multiple of ``ckpt_every`` and at the end; ``save_finite`` flushes first and refuses
    non-finite states, so a checkpoint always holds a finite state.

    After each segment (the history synced to the host) each of ``watchers`` is called with
    the GAN: the diagnostics and the animation, which so never act inside the step loop.
    ``on_save()`` is called after each checkpoint is written.

    Returns the step of the last checkpoint written (None if none). Raises DivergenceError
    (with the last checkpoint's step in ``.last_checkpoint``); stops early, saving, when
    ``stop.stop`` is set.
    """
    le = gan.config.log_every
    last_ckpt = None

    def checkpoint_now() -> None:
        nonlocal last_ckpt
        save(gan, ckpt_path)
        last_ckpt = gan.step
        if on_save is not None:
            on_save()

    try:
        while gan.step < total and not (stop is not None and stop.stop):
            # up to the next multiple of log_every (where the schedule moves) or of ckpt_every (a
            # checkpoint), whichever comes first: checkpoints land when asked, not at their lcm
            n = min((gan.step // le + 1) * le, (gan.step // ckpt_every + 1) * ckpt_every, total) - gan.step
            before = len(gan.history)
            gan.train(n)  # ends with a flush: DivergenceError names the step and quantity
            if progress is not None:
                progress.update(n, _loss_means(gan.history[before:]))
            for watch in watchers:
                watch(gan)
            if gan.step % ckpt_every == 0 or gan.step == total:
                checkpoint_now()
        if last_ckpt != gan.step:  # stopped early: keep the state reached
            checkpoint_now()
    except DivergenceError as e:
        e.last_checkpoint = last_ckpt
        raise
    return last_ckpt


def _loss_means(rows: Any) -> dict[str, float] | None:
    """The means of a segment's losses and D's outputs, for the progress bar (None: no rows)."""
    r = np.asarray(rows, dtype=np.float64).reshape(-1, len(HISTORY))
    if r.shape[0] == 0:
        return None
    m = dict(zip(HISTORY, r.mean(axis=0)))
    return {"L_D": m["L_D"], "L_G": m["L_G"], "D(x)": m["D_real"], "D(G(z))": m["D_fake"]}


class StopFlag:
    """The first Ctrl-C (SIGINT) or SIGTERM asks the loop to stop at the next flush and save;
    a second Ctrl-C aborts (KeyboardInterrupt). ``signal``: the signal that asked (None: none).
    Outside the main thread (a sweep's worker) it leaves the signals alone."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal: int | None = None
        self.old: dict[int, Any] = {}

    @property
    def stop(self) -> bool:
        return self.signal is not None

    def __enter__(self) -> StopFlag:
        for s in self.SIGNALS:
            try:
                self.old[s] = signal.signal(s, self._handle)
            except ValueError:  # not the main thread
                break
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = self.signal or signum

    def __exit__(self, *exc: object) -> Literal[False]:
        for s, old in self.old.items():
            signal.signal(s, old)
        return False


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


# --------------------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------------------
def write_history_csv(history: Any, path: str | os.PathLike[str]) -> str:
    """history (steps, len(HISTORY)) -> CSV with the header ``step,<HISTORY>``, steps from 1."""
    h = np.asarray(history, dtype=np.float64).reshape(-1, len(HISTORY))
    table = np.concatenate([np.arange(1, h.shape[0] + 1, dtype=np.float64)[:, None], h], axis=1)
    text = io.StringIO()
    np.savetxt(
        text,
        table,
        fmt=["%d"] + ["%.9g"] * len(HISTORY),
        delimiter=",",
        header=",".join(("step", *HISTORY)),
        comments="",
    )
    return atomic_write(path, text.getvalue())


def read_history_csv(path: str | os.PathLike[str]) -> np.ndarray:
    """The (steps, len(HISTORY)) array written by ``write_history_csv`` (step column dropped)."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    if header != ["step", *HISTORY]:
        raise ValueError(f"{path}: expected the header step,{','.join(HISTORY)}, got {','.join(header)}")
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, 1:]


def _title(c: TrainConfig) -> str:
    return f"{c.dataset} · {c.g_loss} · {c.mode} · k={c.k} · m={c.batch_size} · seed {c.seed}"


def draw_figures(
    gan: GAN,
    out: str,
    result: dict[str, Any] | None,
    say: Callable[[str], Any],
    evals: dict[str, Any] | None = None,
) -> list[str]:
    """losses.png (with ``evals``, the diagnostics' metrics over time), and samples.png and
    game.png when the run finished (``result``: its metrics); [] with a note if matplotlib is missing."""
    if not plots.available():
        say(f"matplotlib is not installed: no figures ({plots.INSTALL_HINT})")
        return []
    c = gan.config
    paths = [
        plots.loss_curves(
            gan.history_array(),
            os.path.join(out, "losses.png"),
            g_loss=c.g_loss,
            title=_title(c),
            evals=evals,
        )
    ]
    if result is not None:
        paths.append(_samples_figure(gan, out, result))
        if gan.data.dim in (1, 2):
            paths.append(game.game_figure(gan, os.path.join(out, "game.png"), title=_title(c)))
    return paths


def _samples_figure(gan: GAN, out: str, result: dict[str, Any]) -> str:
    """samples.png: the samples ``metrics.evaluate`` scored (same seed) over the data."""
    n, seed = result.get("n", EVAL_SAMPLES), TRAINING_SEED
    fake = gan.sample(n, seed=seed)
    real = gan.data.reference(n, seed=seed + 1)
    density = None
    if gan.data.dim == 1 and hasattr(gan.data, "density"):
        xs = np.linspace(min(real.min(), fake.min()), max(real.max(), fake.max()), 400)
        density = (xs, gan.data.density(xs))
    title = f"step {gan.step}: {metrics.format_metrics(result)}"
    d = gan.data.dim
    if d > 2 and int(round(d**0.5)) ** 2 != d:  # not an image: the first two columns
        real, fake, title = real[:, :2], fake[:, :2], title + " (columns 1 and 2)"
    means = getattr(gan.data, "means", None) if d == 2 else None
    return plots.samples(
        real,
        fake,
        os.path.join(out, "samples.png"),
        means=means,
        std=getattr(gan.data, "std", None),
        density=density,
        title=title,
    )
