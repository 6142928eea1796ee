"""The engine room: every speed trick of minigan, behind one interface, ``Ops``.

The core (``layers``, ``networks``, ``losses``, ``optim``, ``training``) writes each formula
once. For the few operations where some array library has a faster way to the same numbers,
the core calls a method of an ``Ops`` object instead of writing the operation out:

- ``matmul(a, b)`` = a @ b. NumpyOps: an outer product (K = 1) as a broadcast.
- ``affine(x, W, b)`` = x @ W + b. NumpyOps: the bias added in place.
- ``sum_rows(a)`` = Σ_n a[n, :] (the bias gradient). NumpyOps: a GEMV with a vector of ones.
- ``relu(x, slope)`` = max(x, slope·x). NumpyOps: over x, when the pass made x (below).
- ``relu_grad(dout, y, slope)`` = dout·(1 if y > 0 else slope). NumpyOps: compare, cast and
  multiply instead of ``where``; over dout, when the pass made dout.
- ``maxout(z)`` = (max_p z[n, j, p], the winning piece) and ``maxout_grad(dout, winner, pieces)`` =
  dout[n, j] at the winning piece, 0 elsewhere (``maxout_pick``: another array at the winners).
  ``winner`` is the piece's index p (plain: argmax's integers). NumpyOps: one copy to piece-major
  order, then the max as a chain of ``maximum`` over the pieces and the winner counted from it in
  int8 (no reduction over a short last axis, no ``argmax``); the backward as a scatter into a zero
  array (no one-hot ``where``).
- ``softplus_sigmoid(l)`` = (sp(l), σ(l)) in their stable forms (docs/MATH.md §5). CupyOps
  (opt-in): one kernel.
- ``apply_updates(opt, params, grads)``: p ← p − ``opt.direction(g)`` for every parameter.
  NumpyOps, CupyOps: all parameters as one flat vector, in cache-sized blocks, Adam in place
  (CupyOps, opt-in: one kernel). NumpyOps also sets the optimizer state's subnormal numbers to 0
  every ``FLUSH_EVERY`` steps (x86 computes on them many times slower; below).
- ``network_pass()``: a context around one pass through a network. Inside it NumpyOps may
  overwrite an array that a product of the same pass made — nobody else has seen it — instead of
  making one more activation-sized array (the plain ops reuse nothing).

The backend chooses: ``get_backend("numpy").ops`` is a :class:`NumpyOps`, ``"cupy"`` a
:class:`CupyOps`, ``"strict"`` the plain :class:`Ops` — so the test suite runs the plain
formulas on array-api-strict, and ``tests/test_engine.py`` proves that each fast path computes
them (bit for bit where the operations are the same; else within 1e-6 relative in float32 and
1e-12 in float64). Functions that receive arrays but no backend (the losses) find the ops with
:func:`ops_for`. Nothing here reads the environment: whether CuPy uses its fused kernels is an
option of the backend (``get_backend("cupy", fused=True)``).

Also here, because it is a speed trick too: :func:`keep_freed_memory` (glibc keeps freed
memory; the ``train`` and ``bench`` commands call it). benchmarks/README.md says what each trick
measured.
"""

from __future__ import annotations

from .._types import Array
from .cupy_ops import ADAM_SOURCE, SOFTPLUS_SIGMOID_SOURCE, CupyOps, run_source
from .flat_update import adam_inplace, adam_scalars, flat_updates
from .numpy_ops import BLOCK, FLUSH_EVERY, INPLACE_MIN, NumpyOps
from .reference import Ops

__all__ = [
    "Ops",
    "NumpyOps",
    "CupyOps",
    "BLOCK",
    "INPLACE_MIN",
    "FLUSH_EVERY",
    "SOFTPLUS_SIGMOID_SOURCE",
    "ADAM_SOURCE",
    "run_source",
    "flat_updates",
    "adam_scalars",
    "adam_inplace",
    "register",
    "ops_for",
    "on_gpu",
    "keep_freed_memory",
]

_BY_NAMESPACE: dict[str, Ops] = {}  # namespace module name -> the Ops its backend registered


def register(ops: Ops) -> Ops:
    """Make ``ops`` what :func:`ops_for` returns for arrays of its namespace (the backend calls it)."""
    _BY_NAMESPACE[ops.xp.__name__] = ops
    return ops


def ops_for(x: Array) -> Ops:
    """The ops for array ``x``: those its backend registered, else the plain ones."""
    xp = x.__array_namespace__()
    ops = _BY_NAMESPACE.get(xp.__name__)
    if ops is None:
        ops = register(NumpyOps() if xp.__name__ == "numpy" else Ops(xp))
    return ops


def on_gpu(x: Array) -> bool:
    """Whether x is a GPU (CuPy) array."""
    return type(x).__module__.startswith("cupy")


def keep_freed_memory() -> bool:
    """Ask the C allocator (glibc's malloc) to keep freed memory for reuse; True if it took.

    A training step makes and frees the same arrays every step. By default glibc serves large
    arrays with fresh ``mmap`` pages and hands freed memory back to the OS, so every step pays
    page faults (the kernel zeroes each page again) to get the same memory back. This sets
    M_MMAP_MAX = 0 (arrays come from the heap) and M_TRIM_THRESHOLD = 2 GiB (the heap keeps what
    is freed); the price is that the process keeps its peak memory until it exits.
    Process-wide, so the library never calls it on import: the ``train`` and ``bench`` commands
    and the demos do. A no-op (False) where there is no glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's malloc.h
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
