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

import contextlib
import math
import weakref
from contextlib import AbstractContextManager
from typing import Any

from ._types import Array, Grads

# --------------------------------------------------------------------------------------
# The plain formulas (any Array API namespace)
# --------------------------------------------------------------------------------------


class Ops:
    """The operations the core delegates, written as their formulas on the namespace ``xp``.

    This class is the reference: every subclass must compute the same numbers.
    """

    name = "plain"

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.xp, '__name__', self.xp)})"

    def matmul(self, a: Array, b: Array) -> Array:
        """a @ b for a (N, K) and b (K, F)."""
        return a @ b

    def affine(self, x: Array, W: Array, b: Array) -> Array:
        """x @ W + b: x (N, K), W (K, F), b (F,) → (N, F)."""
        return self.matmul(x, W) + b

    def sum_rows(self, a: Array) -> Array:
        """Σ_n a[n, :] for a (N, F) → (F,): the bias gradient 1ᵀ·dout."""
        return self.xp.sum(a, axis=0)

    def network_pass(self) -> AbstractContextManager[Any]:
        """A context around one forward or backward pass of a network (``MLP``): the plain ops
        reuse nothing, so it does nothing here."""
        return contextlib.nullcontext()

    def relu(self, x: Array, slope: float = 0.0) -> Array:
        """max(x, slope·x) for 0 ≤ slope < 1: ReLU (slope 0) and LeakyReLU (docs/MATH.md §8.2)."""
        return self.xp.maximum(x, 0.0) if slope == 0.0 else self.xp.maximum(x, slope * x)

    def relu_grad(self, dout: Array, y: Array, slope: float = 0.0) -> Array:
        """dout·[y > 0] + slope·dout·[y ≤ 0]: ReLU's (slope 0) and LeakyReLU's backward, from the
        layer's input or its output y (both are > 0 at the same places; docs/MATH.md §8.2)."""
        return self.xp.where(y > 0, dout, slope * dout)

    def maxout(self, z: Array) -> tuple[Array, Array]:
        """(out, winner) for z (N, U, P): out[n, j] = max_p z[n, j, p] (N, U), and what
        ``maxout_grad`` needs to route the gradient to the winning piece, here the first p
        that attains the max (docs/MATH.md §8.3)."""
        xp = self.xp
        return xp.max(z, axis=-1), xp.argmax(z, axis=-1)

    def maxout_grad(self, dout: Array, winner: Array, pieces: int) -> Array:
        """dz (N, U·P) from dout (N, U): dz[n, j, p] = dout[n, j]·[p = winner[n, j]],
        laid out as z was before the reshape (unit-major: column j·P + p)."""
        xp = self.xp
        onehot = winner[:, :, None] == xp.arange(pieces, device=winner.device)  # (N, U, P)
        dz = xp.where(onehot, dout[:, :, None], xp.asarray(0.0, dtype=dout.dtype, device=dout.device))
        return xp.reshape(dz, (dz.shape[0], dz.shape[1] * pieces))

    def maxout_pick(self, z: Array, winner: Array) -> Array:
        """z[n, j, winner[n, j]] for z (N, U, P): each unit's winning piece of another array of
        z's shape (the double backward's J·v, docs/MATH.md §12.2)."""
        xp = self.xp
        onehot = winner[:, :, None] == xp.arange(z.shape[-1], device=winner.device)
        return xp.sum(xp.where(onehot, z, xp.asarray(0.0, dtype=z.dtype, device=z.device)), axis=-1)

    def softplus_sigmoid(self, l: Array) -> tuple[Array, Array]:
        """(sp(l), σ(l)), sharing e = e^−|l| ≤ 1 (docs/MATH.md §5), so neither ever overflows:

        sp(l) = log(1 + e^l) = max(l, 0) + log1p(e),    σ(l) = 1/(1 + e^−l) = (1 if l ≥ 0 else e)/(1 + e).
        """
        xp = self.xp
        e = xp.exp(-xp.abs(l))
        r = 1.0 / (1.0 + e)
        return xp.maximum(l, 0.0) + xp.log1p(e), xp.where(l >= 0, r, e * r)

    def apply_updates(self, opt: Any, params: dict[str, Array], grads: Grads) -> None:
        """p ← p − δ for each parameter, δ = ``opt.direction(g, state)`` (the rule of docs/MATH.md §9),
        one parameter at a time; ``opt.slots[slot][name]`` keeps each state array; sets
        ``opt.grad_sq`` = Σ g² over all the gradients."""
        xp = self.xp
        grad_sq = 0.0
        for name, g in grads.items():
            state = {s: opt.slots.setdefault(s, {}).get(name) for s in opt.slot_names}
            state = {s: xp.zeros_like(g) if a is None else a for s, a in state.items()}
            delta = opt.direction(g, state)
            for s, a in state.items():
                opt.slots[s][name] = a
            params[name] -= delta
            grad_sq = grad_sq + xp.sum(g * g)
        opt.grad_sq = grad_sq


# --------------------------------------------------------------------------------------
# NumPy: BLAS-friendly shapes, fewer temporaries, one flat optimizer update
# --------------------------------------------------------------------------------------

BLOCK = 1 << 16  # elements per block of the flat optimizer update and of in-place work (256 KiB of float32)
# An activation's forward overwrites its input (block by block) only from this many elements on
# (32 MiB of float32): there a fresh array costs more in page faults and memory than the extra
# passes; below it one pass into a new array is fastest.
INPLACE_MIN = 1 << 23


class NumpyOps(Ops):
    """The CPU tricks, measured on NumPy + OpenBLAS (benchmarks/README.md)."""

    name = "numpy"

    def __init__(self) -> None:
        import numpy

        super().__init__(numpy)
        self._ones: dict[Any, Array] = {}  # (N, dtype) -> a vector of N ones, for sum_rows
        self._unit_starts: dict[Any, Array] = {}  # (N, U, P) -> each unit's first flat index, for maxout
        # Inside a network pass, the arrays the products made (id -> weak reference): each is seen
        # only by the pass, which hands it from one layer to the next, so the layer after may
        # overwrite it (an activation over the pre-activation, a mask over the gradient) instead
        # of making one more activation-sized array. Forgotten when the outermost pass ends.
        self._made: dict[int, weakref.ref[Any]] = {}
        self._depth = 0
        self._scope = _PassScope(self)

    def network_pass(self) -> AbstractContextManager[Any]:
        return self._scope

    def _ours(self, a: Array) -> bool:
        r = self._made.get(id(a))
        return r is not None and r() is a

    def matmul(self, a: Array, b: Array) -> Array:
        # With K = 1 the product is an outer product, out[n, f] = a[n, 0]·b[0, f]: NumPy cannot
        # hand an inner dimension of 1 to BLAS and loops, 2-3× slower than this broadcast (D's
        # last layer has one output, so its dx = dout @ Wᵀ is such a product).
        out = a * b if a.shape[1] == 1 else a @ b
        if self._depth:
            self._made[id(out)] = weakref.ref(out)  # made by the pass
        return out

    def affine(self, x: Array, W: Array, b: Array) -> Array:
        out = x * W if x.shape[1] == 1 else x @ W  # as matmul
        out += b  # in place: out is new, and this saves an (N, F) temporary
        if self._depth:
            self._made[id(out)] = weakref.ref(out)
        return out

    def relu(self, x: Array, slope: float = 0.0) -> Array:
        if x.size < INPLACE_MIN or not self._ours(x):  # the cheap test first (a hot path)
            return super().relu(x, slope)
        for r in _row_blocks(x):  # x·(1 if x > 0 else slope), over x
            x[r] *= self._gate(x[r], slope, x.dtype)
        return x

    def sum_rows(self, a: Array) -> Array:
        # 1ᵀ·a as a matrix-vector product: a BLAS GEMV is several times faster than NumPy's
        # strided reduction over axis 0
        key = (a.shape[0], a.dtype)
        ones = self._ones.get(key)
        if ones is None:
            ones = self._ones[key] = self.xp.ones(a.shape[0], dtype=a.dtype)
        return ones @ a

    def relu_grad(self, dout: Array, y: Array, slope: float = 0.0) -> Array:
        # a product with the 0/1 mask: NumPy's where over a random mask is about ten times
        # slower than compare + cast + multiply; over dout, block by block, when the pass made it
        if self._ours(dout):
            astype, dt = self.xp.astype, dout.dtype
            for r in _row_blocks(dout):
                dout[r] *= astype(y[r] > 0, dt) if not slope else self._gate(y[r], slope, dt)
            return dout
        mask = self._gate(y, slope, dout.dtype)
        mask *= dout
        return mask

    def _gate(self, y, slope, dtype):
        """1 where y > 0, else slope: [y > 0] + slope·[y ≤ 0] = slope + (1 − slope)·[y > 0]."""
        mask = self.xp.astype(y > 0, dtype)
        if slope:
            mask *= 1.0 - slope
            mask += slope
        return mask

    def maxout(self, z: Array) -> tuple[Array, Array]:
        # NumPy reduces over a short last axis (the P pieces) one row at a time, and argmax
        # likewise: for PacGAN's D both took ~10× longer than whole-array operations. So: one
        # strided copy to piece-major (P, N, U), then contiguous passes: the max as a chain of
        # maximum, and the first winner p = the number of leading pieces that are not the max,
        # counted in int8 (a byte a unit, not the 8 of an index).
        np = self.xp
        n, units, pieces = z.shape
        zp = np.ascontiguousarray(np.moveaxis(z, 2, 0))  # zp[p] = z[:, :, p]
        out = np.maximum(zp[0], zp[1]) if pieces > 1 else zp[0]
        for p in range(2, pieces):
            np.maximum(out, zp[p], out=out)
        if pieces > 127:  # a count that does not fit a byte
            return out, np.argmax(z, axis=-1)
        behind = zp[0] != out
        winner = behind.view(np.int8).copy()  # bool is one byte, 0 or 1
        for p in range(1, pieces - 1):
            behind &= zp[p] != out
            winner += behind.view(np.int8)
        return out, winner

    def maxout_grad(self, dout: Array, winner: Array, pieces: int) -> Array:
        # a scatter into a zero array: 10× faster than the one-hot where
        n, units = winner.shape
        dz = self.xp.zeros(n * units * pieces, dtype=dout.dtype)
        dz[self._flat(winner, pieces)] = dout.reshape(-1)
        return dz.reshape(n, units * pieces)

    def maxout_pick(self, z: Array, winner: Array) -> Array:
        n, units, pieces = z.shape
        return z.reshape(-1)[self._flat(winner, pieces)].reshape(n, units)

    def _flat(self, winner, pieces):
        """The flat index (n·U + j)·P + winner[n, j] of each unit's winning piece, (N·U,)."""
        n, units = winner.shape
        key = (n, units, pieces)
        start = self._unit_starts.get(key)  # (n·U + j)·P, the same for every step of a shape
        if start is None:
            if len(self._unit_starts) > 16:  # a few shapes recur (the batch, its fake rows)
                self._unit_starts.clear()
            start = self._unit_starts[key] = self.xp.arange(0, n * units * pieces, pieces,
                                                            dtype=self.xp.intp).reshape(n, units)
        return (start + winner).reshape(-1)

    def apply_updates(self, opt: Any, params: dict[str, Array], grads: Grads) -> None:
        _flat_updates(self.xp, opt, params, grads, BLOCK, adam=_adam_inplace)
        flat = getattr(opt, "_flat", None)
        if flat is not None and opt.t % FLUSH_EVERY == 0:
            for state in flat[1].values():
                _flush_subnormals(self.xp, state)


# Every FLUSH_EVERY optimizer steps NumpyOps sets the optimizer state's subnormal numbers (0 < |x| <
# the dtype's smallest normal number, 1.2e-38 in float32) to 0. A moment whose gradient stays 0 (a
# maxout piece that never wins) decays by β each step into the subnormal range and then sticks
# there (0.8·1 ulp rounds back to 1 ulp), and x86 CPUs compute on subnormal operands many times
# slower: after 227,000 steps of PacGAN's protocol 45 % of D's first moments were subnormal and the
# step took 27.5 ms instead of 17.5. A value below 1.2e-38 in m or v moves no parameter
# measurably (lr·m̂/(sqrt(v̂) + eps) with eps = 1e-8), and GPUs flush such values by default.
FLUSH_EVERY = 100


def _flush_subnormals(np: Any, a: Array) -> None:
    """a[i] ← 0 wherever 0 < |a[i]| < the smallest normal number of a's dtype (in place)."""
    np.copyto(a, 0, where=np.abs(a) < np.finfo(a.dtype).tiny)


class _PassScope:
    """NumpyOps.network_pass(): counts nested passes; the outermost one's end forgets the arrays."""

    def __init__(self, ops):
        self.ops = ops

    def __enter__(self):
        self.ops._depth += 1

    def __exit__(self, *exc):
        self.ops._depth -= 1
        if not self.ops._depth:
            self.ops._made.clear()


def _row_blocks(x):
    """Row slices covering a 2-D array in blocks of about a quarter of it, 16K to 64K elements: a
    block's temporaries stay small and in cache, and the per-block call overhead stays small."""
    n, f = x.shape
    size = min(max(n * f // 4, 1 << 14), 1 << 16)
    step = max(1, size // max(f, 1))
    return [slice(a, min(a + step, n)) for a in range(0, n, step)]


# --------------------------------------------------------------------------------------
# The flat update: every parameter of a network as one vector
# --------------------------------------------------------------------------------------


def _flat_updates(xp, opt, params, grads, block, adam):
    """``Ops.apply_updates`` over one flat vector: the gradients are joined into g, the state is
    kept in flat vectors (``opt.slots[slot][name]`` are views into them, so it still reads and
    saves per parameter), and the rule runs block by block (its temporaries stay in cache), a
    handful of array operations per step instead of a handful per parameter. Adam runs as
    ``adam`` (its arithmetic in place); the other rules as ``opt.direction`` on each block."""
    if not grads:
        return
    layout = tuple((name, tuple(g.shape), math.prod(g.shape)) for name, g in grads.items())
    g = xp.concat([xp.reshape(grads[name], (n,)) for name, _, n in layout])
    opt.grad_sq = g @ g
    state = _flat_state(xp, opt, layout, g)
    total = g.shape[0]
    for a in range(0, total, block):
        r = slice(a, min(a + block, total))
        part = {s: v[r] for s, v in state.items()}
        if opt.name == "adam":
            adam(opt, g[r], part["m"], part["v"])  # δ written over g[r]
            continue
        delta = opt.direction(g[r], part)
        for s, v in part.items():
            state[s][r] = v
        g[r] = delta
    a = 0
    for name, shape, n in layout:
        p = params[name]
        p -= xp.reshape(g[a:a + n], shape)  # p ← p − δ[part of p]
        a += n


def _flat_state(xp: Any, opt: Any, layout: Any, g: Array) -> dict[str, Array]:
    """slot -> flat state vector for ``layout``, kept on the optimizer; rebuilt (from the
    per-parameter slots, zeros where none) when the parameters change or the slots were replaced."""
    cache = getattr(opt, "_flat", None)
    if cache is not None and cache[0] == layout and all(
        opt.slots.get(s, {}).get(name) is cache[2][s][name] for s in opt.slot_names for name, _, _ in layout
    ):
        return cache[1]
    total = sum(n for _, _, n in layout)
    flats, views = {}, {}
    for s in opt.slot_names:
        old = opt.slots.setdefault(s, {})
        flat = xp.zeros((total,), dtype=g.dtype, device=g.device)
        v, a = {}, 0
        for name, shape, n in layout:
            v[name] = xp.reshape(flat[a:a + n], shape)
            if name in old:
                v[name][...] = old[name]
            a += n
        flats[s], views[s] = flat, v
        old.update(v)
    opt._flat = (layout, flats, views)
    return flats


def _adam_scalars(opt):
    """Adam's scalars at step t, in the array's dtype when used: β1, 1 − β1, β2, 1 − β2, the bias
    corrections c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ, lr and eps (docs/MATH.md §9.2)."""
    return (opt.b1, 1.0 - opt.b1, opt.b2, 1.0 - opt.b2, 1.0 - opt.b1**opt.t, 1.0 - opt.b2**opt.t, opt.lr, opt.eps)


def _adam_inplace(opt, g, m, v):
    """``optim.Adam.direction`` with its arithmetic in place, the same operations in the same
    order (so the same numbers, bit for bit): m, v updated, δ written over g; one temporary.
    NumPy or CuPy arrays (``out=``)."""
    xp = g.__array_namespace__()
    b1, omb1, b2, omb2, c1, c2, lr, eps = _adam_scalars(opt)
    t = g * g
    t *= omb2
    v *= b2
    v += t  # v ← β2·v + (1−β2)·g²
    g *= omb1
    m *= b1
    m += g  # m ← β1·m + (1−β1)·g
    xp.divide(m, c1, out=g)
    g *= lr  # lr·(m/c1)
    xp.divide(v, c2, out=t)
    xp.sqrt(t, out=t)
    t += eps
    g /= t  # δ = lr·(m/c1)/(sqrt(v/c2) + eps)
    return g


# --------------------------------------------------------------------------------------
# CuPy: one kernel where a chain of small ones would be launched (opt-in)
# --------------------------------------------------------------------------------------

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
ADAM_SOURCE = (
    "m = b1 * m + omb1 * g;"
    " v = b2 * v + omb2 * (g * g);"
    " g = lr * (m / c1) / (sqrt(v / c2) + eps);"
)


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
                k = cp.ElementwiseKernel("T l", "T sp, T sg", SOFTPLUS_SIGMOID_SOURCE, "minigan_sp_sigmoid",
                                         preamble="#define ZERO ((T)0)")
            else:
                k = cp.ElementwiseKernel("T b1, T omb1, T b2, T omb2, T c1, T c2, T lr, T eps", "T g, T m, T v",
                                         ADAM_SOURCE, "minigan_adam")
            self._kernels[name] = k
        return self._kernels[name]

    def softplus_sigmoid(self, l: Array) -> tuple[Array, Array]:
        if self.fused:
            return self._kernel("softplus_sigmoid")(l)
        return super().softplus_sigmoid(l)

    def apply_updates(self, opt: Any, params: dict[str, Array], grads: Grads) -> None:
        _flat_updates(self.xp, opt, params, grads, block=1 << 62,
                      adam=self._adam_fused if self.fused else _adam_inplace)

    def _adam_fused(self, opt, g, m, v):
        t = g.dtype.type
        self._kernel("adam")(*(t(c) for c in _adam_scalars(opt)), g, m, v)
        return g


def run_source(source: str, **arrays: Any) -> dict[str, Any]:
    """Run a kernel body with NumPy (the tests' CPU check): ``arrays`` are its parameters by name;
    returns every name afterwards (outputs rebound to new arrays)."""
    import numpy as np

    env = {"exp": np.exp, "log1p": np.log1p, "sqrt": np.sqrt, "fabs": np.abs, "fmax": np.fmax, "ZERO": 0.0, **arrays}
    exec(compile(source, "<kernel>", "exec"), {"__builtins__": {}}, env)  # noqa: S102 - our own constant text
    return env


# --------------------------------------------------------------------------------------
# Finding the ops of an array
# --------------------------------------------------------------------------------------
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
