"""Shared plumbing of the demos: command-line options, output folders, figures, tables.

Import this module first in a demo: it limits NumPy's BLAS to one thread unless the
environment already says otherwise (the demos' matrices are small, and on a busy
2-core machine extra BLAS threads slow them down many times over), it lets glibc keep
the memory each training step frees (``minigan.engine.keep_freed_memory``, as
``minigan train`` does), and it selects matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from minigan.engine import keep_freed_memory  # noqa: E402

keep_freed_memory()

DOCS_FIGURES = ROOT / "docs" / "figures"
MAX_FIGURE_BYTES = 200_000


def single_thread():
    """A context that limits BLAS to one thread now (numpy already imported), via threadpoolctl.

    The environment variables set above only act before numpy is first imported; code that
    imports a demo into a running session (the tests) uses this instead. Without
    threadpoolctl it does nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def parser(name: str, description: str) -> argparse.ArgumentParser:
    """An ArgumentParser with the options every demo takes: --out, --seed, --quick, --docs."""
    p = argparse.ArgumentParser(prog=f"demos/{name}.py", description=description)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("demo_output") / name,
        help=f"folder for the figures (default: demo_output/{name})",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a result")
    p.add_argument("--docs", action="store_true", help="also write the README figure(s) into docs/figures/")
    return p


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit('the demos need matplotlib: pip install -e ".[demos]"') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.dpi": 80,
            "savefig.dpi": 80,
            "font.size": 9,
            "axes.titlesize": 9,
            "legend.fontsize": 7.5,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )
    return plt


def save(fig, args, filename: str, docs: bool = True) -> Path:
    """Save ``fig`` as args.out/filename (PNG); with --docs and ``docs``, also in docs/figures/."""
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / filename
    fig.savefig(path, bbox_inches="tight")
    if docs and getattr(args, "docs", False):
        DOCS_FIGURES.mkdir(parents=True, exist_ok=True)
        fig.savefig(DOCS_FIGURES / filename, bbox_inches="tight")
        size = (DOCS_FIGURES / filename).stat().st_size
        if size > MAX_FIGURE_BYTES:
            print(f"warning: docs/figures/{filename} is {size // 1000} KB (> {MAX_FIGURE_BYTES // 1000} KB)")
    plt.close(fig)
    print(f"saved {path}")
    return path


def table(headers, rows, floatfmt="{:.4f}") -> str:
    """A plain-text table: headers (list of str), rows (lists of str/int/float)."""
    cells = [
        [c if isinstance(c, str) else (floatfmt.format(c) if isinstance(c, float) else str(c)) for c in r]
        for r in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


class Timer:
    """``with Timer() as t: ...``; then t.seconds."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def train_discriminator_only(gan, steps: int):
    """``steps`` discriminator steps alone (``GAN.discriminator_step``: steps 1-4) against the
    current, frozen G. Returns the list of L_D values."""
    return [float(gan.discriminator_step()[0]) for _ in range(steps)]


def moving_average(v, w: int):
    """Trailing moving average of a 1-D array over windows of w (shorter at the start)."""
    v = np.asarray(v, dtype=np.float64)
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.shape[0] + 1)
    lo = np.maximum(idx - w, 0)
    return (c[idx] - c[lo]) / (idx - lo)
