"""CuPy: one kernel where a chain of small ones would be launched (opt-in)."""

from __future__ import annotations

from typing import Any

from .._types import Array, Grads
from .flat_update import adam_inplace, adam_scalars, flat_updates
from .reference import Ops

# The kernel bodies are written in the common subset of CUDA C++ and Python (assignments ending
# in ";", arithmetic, comparisons, exp/log1p/sqrt/fabs/fmax), so the tests run the very same text
# with NumPy on a CPU (run_source) against the plain formulas: only compiling is left to a GPU.
# σ without a branch: [l ≥ 0]·r + [l < 0]·(e·r), e = e^−|l|, r = 1/(1 + e), the products of
# Ops.softplus_sigmoid; max(l, 0) as fmax(l, ZERO) (also 0 at l = −∞).
SOFTPLUS_SIGMOID_SOURCE = (
    "sp = fmax(l, ZERO) + log1p(exp(-fabs(l)));"
    " sg = (l >= 0) * (1 / (1 + exp(-fabs(l))))"
    " + (l < 0) * (exp(-fabs(l)) * (1 / (1 + exp(-fabs(l)))));"
)
# Adam as optim.Adam.direction computes it, in its order of operations.
ADAM_SOURCE = "m = b1 * m + omb1 * g; v = b2 * v + omb2 * (g * g); g = lr * (m / c1) / (sqrt(v / c2) + eps);"


class CupyOps(Ops):
    """The GPU: the flat optimizer update in one block; with ``fused=True`` the loss chain and
    the Adam update as one ``cupy.ElementwiseKernel`` each (opt-in until a GPU has measured them:
    benchmarks/gpu_check.sh)."""

    name = "cupy"

    def __init__(self, cupy: Any, fused: bool = False) -> None:
        super().__init__(cupy)
        self.fused = bool(fused)
        self._kernels: dict[str, Any] = {}

    def _kernel(self, name):
        if name not in self._kernels:
            cp = self.xp
            if name == "softplus_sigmoid":
                k = cp.ElementwiseKernel(
                    "T l",
                    "T sp, T sg",
                    SOFTPLUS_SIGMOID_SOURCE,
                    "minigan_sp_sigmoid",
                    preamble="#define ZERO ((T)0)",
                )
            else:
                k = cp.ElementwiseKernel(
                    "T b1, T omb1, T b2, T omb2, T c1, T c2, T lr, T eps",
                    "T g, T m, T v",
                    ADAM_SOURCE,
                    "minigan_adam",
                )
            self._kernels[name] = k
        return self._kernels[name]

    def softplus_sigmoid(self, l: Array) -> tuple[Array, Array]:
        if self.fused:
            return self._kernel("softplus_sigmoid")(l)
        return super().softplus_sigmoid(l)

    def apply_updates(self, opt: Any, params: dict[str, Array], grads: Grads) -> None:
        flat_updates(
            self.xp, opt, params, grads, block=1 << 62, adam=self._adam_fused if self.fused else adam_inplace
        )

    def _adam_fused(self, opt, g, m, v):
        t = g.dtype.type
        self._kernel("adam")(*(t(c) for c in adam_scalars(opt)), g, m, v)
        return g


def run_source(source: str, **arrays: Any) -> dict[str, Any]:
    """Run a kernel body with NumPy (the tests' CPU check): ``arrays`` are its parameters by name;
    returns every name afterwards (outputs rebound to new arrays)."""
    import numpy as np

    env = {
        "exp": np.exp,
        "log1p": np.log1p,
        "sqrt": np.sqrt,
        "fabs": np.abs,
        "fmax": np.fmax,
        "ZERO": 0.0,
        **arrays,
    }
    exec(compile(source, "<kernel>", "exec"), {"__builtins__": {}}, env)  # noqa: S102 - our own constant text
    return env
