"""The flat optimizer update shared by the NumPy and CuPy engines: every parameter of a network as
one vector, updated in blocks (Adam in place)."""

from __future__ import annotations

import math
from typing import Any

from .._types import Array


def flat_updates(xp, opt, params, grads, block, adam):
    """``Ops.apply_updates`` over one flat vector: the gradients are joined into g, the state is
    kept in flat vectors (``opt.slots[slot][name]`` are views into them, so it still reads and
    saves per parameter), and the rule runs block by block (its temporaries stay in cache), a
    handful of array operations per step instead of a handful per parameter. Adam runs as
    ``adam`` (its arithmetic in place); the other rules as ``opt.direction`` on each block."""
    if not grads:
        return
    # NumPy and CuPy arrays only, so their .reshape method: numpy's np.reshape function costs
    # about 1 µs more a call, and this runs twice per parameter per step
    layout = tuple((name, tuple(g.shape), math.prod(g.shape)) for name, g in grads.items())
    g = xp.concat([grads[name].reshape(n) for name, _, n in layout])
    opt.grad_sq = g @ g
    state = flat_state(xp, opt, layout, g)
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
        p -= g[a : a + n].reshape(shape)  # p ← p − δ[part of p]
        a += n


def flat_state(xp: Any, opt: Any, layout: Any, g: Array) -> dict[str, Array]:
    """slot -> flat state vector for ``layout``, kept on the optimizer; rebuilt (from the
    per-parameter slots, zeros where none) when the parameters change or the slots were replaced."""
    cache = getattr(opt, "_flat", None)
    if (
        cache is not None
        and cache[0] == layout
        and all(
            opt.slots.get(s, {}).get(name) is cache[2][s][name]
            for s in opt.slot_names
            for name, _, _ in layout
        )
    ):
        return cache[1]
    total = sum(n for _, _, n in layout)
    flats, views = {}, {}
    for s in opt.slot_names:
        old = opt.slots.setdefault(s, {})
        flat = xp.zeros((total,), dtype=g.dtype, device=g.device)
        v, a = {}, 0
        for name, shape, n in layout:
            v[name] = xp.reshape(flat[a : a + n], shape)
            if name in old:
                v[name][...] = old[name]
            a += n
        flats[s], views[s] = flat, v
        old.update(v)
    opt._flat = (layout, flats, views)
    return flats


def adam_scalars(opt):
    """Adam's scalars at step t, in the array's dtype when used: β1, 1 − β1, β2, 1 − β2, the bias
    corrections c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ, lr and eps (docs/MATH.md §9.2)."""
    return (
        opt.b1,
        1.0 - opt.b1,
        opt.b2,
        1.0 - opt.b2,
        1.0 - opt.b1**opt.t,
        1.0 - opt.b2**opt.t,
        opt.lr,
        opt.eps,
    )


def adam_inplace(opt, g, m, v):
    """``optim.Adam.direction`` with its arithmetic in place, the same operations in the same
    order (so the same numbers, bit for bit): m, v updated, δ written over g; one temporary.
    NumPy or CuPy arrays (``out=``)."""
    xp = g.__array_namespace__()
    b1, omb1, b2, omb2, c1, c2, lr, eps = adam_scalars(opt)
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
