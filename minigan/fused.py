"""Fused CuPy kernels for the two elementwise chains of a step (opt-in: ``MINIGAN_FUSED=1``).

On a GPU every array operation is a kernel launch, and the losses and the Adam update are
chains of a dozen small operations: one kernel per operation costs a launch and a trip
through memory each. Here each chain is one ``cupy.ElementwiseKernel``:

- ``softplus_sigmoid(l)``: sp(l) = max(l, 0) + log1p(e^−|l|) and σ(l) = (1 if l ≥ 0 else
  e^−|l|)/(1 + e^−|l|), the forms of ``losses.softplus_sigmoid``, the core of every loss's value
  and gradient;
- ``adam(g, m, v, ...)``: Adam's moments and move, the arithmetic of ``optim.Adam.direction``
  (m ← β1·(m − g) + g; v ← β2·(v − g²) + g²; δ = (m/(sqrt(v) + eps_c))·scale, written over g).

They are used only on CuPy arrays and only with ``MINIGAN_FUSED=1`` in the environment; the
generic Array API code stays the reference. Status: prepared without a GPU (none was lent to
the session that wrote them): ``benchmarks/gpu_check.sh`` runs their tests and the benchmark with
and without them. Adopt them by default only if it shows they help.

Each kernel body is written in the small common subset of CUDA C++ and Python (assignments
ending in ``;``, arithmetic, comparisons, ``exp``/``log1p``/``sqrt``/``fabs``/``fmax``), so the tests can
run the very same text with NumPy on a CPU (:func:`run_source`) and check it against the
generic code: only the compilation is left to the GPU.
"""

from __future__ import annotations

import os

from .backend import on_gpu

# σ(l) without a branch: [l ≥ 0]·r + [l < 0]·(e·r) with e = e^−|l|, r = 1/(1 + e), the
# products of ``losses.softplus_sigmoid`` (1·r + 0·(e·r) = r exactly: e·r is finite);
# max(l, 0) as fmax(l, 0), which is also 0 at l = −∞. ZERO is 0 in the kernel's type.
SOFTPLUS_SIGMOID_SOURCE = (
    "sp = fmax(l, ZERO) + log1p(exp(-fabs(l)));"
    " sg = (l >= 0) * (1 / (1 + exp(-fabs(l))))"
    " + (l < 0) * (exp(-fabs(l)) * (1 / (1 + exp(-fabs(l)))));"
)

# Adam (Kingma & Ba 2015) as optim.Adam.direction writes it, in its order of operations;
# eps_c = eps·sqrt(1 − β2ᵗ), scale = lr·sqrt(1 − β2ᵗ)/(1 − β1ᵗ).
ADAM_SOURCE = (
    "m = (m - g) * b1 + g;"
    " v = (v - g * g) * b2 + g * g;"
    " g = m / (sqrt(v) + eps_c) * scale;"
)

_kernels = {}


def enabled(x) -> bool:
    """Whether the fused kernels apply to array x: a CuPy array, and ``MINIGAN_FUSED=1``."""
    return on_gpu(x) and os.environ.get("MINIGAN_FUSED") == "1"  # the cheap test first (a hot path)


def _kernel(name):
    if name not in _kernels:
        import cupy

        if name == "softplus_sigmoid":
            _kernels[name] = cupy.ElementwiseKernel("T l", "T sp, T sg", SOFTPLUS_SIGMOID_SOURCE, "minigan_sp_sigmoid",
                                                    preamble="#define ZERO ((T)0)")
        else:
            _kernels[name] = cupy.ElementwiseKernel("T b1, T b2, T eps_c, T scale", "T g, T m, T v", ADAM_SOURCE,
                                                    "minigan_adam")
    return _kernels[name]


def softplus_sigmoid(l):
    """(sp(l), σ(l)) in one kernel (see SOFTPLUS_SIGMOID_SOURCE); l a CuPy float array."""
    return _kernel("softplus_sigmoid")(l)


def adam(g, m, v, b1, b2, eps_c, scale):
    """Adam's step in one kernel, in place: m, v updated, δ written over g (see ADAM_SOURCE)."""
    t = g.dtype.type
    _kernel("adam")(t(b1), t(b2), t(eps_c), t(scale), g, m, v)
    return g


def run_source(source: str, **arrays) -> dict:
    """Run a kernel body with NumPy (the tests' CPU check): ``arrays`` are its parameters by
    name; returns every name afterwards (the outputs are rebound to new arrays)."""
    import numpy as np

    env = {"exp": np.exp, "log1p": np.log1p, "sqrt": np.sqrt, "fabs": np.abs, "fmax": np.fmax, "ZERO": 0.0, **arrays}
    exec(compile(source, "<kernel>", "exec"), {"__builtins__": {}}, env)  # noqa: S102 - our own constant text
    return env
