"""The plain formulas of the operations the core delegates (any Array API namespace): the reference
that every faster ``Ops`` must agree with (``tests/test_engine.py``)."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import Any

from .._types import Array, Grads


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
