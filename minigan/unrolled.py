"""Unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein 2017, arXiv 1611.02163): G descends
f_K(θ_G, θ_D) = f(θ_G, θ_D^K(θ_G, θ_D)), θ_D^K D's parameters after K steps of its own optimizer,
and the adjoint of those K steps, by hand (docs/MATH.md §17).

The K steps, on one batch, from θ_D^0 = θ_D and D's optimizer state s_0 (its moments and step count):

    g_k = ∇θD L_D(θ_G, θ_D^k),   (θ_D^{k+1}, s_{k+1}) = step(θ_D^k, s_k, g_k),   k = 0 … K−1

with ``step`` D's configured rule (``optim``: SGD with momentum, Adam with its bias corrections
counting on from D's own step count, RMSProp). Then f_K = f(θ_G, θ_D^K), and by the chain rule

    df_K/dθ_G = ∂f/∂θ_G + Σ_k (∂g_k/∂θ_G)ᵀ ḡ_k,      ∂g_k/∂θ_G = ∂²L_D/∂θ_G∂θ_D at θ_D^k,

where the adjoints run backwards from θ̄^K = ∂f/∂θ_D^K, s̄_K = 0: each step's ``ADJOINTS`` rule gives
ḡ_k and s̄_k from θ̄^{k+1} and s̄_{k+1}, and θ̄^k = θ̄^{k+1} + H_DD(θ_D^k)·ḡ_k. Both products come from
``second_order.UnrollPass.d_products``; the mixed one arrives as a gradient in G's samples, so every
step's and ∂f/∂x_f are summed first and sent back through G once. The paper's ablation (θ_D^K held
constant: ``constant=True``) keeps ∂f/∂θ_G alone and skips the backward sweep.

The unrolled copies are dropped: D's parameters and optimizer are left as they were, and D's own
step (the paper's Eq. 11) is taken by the caller from g_0, the same state G's gradient starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._types import Array, Grads

__all__ = ["ADJOINTS", "MAX_STEPS", "unrolled_gradients"]

MAX_STEPS = 100  # K: the backward sweep keeps K passes of D (its activations, parameters and moments)


# -- each rule's adjoint (docs/MATH.md §17.2) ----------------------------------------------------------
# rule(cfg, t, g, after, θ̄', s̄') -> (ḡ, s̄): one parameter's arrays, for the step that took state s to
# s' = ``after`` (the slots after it) at step count t, from the adjoints θ̄' of θ' and s̄' of s' (a slot
# missing from s̄' is 0).
def sgd_adjoint(cfg: dict, t: int, g: Array, after: dict, bar: Array, bar_s: dict) -> tuple[Array, dict]:
    """v' = μ·v − η·g,  θ' = θ + v'   ⇒   v̄' += θ̄',  ḡ = −η·v̄',  v̄ = μ·v̄'   (μ = 0: ḡ = −η·θ̄')."""
    lr, mu = cfg["lr"], cfg["momentum"]
    if mu == 0.0:
        return -lr * bar, {}
    bar_v = bar + bar_s["v"] if "v" in bar_s else bar
    return -lr * bar_v, {"v": mu * bar_v}


def adam_adjoint(cfg: dict, t: int, g: Array, after: dict, bar: Array, bar_s: dict) -> tuple[Array, dict]:
    """m' = β1·m + (1−β1)·g,  v' = β2·v + (1−β2)·g²,  θ' = θ − η·m̂/(ŝ + ε),  m̂ = m'/c1, ŝ = √(v'/c2),
    c_i = 1 − β_iᵗ   ⇒   m̄' += −η·θ̄'/(c1·(ŝ + ε)),  v̄' += η·θ̄'·m̂/((ŝ + ε)²·2ŝ·c2) (0 where v' = 0,
    where m' = 0 too),  ḡ = (1−β1)·m̄' + 2(1−β2)·g·v̄',  m̄ = β1·m̄',  v̄ = β2·v̄'."""
    xp = g.__array_namespace__()
    (b1, b2), lr, eps = cfg["betas"], cfg["lr"], cfg["eps"]
    c1, c2 = 1.0 - b1**t, 1.0 - b2**t
    s = xp.sqrt(after["v"] / c2)
    den = s + eps
    positive = s > 0
    dv = lr * (after["m"] / c1) / (den * den * 2.0 * xp.where(positive, s, xp.ones_like(s)) * c2)
    bar_m = -lr * bar / (c1 * den)
    bar_v = xp.where(positive, bar * dv, xp.zeros_like(s))
    if bar_s:
        bar_m, bar_v = bar_m + bar_s["m"], bar_v + bar_s["v"]
    return (1.0 - b1) * bar_m + 2.0 * (1.0 - b2) * g * bar_v, {"m": b1 * bar_m, "v": b2 * bar_v}


def rmsprop_adjoint(cfg: dict, t: int, g: Array, after: dict, bar: Array, bar_s: dict) -> tuple[Array, dict]:
    """s' = α·s + (1−α)·g²,  θ' = θ − η·g/(r + ε),  r = √s'   ⇒   s̄' += η·θ̄'·g/((r + ε)²·2r) (0 where
    s' = 0),  ḡ = −η·θ̄'/(r + ε) + 2(1−α)·g·s̄',  s̄ = α·s̄'."""
    xp = g.__array_namespace__()
    alpha, lr, eps = cfg["alpha"], cfg["lr"], cfg["eps"]
    r = xp.sqrt(after["s"])
    den = r + eps
    positive = r > 0
    ds = lr * g / (den * den * 2.0 * xp.where(positive, r, xp.ones_like(r)))
    bar_sq = xp.where(positive, bar * ds, xp.zeros_like(r))
    if bar_s:
        bar_sq = bar_sq + bar_s["s"]
    return -lr * bar / den + 2.0 * (1.0 - alpha) * g * bar_sq, {"s": alpha * bar_sq}


Adjoint = Callable[[dict, int, Array, dict, Array, dict], tuple[Array, dict]]
ADJOINTS: dict[str, Adjoint] = {"sgd": sgd_adjoint, "adam": adam_adjoint, "rmsprop": rmsprop_adjoint}


@dataclass
class _Step:
    """What the backward sweep needs of unrolled step k: θ_D^k, its pass (tape), g_k, the slots after
    the step and the step count it used."""

    theta: Grads
    tape: Any
    g: Grads
    after: dict[str, Grads]
    t: int


def unrolled_gradients(
    at: Any, d_opt: Any, params_D: dict[str, Array], steps: int, constant: bool = False
) -> tuple[Grads, Grads, Any]:
    """(df_K/dθ_G, g_0, record) for one batch: G's gradient of the unrolled objective (keyed as G's
    parameters), D's own gradient ∇θD L_D at the start (keyed as ``params_D``) and the record of that
    first pass. ``at``: a ``second_order.UnrollPass`` (or a game's object with its four methods);
    ``d_opt``: D's optimizer (``optim.Optimizer``; its clone takes the steps); ``params_D``: the live
    arrays D's optimizer moves (moved in place during the call, then restored); ``steps``: K ≥ 0;
    ``constant``: θ_D^K held constant (the paper's ablation)."""
    rule = ADJOINTS.get(d_opt.name)
    if rule is None and not constant:
        raise ValueError(
            f"d_opt: expected one of {tuple(ADJOINTS)} (a rule with an adjoint here), got {d_opt.name!r}"
        )
    start = _copies(params_D)
    g, tape, record = at.d_gradient()  # at θ_D^0: g_0, D's own gradient too
    g0, clone, taken = _pick(g, params_D), d_opt.clone(), []
    try:
        for k in range(steps):
            if k > 0:
                g, tape, _ = at.d_gradient()  # g_k at θ_D^k
            g = _pick(g, params_D)
            if constant:
                clone.step(params_D, g)
                continue
            theta = _copies(params_D)
            clone.step(params_D, g)  # θ_D^{k+1}; the clone's moments and step count advance
            taken.append(
                _Step(theta, tape, g, {s: _copies(clone.slots[s]) for s in clone.slot_names}, clone.t)
            )
        a, seed, _ = at.objective(not constant)  # ∂f/∂θ_D^K (the sweep's start), ∂f/∂x_f at θ_D^K
        if rule is not None and not constant:
            seed = _backward_sweep(at, taken, _pick(a, params_D), seed, params_D, rule, d_opt.config())
        return at.g_gradient(seed), g0, record
    finally:
        _assign(params_D, start)


def _backward_sweep(
    at: Any, taken: list[_Step], bar: Grads, seed: Array, params_D: dict, rule: Adjoint, cfg: dict
) -> Array:
    """The adjoints from θ̄^K = ``bar`` back to step 0; returns ∂f/∂x_f plus every step's mixed term."""
    bar_s: dict[str, dict] = {name: {} for name in params_D}
    for step in reversed(taken):
        bar_g = {}
        for name in params_D:
            bar_g[name], bar_s[name] = rule(
                cfg, step.t, step.g[name], _slots_of(step.after, name), bar[name], bar_s[name]
            )
        _assign(params_D, step.theta)  # D at θ_D^k: the products' point
        Hu, s = at.d_products(step.tape, bar_g)
        bar = {name: b + Hu[name] for name, b in bar.items()}  # θ̄^k = θ̄^{k+1} + H_DD·ḡ_k
        seed = seed + s
    return seed


def _slots_of(after: dict[str, Grads], name: str) -> dict[str, Array]:
    return {slot: d[name] for slot, d in after.items()}


def _pick(g: Grads, params: dict[str, Array]) -> Grads:
    return {name: g[name] for name in params}


def _copies(params: dict[str, Array]) -> Grads:
    return {k: p.__array_namespace__().asarray(p, copy=True) for k, p in params.items()}


def _assign(params: dict[str, Array], values: Grads) -> None:
    for k, p in params.items():
        p[...] = values[k]
