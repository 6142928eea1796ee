"""NumPy: BLAS-friendly shapes, fewer temporaries, one flat optimizer update (measured in
benchmarks/README.md)."""

from __future__ import annotations

import weakref
from contextlib import AbstractContextManager
from typing import Any

from .._types import Array, Grads
from .flat_update import adam_inplace, flat_updates
from .reference import Ops

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
            start = self._unit_starts[key] = self.xp.arange(
                0, n * units * pieces, pieces, dtype=self.xp.intp
            ).reshape(n, units)
        return (start + winner).reshape(-1)

    def apply_updates(self, opt: Any, params: dict[str, Array], grads: Grads) -> None:
        flat_updates(self.xp, opt, params, grads, BLOCK, adam=adam_inplace)
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
