"""Diagnostics while a GAN trains: sample quality over time, and warnings for the failure modes.

``Diagnostics`` is called after each synced segment of a run (``GAN.train(callback=...)`` or
the loop of ``minigan train``). It reads the history rows the segment added and, every
``every`` steps, evaluates the generator:

- on 2-D mixtures (the ring, the grid): PacGAN's modes covered and high-quality fraction
  (``metrics.mixture_metrics``), and always the sliced Wasserstein-1 distance to the data
  (``metrics.sliced_wasserstein1``), on ``n`` samples drawn with fixed seeds — never from the
  run's random stream, so diagnosing a run does not change it.

The rows (``step`` + ``columns``) go to ``evals.csv`` and the loss figure. Each warning is
printed once, with the step where it first holds:

``saturation``  D wins and G's gradient vanishes: under the minimax loss, a segment with mean
                L_D < 0.1 and mean D(G(z)) < 0.05. There ∂L_G/∂l_f = −D(G(z)) → 0
                (docs/MATH.md §3): the saturation the non-saturating loss was made to avoid.
``mode_drop``   modes dropping: the modes covered stay below their peak at two evaluations in
                a row (one low evaluation can be sampling noise).
``exploding``   gradient norms exploding: a segment's largest ‖∇θg L_G‖ or ‖∇θd L_D‖ is more
                than 100 times that norm's median over the run before it.
``d_stalled``   D has stopped learning: at two evaluations in a row, mean D(x) and D(G(z)) both
                within 0.05 of ½ while the samples are still far from the data: their sliced W1
                distance has not closed half the gap from the data's *spread* (the distance from
                the reference to a point mass at its mean) down to its *floor* (the distance from
                the reference to the rows G learns from, drawn alike: what p_g = p_data scores;
                large for a small held-out set). D ≈ ½ without p_g ≈ p_data, and staying so.
"""

from __future__ import annotations

import heapq
import io
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import metrics
from .._checks import check_int
from ..files import atomic_write
from ..training import GAN, HISTORY

WARNINGS = ("saturation", "mode_drop", "exploding", "d_stalled")
EVAL_SAMPLES = 1000
SEED = 777  # the evaluation's own noise and reference data

SATURATED_L_D, SATURATED_D_FAKE = 0.1, 0.05
EXPLODING_FACTOR = 100.0
STALLED_D, STALLED_DISTANCE = 0.05, 0.5


class _RunningMedian:
    """The median of every number added so far, as ``np.median`` gives it (the mean of the two
    middle ones for an even count), in O(log n) a number: the lower half in a max-heap, the upper
    half in a min-heap, their sizes equal or the lower one larger by one."""

    def __init__(self, values: Any = ()) -> None:
        v = sorted(float(x) for x in np.asarray(values, dtype=np.float64).ravel())
        k = (len(v) + 1) // 2
        self.lo = [-x for x in v[:k]]  # negated: heapq's min-heap as a max-heap
        self.hi = v[k:]
        heapq.heapify(self.lo)
        heapq.heapify(self.hi)

    def __len__(self) -> int:
        return len(self.lo) + len(self.hi)

    def add(self, values: Any) -> None:
        for x in np.asarray(values, dtype=np.float64).ravel().tolist():
            if self.lo and x > -self.lo[0]:
                heapq.heappush(self.hi, x)
            else:
                heapq.heappush(self.lo, -x)
            if len(self.lo) > len(self.hi) + 1:
                heapq.heappush(self.hi, -heapq.heappop(self.lo))
            elif len(self.hi) > len(self.lo):
                heapq.heappush(self.lo, -heapq.heappop(self.hi))

    def median(self) -> float:
        if len(self.lo) > len(self.hi):
            return -self.lo[0]
        return (-self.lo[0] + self.hi[0]) / 2


class Diagnostics:
    """Metrics every ``every`` steps and the four warnings of the module docstring.

    ``diag(gan)`` after each flush of the run's history; ``diag.rows``: one list
    [step, *columns] per evaluation; ``diag.warnings``: name -> (step, message), in the order
    they fired. ``say(message)`` prints a warning (default: to stderr).
    """

    data: Any  # the run's data.Dataset (a mixture's has means and std)

    def __init__(
        self, gan: GAN, every: int, n: int = EVAL_SAMPLES, say: Callable[[str], Any] | None = None
    ) -> None:
        self.every, self.n = check_int("every", every), check_int("n", n, 2)
        data = gan.data
        self.mixture = data.dim == 2 and getattr(data, "means", None) is not None
        self.columns = ("modes_covered", "high_quality", "sliced_w1") if self.mixture else ("sliced_w1",)
        self.data = data  # distances on the scale the networks see (a standardized file: columns alike)
        self.reference = data.encode(data.reference(n, seed=SEED + 1).astype(np.float64))
        centre = np.broadcast_to(self.reference.mean(axis=0), self.reference.shape)
        self.spread = metrics.sliced_wasserstein1(self.reference, centre, seed=SEED)
        own = data.encode(_training_draws(data, n, seed=SEED + 2))
        self.floor = metrics.sliced_wasserstein1(self.reference, own, seed=SEED)
        self._stalled_since: int | None = None  # the first evaluation of the current run of d_stalled ones
        self.g_loss = gan.config.g_loss
        self.rows: list[list[float]] = []
        self.warnings: dict[str, tuple[int, str]] = {}
        self.seen = len(gan.history)  # history rows already looked at
        self._norms = self._norm_medians(np.asarray(gan.history, dtype=np.float64).reshape(-1, len(HISTORY)))
        self.say = say if say is not None else _stderr

    # -- one evaluation ---------------------------------------------------------------------
    def evaluate(self, gan: GAN) -> dict[str, float]:
        """The columns for the generator now, on ``n`` samples of fixed noise."""
        fake = self.data.encode(gan.sample(self.n, seed=SEED))
        if not np.all(np.isfinite(fake)):
            return {c: float("nan") for c in self.columns}
        out = {"sliced_w1": metrics.sliced_wasserstein1(self.reference, fake, seed=SEED)}
        if self.mixture:
            m = metrics.mixture_metrics(fake, self.data.means, self.data.std)
            out.update(modes_covered=m["modes_covered"], high_quality=m["high_quality"])
        return out

    def __call__(self, gan: GAN) -> None:
        # only the rows since the last call are read: a run of 400,000 steps calls this 4,000 times
        new = np.asarray(gan.history[self.seen :], dtype=np.float64).reshape(-1, len(HISTORY))
        first = self.seen + 1  # the step of new[0]
        self.seen += new.shape[0]
        if new.shape[0]:
            self._check_segment(new, first)
        last = self.rows[-1][0] if self.rows else 0
        if gan.step // self.every > last // self.every:  # a multiple of ``every`` was passed
            row = self.evaluate(gan)
            self.rows.append([gan.step, *(row[c] for c in self.columns)])
            recent = (
                new
                if new.shape[0]
                else np.asarray(gan.history[-1:], dtype=np.float64).reshape(-1, len(HISTORY))
            )
            self._check_evaluation(gan.step, recent)

    # -- the warnings -----------------------------------------------------------------------
    def warn(self, name: str, step: int, message: str) -> None:
        if name not in self.warnings:
            self.warnings[name] = (int(step), message)
            self.say(f"warning: step {step}: {message}")

    @staticmethod
    def _norm_medians(h: np.ndarray) -> dict[str, _RunningMedian]:
        """The gradient-norm columns of the history rows ``h``, each as a running median."""
        return {name: _RunningMedian(h[:, HISTORY.index(name)]) for name in ("grad_norm_G", "grad_norm_D")}

    def _check_segment(self, new: np.ndarray, first: int) -> None:
        """The checks on the history rows ``new`` (steps ``first``...), then ``new`` joins the
        medians of the rows before."""
        col = {c: i for i, c in enumerate(HISTORY)}
        mean = new.mean(axis=0)
        if (
            self.g_loss == "minimax"
            and mean[col["L_D"]] < SATURATED_L_D
            and mean[col["D_fake"]] < SATURATED_D_FAKE
        ):
            self.warn(
                "saturation",
                first + new.shape[0] - 1,
                f"D wins and G's gradient vanishes: L_D {mean[col['L_D']]:.3g}, D(G(z)) "
                f"{mean[col['D_fake']]:.3g} under the minimax loss, whose gradient is −D(G(z)) "
                "(docs/MATH.md §3; try --g-loss nonsaturating)",
            )
        if len(self._norms["grad_norm_G"]) >= new.shape[0]:
            for name, net in (("grad_norm_G", "G"), ("grad_norm_D", "D")):
                base = self._norms[name].median()  # np.median of the column over every row before
                peak = int(np.argmax(new[:, col[name]]))
                if base > 0 and new[peak, col[name]] > EXPLODING_FACTOR * base:
                    self.warn(
                        "exploding",
                        first + peak,
                        f"gradient norms exploding: ‖∇{net}‖ = {new[peak, col[name]]:.3g}, "
                        f"{new[peak, col[name]] / base:.0f}× its median so far ({base:.3g})",
                    )
        for name, median in self._norms.items():
            median.add(new[:, col[name]])

    def _check_evaluation(self, step: int, recent: np.ndarray) -> None:
        row = dict(zip(self.columns, self.rows[-1][1:]))
        if self.mixture and len(self.rows) >= 3:
            covered = [r[1] for r in self.rows]
            peak = max(covered[:-2])
            if covered[-1] < peak and covered[-2] < peak:
                self.warn(
                    "mode_drop",
                    step,
                    f"modes dropping: {covered[-1]:.0f} covered, down from {peak:.0f} "
                    f"(at step {self.rows[covered.index(peak)][0]})",
                )
        col = {c: i for i, c in enumerate(HISTORY)}
        d_real, d_fake = (float(recent[:, col[c]].mean()) for c in ("D_real", "D_fake"))
        w1 = row["sliced_w1"]
        if abs(d_real - 0.5) < STALLED_D and abs(d_fake - 0.5) < STALLED_D and self.far(w1):
            if self._stalled_since is not None:  # the second evaluation in a row: D has stopped, not paused
                self.warn(
                    "d_stalled",
                    self._stalled_since,
                    f"D has stopped learning: D(x) {d_real:.3f}, D(G(z)) {d_fake:.3f} ≈ ½ since step "
                    f"{self._stalled_since} while the samples are far from the data (sliced W1 {w1:.3g}; "
                    f"the data's own rows {self.floor:.3g}, a point at its mean {self.spread:.3g})",
                )
            self._stalled_since = self._stalled_since or step
        else:
            self._stalled_since = None

    def far(self, w1: float) -> bool:
        """Whether samples at sliced W1 distance ``w1`` are still far from the data: they have closed less
        than STALLED_DISTANCE of the gap from the spread (a point mass at the mean) to the floor."""
        return w1 > self.floor + STALLED_DISTANCE * (self.spread - self.floor)

    # -- files ------------------------------------------------------------------------------
    def table(self) -> np.ndarray:
        """The evaluations as an array (evaluations, 1 + len(columns)): step, then the columns."""
        return np.asarray(self.rows, dtype=np.float64).reshape(-1, 1 + len(self.columns))

    def as_dict(self) -> dict[str, np.ndarray]:
        """step and each column -> a 1-D array (for ``plots.loss_curves(evals=...)``)."""
        t = self.table()
        return {name: t[:, i] for i, name in enumerate(("step", *self.columns))}

    def write_csv(self, path: str | os.PathLike[str]) -> str:
        """evals.csv: header ``step,<columns>``, one row per evaluation (``files.atomic_write``)."""
        text = io.StringIO()
        np.savetxt(
            text,
            self.table(),
            fmt=["%d"] + ["%.9g"] * len(self.columns),
            delimiter=",",
            header=",".join(("step", *self.columns)),
            comments="",
        )
        return atomic_write(path, text.getvalue())

    def read_csv(
        self, path: str | os.PathLike[str], upto: int, history: Any = None, ends: Sequence[int] = ()
    ) -> None:
        """Take back the rows of an earlier ``write_csv`` up to step ``upto`` (a resumed run). Given
        the run's ``history`` and ``ends`` (the steps after which it called the diagnostics), the
        warnings are derived again, silently, as they fired then: a resumed run reports those of
        an uninterrupted one."""
        with open(path) as f:
            header = f.readline().strip().split(",")
            lines = [line.split(",") for line in f.read().split()]
        if header != ["step", *self.columns]:
            raise ValueError(
                f"{path}: expected the header step,{','.join(self.columns)}, got {','.join(header)}"
            )
        rows = [[int(float(r[0]))] + [float(v) for v in r[1:]] for r in lines if float(r[0]) <= upto]
        self.rows = rows
        if history is not None:
            self._replay(np.asarray(history, dtype=np.float64).reshape(-1, len(HISTORY)), rows, ends)

    def _replay(self, h: np.ndarray, rows: list[list[float]], ends: Sequence[int]) -> None:
        """The checks of ``__call__`` again over the history ``h`` cut at ``ends``, the evaluations
        ``rows`` taken where they were made instead of made anew; nothing is printed."""
        say, self.say = self.say, (lambda message: None)
        at = {int(r[0]): r for r in rows}
        self.rows, self.warnings, self._stalled_since, self.seen = [], {}, None, 0
        self._norms = self._norm_medians(h[:0])
        try:
            for end in ends:
                new = h[self.seen : end]
                first, self.seen = self.seen + 1, end
                if new.shape[0]:
                    self._check_segment(new, first)
                if end in at:
                    self.rows.append(at[end])
                    self._check_evaluation(end, new if new.shape[0] else h[end - 1 : end])
        finally:
            self.say = say
        if len(self.rows) != len(rows) or self.seen != h.shape[0]:  # not the run's own ends: keep the
            self.rows, self.warnings, self._stalled_since = rows, {}, None  # evaluations, without warnings
            self._norms = self._norm_medians(h)
        self.seen = h.shape[0]

    def summary(self) -> list[dict[str, Any]]:
        """The warnings as JSON-able dicts, in the order they fired."""
        return [{"warning": k, "step": s, "message": m} for k, (s, m) in self.warnings.items()]


def _training_draws(data: Any, n: int, seed: int) -> np.ndarray:
    """n draws (own generator, with replacement) of what G learns from, in the data's own scale: the
    training rows of a data set held in an array, else fresh draws of its distribution."""
    points = getattr(data, "points", None)
    if points is None:
        return data.reference(n, seed=seed)
    rows = data.decode(data.backend.to_numpy(points).astype(np.float64))
    return rows[np.random.default_rng(seed).integers(0, rows.shape[0], n)]


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr)
