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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import theory
from .._checks import check_int
from .._types import ArrayLike
from ..training import GAN, HISTORY, equilibrium_values
from . import plots

Lims = tuple[tuple[float, float], ...]  # the view: ((x0, x1), (y0, y1)) in 2-D, ((x0, x1),) in 1-D

SAMPLES = 512  # generated (and real) samples shown in a frame
ARROWS = 96  # of which this many carry a force arrow
GRID = 72  # the heatmap's resolution (GRID × GRID points of D)
SEED = 2024  # fixed noise: every frame shows the same z, so one sees each point move


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


def snapshot(
    gan: GAN, n: int = SAMPLES, lims: Lims | None = None, resolution: int = GRID, seed: int = SEED
) -> Snapshot:
    """The game now: n real and n generated samples (fixed seeds: not the run's random stream),
    the force on each generated one, and D on a grid over ``lims`` (default: ``view``)."""
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
    lims = view(real, fake) if lims is None else lims
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
def _force_label(s: Snapshot) -> str:
    mean = float(np.mean(np.linalg.norm(s.force, axis=1)))
    return f"force −∂ℓ/∂G(z) ({s.g_loss}), mean |F| {mean:.3g}"


class GameFigure:
    """One figure of the game; ``update(snap)`` redraws it for a new snapshot in place.

    Left: the game (2-D: D(x) heatmap, real and generated samples, an arrow of the force at
    ARROWS generated samples; 1-D: the paper's Figure 1 — p_data, p_g, D, D*, and below them
    the samples on the x line with their force arrows). Right (``history=True``): the losses
    so far against their equilibrium values, on steps 0..``total_steps``.

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
    ) -> None:
        self.dim = snap.real.shape[1]
        self.history, self.title = history, title
        width = size[0] * (1.85 if history else 1.0)
        self.fig = plots.new_figure(width, size[1])
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
        self.update(snap, None)
        self.fig.canvas.draw()  # lay out once, then keep the layout: later frames only change data
        self.fig.set_layout_engine("none")
        self.moving = [self.ax.title, *self.moving, *getattr(self, "h_lines", {}).values()]
        self._background = self._limits = None

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
            cmap="RdBu",
            vmin=0.0,
            vmax=1.0,
            interpolation="bilinear",
            aspect="equal",
        )
        self.fig.colorbar(self.heat, ax=ax, shrink=0.8, label="D(x) = σ(logit)")
        self.real_pts = ax.scatter(s.real[:, 0], s.real[:, 1], s=7, c="k", lw=0, alpha=0.6, label="data")
        self.fake_pts = ax.scatter(s.fake[:, 0], s.fake[:, 1], s=5, c="#ff8c00", lw=0, label="G(z)")
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
            color="#5a2d00",
            width=0.004,
            label="force on G(z)",
        )
        self.moving = [self.heat, self.real_pts, self.fake_pts, self.arrows]
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)

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
            s.fake[self.pick, 0], np.full(n, self.Y_X), marker="|", s=40, c="g", lw=0.8
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
            color="#5a2d00",
            width=0.003,
            label="force on G(z)",
        )
        ax.text(s.lims[0][0], self.Y_X + 0.02, " x = G(z)", fontsize=7)
        self.moving = [self.l_g, self.l_d, self.l_star, self.fake_ticks, self.arrows]
        ax.set_xlim(*s.lims[0])
        ax.set_xlabel("x")
        self.ax.legend(loc="upper right", fontsize=7)

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
        ax.set_xlabel("step")
        ax.set_title("losses and mean D so far (dashed: log 4, ½)", fontsize=9)
        ax.legend(loc="upper right", fontsize=7)

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
        self.ax.set_title(f"{head}step {snap.step}\n{_force_label(snap)}", fontsize=9)
        return self

    def save(self, path: str | os.PathLike[str], dpi: int = 110) -> str:
        return plots.save(self.fig, path, dpi=dpi)

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
            a.axes.draw_artist(a)


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
MAX_FRAMES = 40  # 40 frames of 8.5 × 4.1 in at 70 dpi: about 1 MB of GIF, and a few % of the run's time


def frame_interval(total_steps: int, log_every: int, frames: int = MAX_FRAMES) -> int:
    """Steps between frames: about total/frames, rounded up to a multiple of log_every (frames
    are taken where the run syncs its history to the host, never inside the step loop)."""
    each = max(1, math.ceil(total_steps / max(1, frames)))
    return log_every * max(1, math.ceil(each / log_every))


class Animation:
    """``anim(gan)`` after each synced segment of a run: a frame when ``gan.step`` is a
    multiple of ``every`` (and at the first call); ``anim.close()`` writes the GIF.

    Each frame is a ``GameFigure`` with the losses so far, updated in place and grabbed by
    matplotlib's ``PillowWriter``; the view and the force unit F₀ are those of the first frame.
    """

    figure: GameFigure | None
    writer: Any  # matplotlib's PillowWriter drawing with GameFigure.render (None before the first frame)
    lims: Lims | None

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int,
        total_steps: int,
        fps: int = 8,
        dpi: int = 70,
        title: str | None = None,
        force_unit: float | None = None,
    ) -> None:
        every = check_int("every", every)
        self.path, self.every, self.total, self.fps, self.dpi = str(path), every, total_steps, fps, dpi
        self.title, self.force_unit = title, force_unit
        self.figure = self.writer = self.lims = None
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
                size=(4.6, 4.1),
            )
            self.figure.fig.set_dpi(self.dpi)  # drawn at the GIF's size: no rescaling per frame
            self.writer = _OneDrawPillowWriter(fps=self.fps)
            self.writer.setup(self.figure.fig, self.path, dpi=self.dpi)
            self.writer.render = self.figure.render
        self.figure.update(snap, gan.history)
        self.writer.grab_frame()
        self.last = gan.step
        self.frames += 1
        self.seconds += time.perf_counter() - t0

    def close(self) -> str | None:
        """Write the GIF (None if no frame was taken)."""
        if self.writer is None:
            return None
        self.writer.finish()
        self.writer = None
        return self.path


def _one_draw_pillow_writer() -> Any:
    """matplotlib's ``PillowWriter`` whose ``grab_frame`` draws with ``GameFigure.render`` (set as
    ``writer.render``) and copies the canvas's pixels (the stock one saves the whole figure
    through ``savefig``, which draws it twice)."""
    from matplotlib.animation import PillowWriter
    from PIL import Image

    class OneDrawPillowWriter(PillowWriter):
        render: Callable[[], None]  # set by Animation: GameFigure.render
        _frames: list[Any]  # PillowWriter's frames, made by its setup()

        def grab_frame(self, **savefig_kwargs: Any) -> None:
            self.render()
            canvas: Any = self.fig.canvas
            self._frames.append(
                Image.frombuffer(
                    "RGBA", canvas.get_width_height(), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1
                )
            )

    return OneDrawPillowWriter


# a class, made on first use (matplotlib stays optional), so named as one
def _OneDrawPillowWriter(**kw: Any) -> Any:  # noqa: N802
    return _one_draw_pillow_writer()(**kw)
