"""Figures of a training run, drawn from NumPy arrays (matplotlib, optional).

Every function takes host NumPy arrays and a path, draws one figure on matplotlib's Agg
canvas (no window, no pyplot state: safe in scripts, tests and servers) and returns the
path. matplotlib is imported only when a figure is drawn; without it the functions raise
``ImportError`` saying how to install it (``pip install matplotlib``; from a clone,
``pip install -e ".[demos]"`` installs it with the demos' other needs).

- ``loss_curves(history, path)``: the history of a run (``training.HISTORY`` columns)
  against the values of the game's equilibrium D ≡ ½ (Goodfellow et al. 2014, Prop. 1
  and Thm. 1): L_D = log 4, L_G^ns = log 2, V = −log 4, D(x) = D(G(z)) = ½.
- ``samples_2d(real, fake, path, means, std)``: generated points over the data, with the
  PacGAN high-quality region (3σ around each mode) drawn as circles.
- ``samples_1d(real, fake, path, density)``: histograms of the data and of G(z).
- ``image_grid(images, path)``: flat images (e.g. 8×8 digits) as a grid.
- ``samples(real, fake, path, ...)``: picks one of the three by the data's dimension.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._types import ArrayLike

INSTALL_HINT = 'pip install matplotlib (from a clone of minigan: pip install -e ".[demos]")'


def available() -> bool:
    """True when matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure on an Agg canvas (imports matplotlib here, lazily)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"figures need matplotlib, which is not installed: {INSTALL_HINT}") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> str:
    """Write ``fig`` to ``path`` (format from the extension) and return the path."""
    fig.savefig(path, dpi=dpi)
    return str(path)


def moving_average(y: ArrayLike, window: int) -> np.ndarray:
    """The running mean of y over ``window`` points (valid part only: len(y) − window + 1)."""
    y = np.asarray(y, dtype=np.float64)
    if window <= 1 or y.shape[0] < window:
        return y
    c = np.cumsum(np.concatenate([[0.0], y]))
    return (c[window:] - c[:-window]) / window


def _as_2d(a: ArrayLike, name: str, dim: int | None = None) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 1 or (dim is not None and a.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, dim)"
        raise ValueError(f"{name}: expected shape {want} with N >= 1, got {a.shape}")
    return a


# --------------------------------------------------------------------------------------
# Loss curves
# --------------------------------------------------------------------------------------
def loss_curves(
    history: ArrayLike,
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    g_loss: str = "nonsaturating",
    reference: dict[str, float] | None = None,
    title: str | None = None,
    smooth: int | None = None,
    evals: dict[str, Any] | None = None,
) -> str:
    """Three panels over the training steps, each with its equilibrium reference line.

    history:   (steps, C) array, one row per step, columns ``columns`` (default
               ``training.HISTORY``: L_D, L_G, L_G_ns, V, total, D_real, D_fake,
               grad_norm_G, grad_norm_D).
    g_loss:    the generator loss trained (its L_G column is drawn when it is not the
               non-saturating one, already drawn as L_G^ns).
    reference: quantity -> value at D ≡ ½ (default ``training.equilibrium_values()``):
               L_D = log 4, L_G^ns = log 2, V = −log 4, D(x) = D(G(z)) = ½.
    smooth:    moving-average window (default: steps/100); raw values are drawn faintly.

    evals:     the evaluations during training (``diagnostics.Diagnostics.as_dict()``):
               "step" and any of "modes_covered", "high_quality", "sliced_w1" as 1-D arrays;
               drawn in a fourth panel when it holds at least one evaluation.

    Left: L_D, L_G^ns, V (and L_G); middle: mean D(x) and D(G(z)); right: the gradient
    norms of G and D (log scale). Dashed lines are the reference values.
    """
    from .. import training

    columns = tuple(training.HISTORY if columns is None else columns)
    h = _as_2d(history, "history", len(columns))
    ref = training.equilibrium_values() if reference is None else dict(reference)
    if g_loss == "minimax":
        ref.setdefault("L_G", -math.log(2))  # log(1 − ½): the minimax loss at D ≡ ½
    window = max(1, h.shape[0] // 100) if smooth is None else int(smooth)
    curves = _Curves(h, {name: i for i, name in enumerate(columns)}, ref, window)
    has_evals = evals is not None and np.asarray(evals.get("step", [])).shape[0] > 0
    fig = new_figure(17 if has_evals else 13, 3.8)
    axes = fig.subplots(1, 4 if has_evals else 3)
    _losses_panel(axes[0], curves, g_loss)
    _outputs_panel(axes[1], curves)
    _gradients_panel(axes[2], curves)
    if has_evals and evals is not None:
        _evals_panel(axes[3], evals)
    if title:
        fig.suptitle(title)
    return save(fig, path)


class _Curves:
    """The history's columns as curves: each drawn raw (faint) and as a moving average over
    ``window`` steps, with its reference value (dashed) where ``ref`` has one."""

    def __init__(self, h: np.ndarray, col: dict[str, int], ref: dict[str, float], window: int) -> None:
        self.h, self.col, self.ref, self.window = h, col, ref, window
        self.steps = np.arange(1, h.shape[0] + 1)

    def draw(self, ax: Any, name: str, label: str, color: str) -> None:
        """Column ``name`` on ``ax`` (nothing if the history has no such column)."""
        if name not in self.col:
            return
        y, steps = self.h[:, self.col[name]], self.steps
        ax.plot(steps, y, color=color, alpha=0.25, lw=0.6)
        ys = moving_average(y, self.window)
        ax.plot(steps[steps.shape[0] - ys.shape[0] :], ys, color=color, lw=1.4, label=label)
        if name in self.ref:
            ax.axhline(self.ref[name], color=color, ls="--", lw=1.0, alpha=0.9)


def _losses_panel(ax: Any, curves: _Curves, g_loss: str) -> None:
    """L_D, L_G^ns, V, and L_G when G trains on another loss than the non-saturating one."""
    curves.draw(ax, "L_D", "$L_D$ (ref. log 4)", "C0")
    curves.draw(ax, "L_G_ns", r"$L_G^{ns}$ (ref. log 2)", "C1")
    curves.draw(ax, "V", "$V(D,G)$ (ref. −log 4)", "C2")
    if g_loss != "nonsaturating":
        ref_txt = " (ref. −log 2)" if "L_G" in curves.ref else ""
        curves.draw(ax, "L_G", f"$L_G$ {g_loss}{ref_txt}", "C3")
    _finish(ax, "losses (dashed: the equilibrium D = ½)")


def _outputs_panel(ax: Any, curves: _Curves) -> None:
    """mean D(x) and mean D(G(z)), on [0, 1]."""
    curves.draw(ax, "D_real", "mean D(x)", "C0")
    curves.draw(ax, "D_fake", "mean D(G(z))", "C3")
    ax.set_ylim(-0.02, 1.02)
    _finish(ax, "discriminator outputs (dashed: ½)")


def _gradients_panel(ax: Any, curves: _Curves) -> None:
    """‖∇θg L_G‖ and ‖∇θd L_D‖, on a log scale when every value is positive."""
    curves.draw(ax, "grad_norm_G", r"$\|\nabla_{\theta_g} L_G\|$", "C1")
    curves.draw(ax, "grad_norm_D", r"$\|\nabla_{\theta_d} L_D\|$", "C0")
    h, col = curves.h, curves.col
    if any(n in col and np.all(h[:, col[n]] > 0) for n in ("grad_norm_G", "grad_norm_D")):
        ax.set_yscale("log")
    _finish(ax, "gradient norms")


def _finish(ax: Any, title: str) -> None:
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.legend(fontsize=8)


def _evals_panel(ax: Any, evals: dict[str, Any]) -> None:
    """Sample quality over the steps, whichever of them ``evals`` holds: high quality and modes
    covered (left axis, fractions), the sliced W1 distance to the data (right axis); one legend
    for both axes, between the title and the plot, where no curve can run under it."""
    step = np.asarray(evals["step"], dtype=np.float64)
    quality = "high_quality" in evals or "modes_covered" in evals
    lines = []
    if "high_quality" in evals:
        lines += ax.plot(
            step, np.asarray(evals["high_quality"]), "o-", color="C2", ms=3, label="high quality"
        )
    if "modes_covered" in evals:
        covered = np.asarray(evals["modes_covered"], dtype=np.float64)
        label = f"modes covered / {covered.max():.0f}"
        lines += ax.plot(step, covered / max(1.0, covered.max()), "s-", color="C4", ms=3, label=label)
    if quality:
        ax.set_ylim(-0.02, 1.05)
        ax.set_ylabel("fraction")
    if "sliced_w1" in evals:
        w1 = ax.twinx() if quality else ax
        lines += w1.plot(
            step, np.asarray(evals["sliced_w1"]), "^-", color="C0", ms=3, label="sliced W1 (right)"
        )
        w1.set_ylabel("sliced W1 to the data")
    ax.legend(
        lines,
        [ln.get_label() for ln in lines],
        fontsize=8,
        loc="lower center",
        ncol=3,
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
        handlelength=1.5,
        columnspacing=1.0,
    )
    ax.set_title("sample quality during training", pad=22)
    ax.set_xlabel("step")


# --------------------------------------------------------------------------------------
# Samples over the data
# --------------------------------------------------------------------------------------
def samples_2d(
    real: ArrayLike,
    fake: ArrayLike,
    path: str | os.PathLike[str],
    means: ArrayLike | None = None,
    std: ArrayLike | None = None,
    title: str | None = None,
    hq_stds: float = 3.0,
) -> str:
    """Generated points (N, 2) over real points (M, 2).

    means (K, 2) and std σ, when given, draw each mode's centre and a circle of radius
    ``hq_stds``·σ: PacGAN's high-quality region (Lin et al. 2018).
    """
    r, f = _as_2d(real, "real", 2), _as_2d(fake, "fake", 2)
    fig = new_figure(5.6, 5.6)
    ax = fig.subplots()
    ax.scatter(r[:, 0], r[:, 1], s=3, c="0.55", alpha=0.5, lw=0, label="data")
    ax.scatter(f[:, 0], f[:, 1], s=3, c="C3", alpha=0.5, lw=0, label="G(z)")
    if means is not None:
        m = _as_2d(means, "means", 2)
        ax.scatter(m[:, 0], m[:, 1], marker="+", s=40, c="k", lw=0.8, label="modes")
        if std is not None:
            from matplotlib.patches import Circle

            for c in m:
                ax.add_patch(Circle(c, hq_stds * float(std), fill=False, ec="k", lw=0.6, alpha=0.7))
    # the view: all the data (and modes), and the generated points but their outer 1 % per side
    pts = r if means is None else np.concatenate([r, _as_2d(means, "means", 2)])
    lo = np.minimum(pts.min(axis=0), np.percentile(f, 1, axis=0))
    hi = np.maximum(pts.max(axis=0), np.percentile(f, 99, axis=0))
    pad = 0.15 * float(np.max(hi - lo)) + 1e-6
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    leg = ax.legend(loc="upper right", fontsize=8)
    for h in getattr(leg, "legend_handles", getattr(leg, "legendHandles", []))[:2]:
        h.set_sizes([20])  # the data and G(z) dots, readable in the legend
    if title:
        ax.set_title(title, fontsize=10)
    return save(fig, path)


def samples_1d(
    real: ArrayLike,
    fake: ArrayLike,
    path: str | os.PathLike[str],
    density: tuple[ArrayLike, ArrayLike] | None = None,
    title: str | None = None,
    bins: int = 60,
) -> str:
    """Histograms (as densities) of real and generated 1-D samples (N,) or (N, 1).

    density: optional ``(x, p)`` arrays, the true p_data(x) drawn as a line.
    """
    r, f = _as_2d(real, "real", 1)[:, 0], _as_2d(fake, "fake", 1)[:, 0]
    lo, hi = min(r.min(), f.min()), max(r.max(), f.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    fig = new_figure(6.4, 4.0)
    ax = fig.subplots()
    ax.hist(r, bins=edges, density=True, color="0.6", alpha=0.6, label="data")
    ax.hist(f, bins=edges, density=True, color="C3", alpha=0.5, label="G(z)")
    if density is not None:
        x, p = (np.asarray(a, dtype=np.float64) for a in density)
        ax.plot(x, p, color="k", lw=1.2, label="$p_{data}$")
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return save(fig, path)


def image_grid(
    images: ArrayLike,
    path: str | os.PathLike[str],
    shape: tuple[int, int] = (8, 8),
    rows: int = 8,
    cols: int = 8,
    title: str | None = None,
    vmin: float = -1.0,
    vmax: float = 1.0,
) -> str:
    """The first rows·cols flat images (N, h·w) drawn as h×w pictures in a grid."""
    h, w = shape
    x = _as_2d(images, "images", h * w)
    n = min(rows * cols, x.shape[0])
    canvas = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = x[i].reshape(h, w)
    fig = new_figure(5.0, 5.0)
    ax = fig.subplots()
    ax.imshow(canvas, cmap="gray_r", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return save(fig, path)


def samples(
    real: ArrayLike,
    fake: ArrayLike,
    path: str | os.PathLike[str],
    means: ArrayLike | None = None,
    std: ArrayLike | None = None,
    density: tuple[ArrayLike, ArrayLike] | None = None,
    title: str | None = None,
) -> str:
    """Generated samples over the data, by dimension: 1 → histograms, 2 → scatter,
    64 → an 8×8 image grid of the generated samples."""
    dim = _as_2d(fake, "fake").shape[1]
    if dim == 1:
        return samples_1d(real, fake, path, density=density, title=title)
    if dim == 2:
        return samples_2d(real, fake, path, means=means, std=std, title=title)
    side = math.isqrt(dim)
    if side * side == dim:
        return image_grid(fake, path, shape=(side, side), title=title)
    raise ValueError(f"fake: no picture for {dim}-D samples (expected 1, 2 or a square number)")
