"""See the game: D's landscape, the force on each generated sample, and an animation of a run.

After GAN Lab (Kahng et al., IEEE VIS 2018), drawn from minigan's own hand-written gradients.

**The force on a generated sample** (docs/MATH.md §7.1). G's loss is a batch mean
L_G = (1/n) Σ_i ℓ(l_i), l_i = D(x_i) the logit of the generated sample x_i = G(z_i). The
generator can move x_i only by changing θg, and every change of θg reaches the loss through
∂L_G/∂x_i — D's input gradient, the ``dx`` that ``GAN._generator_gradients`` hands to G's
backward. So

    F(x_i) = −∂ℓ(l_i)/∂x_i = −n · ∂L_G/∂x_i = −ℓ'(l_i) · ∂l_i/∂x_i

is the direction (and strength) in which the run's loss pushes that sample: ``dl`` from the
loss (§6), then ``D.backward(dl, cache, need_grads=False)`` (D untouched). Under the minimax
loss ℓ'(l) = −σ(l) = −D(x): where D rejects the samples (D → 0) the force vanishes — the
saturation of §3 — while under the non-saturating loss ℓ'(l) = −σ(−l) = −(1 − D) it is largest
there.

- ``snapshot(gan)``: the state of the game as host NumPy arrays (real and generated samples,
  the force at each generated sample, D on a grid; in 1-D also p_data, p_g and
  D* = p_data/(p_data + p_g), Proposition 1, §10.1).
- ``GameFigure``: draws a snapshot — in 2-D D(x) as a heatmap over the plane with the samples
  and force arrows; in 1-D the layout of the paper's Figure 1 — optionally beside the losses so
  far; ``update`` redraws it for a new snapshot by changing its artists (cheap: the animation).
- ``game_figure(gan, path)``: one figure, written to a file.
- ``Animation``: called after each synced segment of a run, it grabs a frame every ``every``
  steps and writes a GIF with matplotlib's ``PillowWriter`` (``minigan train --animate``).

Like ``plots``, matplotlib is imported only when something is drawn.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import theory
from .._checks import check_int
from .._types import ArrayLike
from ..files import atomic_write
from ..training import GAN, HISTORY, equilibrium_values
from . import plots

Lims = tuple[tuple[float, float], ...]  # the view: ((x0, x1), (y0, y1)) in 2-D, ((x0, x1),) in 1-D

SAMPLES = 512  # generated (and real) samples shown in a frame
ARROWS = 96  # of which this many carry a force arrow
GRID = 72  # the heatmap's resolution (GRID × GRID points of D, drawn bilinearly interpolated)
SEED = 2024  # fixed noise: every frame shows the same z, so one sees each point move
PAD = 0.35  # the view's margin around the data, a fraction of the data's largest span per side
# D(x) ∈ [0, 1]: Moreland's cool-warm diverging map, its lightness smooth and symmetric about ½ (no
# white band at D ≈ ½); blue where D says "generated", red where it says "real"
CMAP = "coolwarm"
INTERPOLATION = "bilinear"
DATA_COLOR, FAKE_COLOR, ARROW_COLOR = "k", "#00a651", "#0b3d1e"  # green G(z): apart from blue, red, grey


# --------------------------------------------------------------------------------------
# The state of the game, computed once on the device and copied to the host
# --------------------------------------------------------------------------------------
def generator_force(gan: GAN, x: ArrayLike) -> np.ndarray:
    """F(x_i) = −∂ℓ(D(x_i))/∂x_i for each row of x (N, dim): the push of the run's
    generator loss ``gan.g_loss`` on a sample at x_i (module docstring; docs/MATH.md §7.1).

    One D pass (eval mode) and its backward with ``need_grads=False``: D's input gradient only,
    D's parameters untouched. The loss's gradient is of the batch mean, so it is multiplied
    by N to give the per-sample force.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] != gan.data.dim:
        raise ValueError(f"x: expected shape (N, {gan.data.dim}) with N >= 1, got {a.shape}")
    b = gan.backend
    xb = b.asarray(a, dtype=b.float_dtype)
    logits, cache = gan.D.forward(xb, train=False)
    _, dl = gan.g_loss(logits)  # ∂L_G/∂l, (N, 1), of the batch mean
    dx, _ = gan.D.backward(dl, cache, need_grads=False)  # ∂L_G/∂x (N, dim)
    return -a.shape[0] * b.to_numpy(dx).astype(np.float64)


@dataclass
class Snapshot:
    """The game at one step, as host NumPy arrays.

    real, fake, force: (n, dim); grid: the points where D was evaluated — (xs, ys) in 2-D,
    (xs,) in 1-D; d_grid: D there, (len(ys), len(xs)) or (len(xs),); in 1-D p_data, p_g and
    d_star on xs too (else None). lims: the view, ((x0, x1), (y0, y1)) or ((x0, x1),).
    """

    step: int
    g_loss: str
    real: np.ndarray
    fake: np.ndarray
    force: np.ndarray
    grid: tuple[np.ndarray, ...]
    d_grid: np.ndarray
    lims: Lims
    p_data: np.ndarray | None = None
    p_g: np.ndarray | None = None
    d_star: np.ndarray | None = None


def view(real: np.ndarray, fake: np.ndarray, pad: float = 0.25) -> Lims:
    """Bounds per axis that hold all the real points and the generated ones but their outer
    1 % per side, widened by ``pad`` of the largest span (square in 2-D)."""
    lo = np.minimum(real.min(axis=0), np.percentile(fake, 1, axis=0))
    hi = np.maximum(real.max(axis=0), np.percentile(fake, 99, axis=0))
    span = float(np.max(hi - lo)) + 1e-6
    mid = (lo + hi) / 2
    half = span * (0.5 + pad) if real.shape[1] == 2 else (hi - lo) / 2 + pad * span
    return tuple((float(m - h), float(m + h)) for m, h in zip(mid, np.broadcast_to(half, mid.shape)))


def data_view(data: Any, pad: float = PAD, n: int = 4096) -> Lims:
    """The view of a run, fixed by its data: per axis, the range of n draws of the data (their 0.5
    to 99.5 percentiles; ``data.reference``, seeded) and the point where an untrained G's samples
    start (``data.decode`` of 0: the origin, or a standardized file's mean), widened on each side
    by ``pad`` of the largest span; square in 2-D. Generated samples may leave it (a figure says
    how many did): the view stays on the data, however far G strays or starts."""
    x = np.asarray(data.reference(n, seed=SEED + 2), dtype=np.float64)
    start = np.asarray(data.decode(np.zeros((1, x.shape[1]))), dtype=np.float64)[0]
    lo = np.minimum(np.percentile(x, 0.5, axis=0), start)
    hi = np.maximum(np.percentile(x, 99.5, axis=0), start)
    span = max(float(np.max(hi - lo)), 1e-6)
    mid = (lo + hi) / 2
    half = np.full(mid.shape, span * (0.5 + pad)) if x.shape[1] == 2 else (hi - lo) / 2 + pad * span
    return tuple((float(m - h), float(m + h)) for m, h in zip(mid, half))


def snapshot(
    gan: GAN, n: int = SAMPLES, lims: Lims | None = None, resolution: int = GRID, seed: int = SEED
) -> Snapshot:
    """The game now: n real and n generated samples (fixed seeds: not the run's random stream),
    the force on each generated one, and D on a grid over ``lims`` (default: ``data_view``, the
    data's range and a margin)."""
    dim = gan.data.dim
    if dim not in (1, 2):
        raise ValueError(f"gan: the game figure draws 1-D or 2-D data, this run's is {dim}-D")
    n = check_int("n", n, low=2)
    gan.flush()
    real = gan.data.reference(n, seed=seed + 1).astype(np.float64)
    fake = gan.sample(n, seed=seed).astype(np.float64)
    if not np.all(np.isfinite(fake)):
        raise ValueError("gan: the generator produced NaN or inf")
    force = generator_force(gan, fake)
    lims = data_view(gan.data) if lims is None else lims
    g_loss = gan.config.g_loss
    if dim == 2:
        xs, ys = (np.linspace(lo, hi, resolution) for lo, hi in lims)
        pts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)  # rows y, columns x
        d = gan.discriminate(pts).reshape(resolution, resolution)
        return Snapshot(gan.step, g_loss, real, fake, force, (xs, ys), d, lims)
    xs = np.linspace(*lims[0], 4 * resolution)
    d = gan.discriminate(xs[:, None])
    density = getattr(gan.data, "density", None)
    p_data = density(xs) if density is not None else theory.gaussian_kde(real[:, 0], xs)
    p_g = theory.gaussian_kde(fake[:, 0], xs)
    return Snapshot(
        gan.step,
        g_loss,
        real,
        fake,
        force,
        (xs,),
        d,
        lims,
        p_data,
        p_g,
        theory.optimal_discriminator(p_data, p_g),
    )


# --------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------
def _outside(s: Snapshot) -> int:
    """How many generated samples lie outside the view."""
    inside = np.ones(s.fake.shape[0], dtype=bool)
    for j, (lo, hi) in enumerate(s.lims):
        inside &= (s.fake[:, j] >= lo) & (s.fake[:, j] <= hi)
    return int(np.sum(~inside))


def _force_label(s: Snapshot) -> str:
    mean = float(np.mean(np.linalg.norm(s.force, axis=1)))
    return f"force −∂ℓ/∂G(z) ({s.g_loss}), mean |F| {mean:.3g}"


def _away_label(s: Snapshot) -> str:
    out = _outside(s)
    return f"{out} of {s.fake.shape[0]} G(z) outside the view" if out else ""


class GameFigure:
    """One figure of the game; ``update(snap)`` redraws it for a new snapshot in place.

    Left: the game (2-D: D(x) heatmap, real and generated samples, an arrow of the force at
    ARROWS generated samples; 1-D: the paper's Figure 1 — p_data, p_g, D, D*, and below them
    the samples on the x line with their force arrows). Right (``history=True``): the losses
    so far against their equilibrium values, on steps 0..``total_steps``. Every frame is titled
    (``title``, the step, the force) and every marker is in a legend.

    Arrows point along the force F; their length is u·log(1 + |F|/F₀), u = 5 % of the view:
    proportional to |F| for small forces (a vanishing force draws a vanishing arrow) and
    readable when forces grow a thousandfold during a run. ``force_unit`` F₀ defaults to the
    median |F| of the first snapshot and is kept for every later one, so that arrows compare
    over time — and between runs, given the same F₀.
    """

    fig: Any  # a matplotlib Figure; its axes and artists (below) are matplotlib's too
    moving: list[Any]  # the artists each frame redraws
    _background: Any
    _limits: Any

    def __init__(
        self,
        snap: Snapshot,
        history: bool = False,
        total_steps: int | None = None,
        force_unit: float | None = None,
        size: tuple[float, float] = (5.2, 4.6),
        title: str | None = None,
        dpi: float | None = None,
    ) -> None:
        self.dim = snap.real.shape[1]
        self.history, self.title = history, title
        width = size[0] * (1.85 if history else 1.0)
        self.fig = plots.new_figure(width, size[1])
        if dpi is not None:  # lay out at the size it is drawn at: no rescaling per frame
            self.fig.set_dpi(dpi)
        axes = self.fig.subplots(1, 2 if history else 1, width_ratios=[1.0, 0.85] if history else None)
        self.ax = axes[0] if history else axes
        self.unit = 0.05 * (snap.lims[0][1] - snap.lims[0][0])
        if force_unit is None:
            force_unit = float(np.median(np.linalg.norm(snap.force, axis=1)))
        self.force_unit = force_unit if force_unit > 0 else 1.0
        self.pick = np.linspace(0, snap.fake.shape[0] - 1, min(ARROWS, snap.fake.shape[0])).astype(int)
        (self._init_2d if self.dim == 2 else self._init_1d)(snap)
        if history:
            self._init_history(axes[1], snap.g_loss, total_steps)
        self.head: Any = None  # the title, once laid out: a figure text (drawn over the background)
        self.update(snap, None)
        self.fig.canvas.draw()  # lay out once, then keep the layout: later frames only change data
        self.fig.set_layout_engine("none")
        self.head = self._title_as_text()
        lines = [*self.h_lines.values(), self.h_legend] if history else []
        self.moving = [self.head, *self.moving, *lines]
        self._background = self._limits = None

    def _title_as_text(self) -> Any:
        """The game panel's title, laid out by matplotlib, moved to a figure text at the same place:
        an axes title that is hidden while the background is drawn loses its position."""
        title = self.ax.title
        x, y = self.fig.transFigure.inverted().transform(
            title.get_transform().transform(title.get_position())
        )
        head = self.fig.text(
            x, y, title.get_text(), ha="center", va=title.get_va(), fontsize=title.get_fontsize()
        )
        title.set_text("")
        return head

    def arrow(self, force: np.ndarray) -> np.ndarray:
        """The drawn arrow of each force (N, dim): along F, of length u·log(1 + |F|/F₀)."""
        size = np.linalg.norm(force, axis=1, keepdims=True)
        length = self.unit * np.log1p(size / self.force_unit)
        return np.divide(force * length, size, out=np.zeros_like(force), where=size > 0)

    # -- 2-D: the plane ------------------------------------------------------------------
    def _init_2d(self, s: Snapshot) -> None:
        ax = self.ax
        (x0, x1), (y0, y1) = s.lims
        self.heat = ax.imshow(
            s.d_grid,
            origin="lower",
            extent=(x0, x1, y0, y1),
            cmap=CMAP,
            vmin=0.0,
            vmax=1.0,
            interpolation=INTERPOLATION,
            aspect="equal",
        )
        bar = self.fig.colorbar(self.heat, ax=ax, shrink=0.8, ticks=[0, 0.25, 0.5, 0.75, 1])
        bar.set_label("D(x) = σ(logit): 0 generated … 1 real", fontsize=8)
        self.real_pts = ax.scatter(s.real[:, 0], s.real[:, 1], s=7, c=DATA_COLOR, lw=0, label="data x")
        self.fake_pts = ax.scatter(s.fake[:, 0], s.fake[:, 1], s=7, c=FAKE_COLOR, lw=0, label="G(z)")
        p = self.pick
        u = self.arrow(s.force[p])
        self.arrows = ax.quiver(
            s.fake[p, 0],
            s.fake[p, 1],
            u[:, 0],
            u[:, 1],
            angles="xy",
            scale_units="xy",
            scale=1.0,
            color=ARROW_COLOR,
            width=0.004,
            label="force on G(z)",
        )
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        legend = ax.legend(loc="upper right", fontsize=7, framealpha=0.85)
        for h in legend.legend_handles[:2]:
            h.set_sizes([20])
        # drawn over the heatmap each frame, the legend and the count of samples out of view with it
        self.moving = [self.heat, self.real_pts, self.fake_pts, self.arrows, legend, self._away(ax)]

    def _away(self, ax: Any) -> Any:
        """The text, bottom left in the plot, that counts the generated samples outside the view."""
        box = {"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.85}
        self.away = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=7, bbox=box)
        return self.away

    def _update_2d(self, s: Snapshot) -> None:
        self.heat.set_data(s.d_grid)
        self.real_pts.set_offsets(s.real)
        self.fake_pts.set_offsets(s.fake)
        p = self.pick
        self.arrows.set_offsets(s.fake[p])
        u = self.arrow(s.force[p])
        self.arrows.set_UVC(u[:, 0], u[:, 1])

    # -- 1-D: the paper's Figure 1 -------------------------------------------------------
    Y_X, Y_F = -0.12, -0.3  # the x line (samples) and the force line under the curves

    def _init_1d(self, s: Snapshot) -> None:
        ax, xs = self.ax, s.grid[0]
        (self.l_data,) = ax.plot(xs, s.p_data, "k:", lw=1.5, label="$p_{data}$")
        (self.l_g,) = ax.plot(xs, s.p_g, "g-", lw=1.2, label="$p_g$")
        (self.l_d,) = ax.plot(xs, s.d_grid, "b--", lw=1.2, label="D(x)")
        (self.l_star,) = ax.plot(xs, s.d_star, color="purple", ls="-.", lw=0.9, label="D*(x)")
        ax.axhline(self.Y_X, color="0.4", lw=0.6)
        n = self.pick.shape[0]
        self.fake_ticks = ax.scatter(
            s.fake[self.pick, 0], np.full(n, self.Y_X), marker="|", s=40, c="g", lw=0.8, label="G(z)"
        )
        self.arrow_y = self.Y_F + np.linspace(-0.06, 0.06, n)[np.argsort(np.argsort(s.fake[self.pick, 0]))]
        self.arrows = ax.quiver(
            s.fake[self.pick, 0],
            self.arrow_y,
            self.arrow(s.force[self.pick])[:, 0],
            np.zeros(n),
            angles="xy",
            scale_units="xy",
            scale=1.0,
            color=ARROW_COLOR,
            width=0.003,
            label="force on G(z)",
        )
        ax.text(s.lims[0][0], self.Y_X + 0.02, " x = G(z)", fontsize=7)
        ax.set_xlim(*s.lims[0])
        ax.set_xlabel("x")
        legend = self.ax.legend(loc="upper right", fontsize=7)
        moving = [self.l_g, self.l_d, self.l_star, self.fake_ticks, self.arrows]
        self.moving = [*moving, legend, self._away(ax)]

    def _update_1d(self, s: Snapshot) -> None:
        self.l_data.set_ydata(s.p_data)
        self.l_g.set_ydata(s.p_g)
        self.l_d.set_ydata(s.d_grid)
        self.l_star.set_ydata(s.d_star)
        n = self.pick.shape[0]
        self.fake_ticks.set_offsets(np.stack([s.fake[self.pick, 0], np.full(n, self.Y_X)], axis=1))
        self.arrows.set_offsets(np.stack([s.fake[self.pick, 0], self.arrow_y], axis=1))
        self.arrows.set_UVC(self.arrow(s.force[self.pick])[:, 0], np.zeros(n))
        assert s.p_data is not None and s.p_g is not None  # a 1-D snapshot has both
        top = max(1.05, math.ceil(2.2 * float(max(s.p_data.max(), s.p_g.max()))) / 2)  # in steps of ½
        self.ax.set_ylim(self.Y_F - 0.1, top)

    # -- the losses so far ---------------------------------------------------------------
    def _init_history(self, ax, g_loss, total_steps):
        self.hax = ax
        ref = equilibrium_values()
        self.h_lines = {}
        for name, label, color in (
            ("L_D", "$L_D$", "C0"),
            ("L_G", f"$L_G$ ({g_loss})", "C3"),
            ("D_real", "D(x)", "C2"),
            ("D_fake", "D(G(z))", "C1"),
        ):
            (self.h_lines[name],) = ax.plot([], [], color=color, lw=1.2, label=label)
        ax.axhline(ref["L_D"], color="C0", ls="--", lw=0.8)
        ax.axhline(0.5, color="0.5", ls="--", lw=0.8)
        if total_steps:
            ax.set_xlim(0, total_steps)
        ax.set_ylim(-0.5, 1.5)  # _update_history's limits for curves within [0, log 4]
        ax.set_xlabel("step")
        ax.set_title("losses and mean D so far (dashed: log 4, ½)", fontsize=9)
        self.h_legend = ax.legend(loc="upper right", fontsize=7)

    def _update_history(self, history):
        h = np.asarray(history, dtype=np.float64).reshape(-1, len(HISTORY))
        if h.shape[0] == 0:
            return
        w = max(1, min(50, h.shape[0] // 4))
        lo, hi = math.inf, -math.inf
        for name, line in self.h_lines.items():
            y = plots.moving_average(h[:, HISTORY.index(name)], w)
            x = np.arange(h.shape[0] - y.shape[0] + 1, h.shape[0] + 1)
            line.set_data(x, y)
            if y.size and np.all(np.isfinite(y)):
                lo, hi = min(lo, float(y.min())), max(hi, float(y.max()))
        if math.isfinite(lo):  # limits in steps of ½, so that they rarely change
            self.hax.set_ylim(
                math.floor(2 * min(lo, 0.0) - 0.1) / 2, math.ceil(2 * max(hi, math.log(4)) + 0.1) / 2
            )
        if self.hax.get_xlim()[1] < h.shape[0]:
            self.hax.set_xlim(0, h.shape[0])

    def update(self, snap: Snapshot, history: ArrayLike | None = None) -> GameFigure:
        (self._update_2d if self.dim == 2 else self._update_1d)(snap)
        if self.history and history is not None:
            self._update_history(history)
        head = f"{self.title} · " if self.title else ""
        text = f"{head}step {snap.step}\n{_force_label(snap)}"
        if self.head is None:
            self.ax.set_title(text, fontsize=9)
        else:
            self.head.set_text(text)
        self.away.set_text(_away_label(snap))  # an empty text draws nothing, its box neither
        return self

    def save(self, path: str | os.PathLike[str], dpi: int = 110) -> str:
        return plots.save(self.fig, path, dpi=dpi)

    def pixels(self) -> np.ndarray:
        """The canvas as drawn (``render``), an (H, W, 3) uint8 RGB array."""
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def render(self) -> None:
        """Draw the figure on its canvas, fast: the still parts (axes, ticks, colour bar, legends)
        are drawn once and kept as a background, and each frame draws only the artists that
        move over it (blitting); the background is redrawn when an axis's limits change."""
        canvas = self.fig.canvas
        axes = [self.ax, *([self.hax] if self.history else [])]
        limits = [(a.get_xlim(), a.get_ylim()) for a in axes]
        if self._background is None or limits != self._limits:
            for a in self.moving:
                a.set_visible(False)
            canvas.draw()
            self._background, self._limits = canvas.copy_from_bbox(self.fig.bbox), limits
            for a in self.moving:
                a.set_visible(True)
        else:
            canvas.restore_region(self._background)
        for a in self.moving:
            self.fig.draw_artist(a)


def game_figure(
    gan: GAN,
    path: str | os.PathLike[str],
    history: bool = True,
    title: str | None = None,
    dpi: int = 110,
    **kw: Any,
) -> str:
    """The game now, drawn to ``path`` (PNG, …): ``GameFigure(snapshot(gan), history)``."""
    snap = snapshot(gan)
    fig = GameFigure(snap, history=history, total_steps=max(gan.config.steps, gan.step), title=title, **kw)
    if history:
        fig.update(snap, gan.history_array())
    return fig.save(path, dpi=dpi)


# --------------------------------------------------------------------------------------
# The animation of a run
# --------------------------------------------------------------------------------------
MAX_FRAMES = 40  # frames of a run's GIF by default: about 1 MB at 906 × 440 px, a few % of the run's time
FRAME_SIZE = (4.45, 4.0)  # inches of the game panel (with the losses beside it: 1.85 × as wide)
FRAME_DPI = 110  # 4.45 × 1.85 by 4.0 in at 110 dpi: 906 × 440 px, every label legible
HEAT_COLORS = 64  # palette entries of the colour map: steps of 1/63 in D


def frame_interval(total_steps: int, log_every: int, frames: int = MAX_FRAMES) -> int:
    """Steps between frames: about total/frames, rounded up to a multiple of log_every (frames
    are taken where the run syncs its history to the host, never inside the step loop)."""
    each = max(1, math.ceil(total_steps / max(1, frames)))
    return log_every * max(1, math.ceil(each / log_every))


class Animation:
    """``anim(gan)`` after each synced segment of a run: a frame when ``gan.step`` is a
    multiple of ``every`` (and at the first call); ``anim.close()`` writes the GIF.

    Each frame is a ``GameFigure`` with the losses so far, updated in place, drawn at ``dpi``
    (default 906 × 440 px) and kept as palette indices; the view (``data_view``: the data's range
    and a margin) and the force unit F₀ are fixed at the first frame. One palette serves every
    frame (``gif_palette``: HEAT_COLORS steps of the colour map, the figure's inks), without
    dithering, and heatmap pixels that barely changed keep their colour (``steady``): the
    heatmap stays smooth and the GIF about 1 MB.
    """

    figure: GameFigure | None
    lims: Lims | None

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int,
        total_steps: int,
        fps: int = 8,
        dpi: int = FRAME_DPI,
        title: str | None = None,
        force_unit: float | None = None,
        size: tuple[float, float] = FRAME_SIZE,
    ) -> None:
        every = check_int("every", every)
        self.path, self.every, self.total, self.fps, self.dpi = str(path), every, total_steps, fps, dpi
        self.title, self.force_unit, self.size = title, force_unit, size
        self.figure = self.lims = None
        self.images: list[np.ndarray] = []  # the frames as palette indices (H, W) uint8
        self._palette: Any = None
        self.frames, self.seconds, self.last = 0, 0.0, -1

    def __call__(self, gan: GAN) -> None:
        """A frame if a multiple of ``every`` was passed since the last one, or at the last step."""
        if (
            self.figure is not None
            and gan.step // self.every == self.last // self.every
            and gan.step != self.total
        ):
            return
        self.add_frame(gan)

    def add_frame(self, gan: GAN) -> None:
        import time

        t0 = time.perf_counter()
        snap = snapshot(gan, lims=self.lims)
        if self.figure is None:
            self.lims = snap.lims
            self.figure = GameFigure(
                snap,
                history=True,
                total_steps=self.total,
                title=self.title,
                force_unit=self.force_unit,
                size=self.size,
                dpi=self.dpi,
            )
        self.figure.update(snap, gan.history)
        self.figure.render()
        self.images.append(self._quantized(self.figure.pixels()))
        self.last = gan.step
        self.frames += 1
        self.seconds += time.perf_counter() - t0

    def _quantized(self, rgb: np.ndarray) -> np.ndarray:
        """The frame (H, W, 3) as palette indices (``gif_palette``, no dithering), ``steady``
        against the frame before."""
        from PIL import Image

        if self._palette is None:
            self._palette = gif_palette()
        frame = np.asarray(Image.fromarray(rgb).quantize(palette=self._palette, dither=Image.Dither.NONE))
        return frame if not self.images else steady(self.images[-1], frame)

    def close(self) -> str | None:
        """Write the GIF (None if no frame was taken); the frames are let go."""
        from PIL import Image

        if not self.images:
            return None
        frames, self.images = self.images, []
        images = []
        for f in frames:
            image = Image.fromarray(f, "P")
            image.putpalette(self._palette.getpalette())
            images.append(image)
        duration = round(1000 / max(1, self.fps))

        def write(f: Any) -> None:
            images[0].save(
                f, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
            )

        return atomic_write(self.path, write)


def gif_palette() -> Any:
    """The 256-colour palette image of every frame of a GIF: HEAT_COLORS evenly spaced colours of
    the D(x) map first (indices 0..HEAT_COLORS − 1, in the order of D), then the figure's inks
    (text, samples, arrows, the loss curves) blended with white at five strengths, and 32 greys."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgb
    from PIL import Image

    heat = colormaps[CMAP](np.linspace(0.0, 1.0, HEAT_COLORS))[:, :3]
    inks = [DATA_COLOR, FAKE_COLOR, ARROW_COLOR, "C0", "C1", "C2", "C3", "purple", "g", "b"]
    blends = [1.0 - a * (1.0 - np.array(to_rgb(c))) for c in inks for a in (0.2, 0.4, 0.6, 0.8, 1.0)]
    greys = np.repeat(np.linspace(0.0, 1.0, 32)[:, None], 3, axis=1)
    colors = np.round(255 * np.concatenate([heat, np.array(blends), greys])).astype(np.uint8)
    palette = Image.new("P", (1, 1))
    palette.putpalette(colors.ravel().tolist())
    return palette


def steady(previous: np.ndarray, frame: np.ndarray, tolerance: int = 1) -> np.ndarray:
    """``frame`` (palette indices, (H, W)) with each heatmap pixel that moved by at most
    ``tolerance`` colour-map steps since ``previous`` kept as it was (an error of at most
    tolerance/(HEAT_COLORS − 1) in D, below what the eye sees): the GIF then stores only the
    pixels that changed, about 15 % fewer bytes a frame."""
    heat = (frame < HEAT_COLORS) & (previous < HEAT_COLORS)
    keep = heat & (np.abs(frame.astype(np.int16) - previous.astype(np.int16)) <= tolerance)
    return np.where(keep, previous, frame)
