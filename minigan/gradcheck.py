"""Finite-difference checks of every hand-written gradient (after CS231n's ``gradient_check.py``).

Method. For a scalar function f of an array x, the centred difference

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / (2h),        h = 1e-5,

evaluated in float64 is off by O(h²·f''') (truncation) plus O(ε·|f|/h) (rounding, ε ≈ 1.1e-16),
about 1e-10 relative for the smooth functions here. Each perturbation is applied to a **host
float64 NumPy copy** of x, and the perturbed copy is moved to the backend's device for every
evaluation, so the same check runs on numpy, array-api-strict (its ``device1`` included) and cupy.

Error measure (a normwise form of CS231n's ``rel_error``), over all entries i of one array::

    rel_error(a, b) = max_i |a_i − b_i| / max(1e-8, max_i (|a_i| + |b_i|))

A check passes at ``rel_error ≤ 1e-6``. CS231n's rule of thumb: ~1e-7 is good, ~1e-4 is only
acceptable near kinks, 1e-2 means a bug.

Kinks (ReLU and LeakyReLU at 0, maxout where the top two pieces tie, hinge at logits ±1) are
handled without loosening the tolerance: :func:`kink_margin`, :func:`maxout_gap` and
:func:`hinge_margin` measure how far the inputs are from every kink, the callers draw inputs
further than ``KINK_MARGIN = 100·h`` from them, and every finite-difference evaluation also
compares its activation pattern (ReLU signs, maxout winners, hinge sides) with the analytic
pass and raises :class:`KinkCrossed` if a step of h crossed a kink — so a comparison that
straddles a kink is never reported as a gradient error. Networks are checked at a generic
point (:func:`generic_point`): zero biases make exact maxout ties that no input avoids.

The reference has limits of its own; they are measured, not hidden:

- accuracy: rounding alone puts a relative error of up to
  ``fd_resolution = δ / (h·max|g|)`` on the differences of an array whose gradient
  g is small next to f (e.g. ∂/∂l_r of bce at l_r = 11, ≈ −2e-5 beside f ≈ 11), where δ, the
  rounding error of one value of f, is max(ε·max(1, |f|), 3σ̂) with σ̂ *measured* from the
  fourth differences of the same evaluations (Moré & Wild 2011): a loss computed through a
  network carries every layer's rounding, often several ε·|f|, so ε·|f| alone let a noisy
  reference pass as accurate (a G chain at 1.17e-6 with its accuracy put at <= 1e-6); truncation
  grows with the curvature (e.g. batch norm over a nearly constant feature). Every check
  estimates both per array (``errors.accuracy``: the rounding bound, and step doubling
  |D_h − D_2h|, ~3× the truncation error); a row passes only if that is ≤ the threshold too,
  and the command redraws inputs where it is not;
- true zeros: an array whose analytic and numerical gradients both lie below the noise floor
  ``100·ε·max(1, |f|)/h`` (the bias of an affine map followed by batch norm; the critic's output
  bias under the Wasserstein loss, mean(1) − mean(1)) has error 0, not 0/1e-8 noise.

Scalar objectives:

- a layer or an MLP: L = Σ out ⊙ dout with a fixed random ``dout`` (then ∂L/∂out = dout);
- a loss form: its value, w.r.t. each of its logits;
- the discriminator chain: L_D(D(x_real), D(x_fake)) w.r.t. every parameter of D;
- the generator chain: L_G(D(G(z))) w.r.t. every parameter of G, through D
  (dl = ∂L_G/∂l;  dx = D.backward(dl, need_grads=False);  G.backward(dx)).

Dropout is random: its generator's state is saved before the analytic pass and restored before
every evaluation, so every perturbed forward uses the analytic pass's mask. BatchNorm running
statistics, parameters and random states are restored after every check: a check leaves the
network as it found it.

Command line: ``python -m minigan.gradcheck`` (also ``minigan gradcheck``) prints a table
``component | max rel error | FD accuracy | kink margin | result`` and exits 1 if any check
fails (2 on bad options, e.g. a backend without float64).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from . import losses
from .backend import Backend, get_backend
from .layers import (
    BatchNorm,
    Dropout,
    LeakyReLU,
    Linear,
    Maxout,
    ReLU,
    Sigmoid,
    Tanh,
)
from .networks import MLP, MLPSpec

H = 1e-5
THRESHOLD = 1e-6
KINK_MARGIN = 100 * H
MAX_ENTRIES = 40  # the command's default: entries checked per array (CS231n's grad_check_sparse)

KINKED_LOSSES = (losses.hinge_d_loss,)  # loss forms with a kink in the logits (at ±1)


class KinkCrossed(ArithmeticError):
    """A finite-difference step crossed a kink: that difference says nothing about the gradient."""


# --------------------------------------------------------------------------------------
# The two primitives
# --------------------------------------------------------------------------------------
def rel_error(a, b) -> float:
    """max_i |a_i − b_i| / max(1e-8, max_i (|a_i| + |b_i|)), in float64 on the host.

    a, b: arrays of the same shape (NumPy arrays or anything ``np.asarray`` takes).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a {a.shape}, got {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))


def numerical_gradient(f, x, h: float = H, entries=None, step_doubling: bool = False,
                       fourth_difference: bool = False):
    """Centred finite-difference gradient of a scalar function, in float64.

    f: callable taking a float64 NumPy array of x's shape and returning a float.
    x: the point (any shape); a float64 host copy is perturbed, x itself is not touched.
    h: the step.
    entries: None (every entry) or an iterable of index tuples to estimate; the others stay 0.
    step_doubling: also return |D_h − D_2h| per entry, where D_s = (f(x+s·e_i) − f(x−s·e_i))/(2s).
        Since D_s = ∂f/∂x_i + c·s² + O(s⁴), |D_h − D_2h| ≈ 3|c|h², three times D_h's truncation
        error (plus the rounding noise of both): an estimate of how good D_h is.

    fourth_difference: (with step_doubling) also return, per entry, the fourth difference
        Δ⁴_i = f(x−2h·e_i) − 4f(x−h·e_i) + 6f(x) − 4f(x+h·e_i) + f(x+2h·e_i), from the same
        evaluations plus one of f(x). Its smooth part h⁴·∂⁴f is negligible at h = 1e-5, so it is
        the rounding noise of f: with noise of standard deviation σ on each value,
        E[(Δ⁴)²] = 70σ² (Moré & Wild 2011, "Estimating computational noise", SIAM J. Sci.
        Comput. 33(3): the difference-table estimate, γ_4 = (4!)²/8! = 1/70).

    Returns D_h (an array of x's shape), or (D_h, |D_h − D_2h|) with step_doubling, or
    (D_h, |D_h − D_2h|, Δ⁴) with fourth_difference too.
    """
    if not h > 0:
        raise ValueError(f"h: expected a positive step, got {h!r}")
    if fourth_difference and not step_doubling:
        raise ValueError("fourth_difference: needs step_doubling=True (it reuses its evaluations)")
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    spread = np.zeros_like(x)
    fourth = np.zeros_like(x)
    f0 = float(f(x)) if fourth_difference else 0.0
    for i in (np.ndindex(x.shape) if entries is None else entries):
        old = x[i]
        d, v = [], []
        for s in ((h, 2 * h) if step_doubling else (h,)):
            x[i] = old + s
            fp = float(f(x))
            x[i] = old - s
            fm = float(f(x))
            d.append((fp - fm) / (2.0 * s))
            v.append(fp + fm)
        x[i] = old
        grad[i] = d[0]
        if step_doubling:
            spread[i] = abs(d[0] - d[1])
        if fourth_difference:
            fourth[i] = v[1] - 4.0 * v[0] + 6.0 * f0
    if fourth_difference:
        return grad, spread, fourth
    return (grad, spread) if step_doubling else grad


def sample_entries(shape, max_entries, seed=0):
    """At most ``max_entries`` distinct index tuples of an array of ``shape`` (None: all).

    For large arrays, CS231n's ``grad_check_sparse``: check a random subset of entries.
    """
    size = math.prod(shape)
    if max_entries is None or size <= max_entries:
        return None
    flat = np.random.default_rng(seed).choice(size, size=max_entries, replace=False)
    return [np.unravel_index(int(k), shape) for k in flat]


# --------------------------------------------------------------------------------------
# Kinks: how far the inputs are from them, and whether a step crossed one
# --------------------------------------------------------------------------------------
def relu_margin(z) -> float:
    """min_i |z_i|: the distance of ReLU/LeakyReLU pre-activations z (any shape, host) from 0."""
    z = np.asarray(z, dtype=np.float64)
    return float(np.min(np.abs(z))) if z.size else math.inf


def maxout_gap(z) -> float:
    """min over (n, j) of the gap between the largest and second-largest piece of z[n, j, :].

    z: (N, units, pieces) maxout pre-activations (host). One piece has no kink: inf.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.shape[-1] < 2 or z.size == 0:
        return math.inf
    top = np.sort(z, axis=-1)
    return float(np.min(top[..., -1] - top[..., -2]))


def hinge_margin(l_real=None, l_fake=None) -> float:
    """min(|l_r − 1|, |l_f + 1|): the distance of hinge logits from the kinks of
    relu(1 − l_r) and relu(1 + l_f). Either may be None (host arrays)."""
    m = math.inf
    if l_real is not None:
        m = min(m, relu_margin(np.asarray(l_real, dtype=np.float64) - 1.0))
    if l_fake is not None:
        m = min(m, relu_margin(np.asarray(l_fake, dtype=np.float64) + 1.0))
    return m


def _layers(net):
    return list(net.layers) if isinstance(net, MLP) else [net]


def _margin_from_caches(backend, layers, caches) -> float:
    m = math.inf
    for layer, c in zip(layers, caches):
        if isinstance(layer, (ReLU, LeakyReLU)):
            m = min(m, relu_margin(backend.to_numpy(c)))
        elif isinstance(layer, Maxout):
            x = backend.to_numpy(c[0]).astype(np.float64)
            W = backend.to_numpy(layer.params["W"]).astype(np.float64)
            b = backend.to_numpy(layer.params["b"]).astype(np.float64)
            z = (x @ W + b).reshape(x.shape[0], layer.units, layer.pieces)
            m = min(m, maxout_gap(z))
    return m


def _pattern(backend, layers, caches):
    """The kink-side pattern of one forward: ReLU/LeakyReLU signs and maxout winners."""
    pat = []
    for layer, c in zip(layers, caches):
        if isinstance(layer, (ReLU, LeakyReLU)):
            pat.append(backend.to_numpy(c) > 0)
        elif isinstance(layer, Maxout):
            pat.append(np.asarray(backend.to_numpy(c[1])))
    return pat


def _hinge_pattern(l_real, l_fake):
    return [np.asarray(l_real) < 1.0, np.asarray(l_fake) > -1.0]


def _same(p, q) -> bool:
    return len(p) == len(q) and all(np.array_equal(a, b) for a, b in zip(p, q))


def _kink_error(where, h):
    return KinkCrossed(
        f"{where}: a finite-difference step of h={h:g} crossed a kink (a ReLU sign, a maxout "
        f"winner or a hinge side changed); draw inputs further from the kinks (see kink_margin)"
    )


@contextlib.contextmanager
def _preserved(layers):
    """Save every parameter, buffer and dropout random state of ``layers``; yield a function
    that restores the random states (called before each evaluation); restore all on exit."""
    rngs = []
    for layer in layers:
        if isinstance(layer, Dropout) and all(layer.rng is not r for r in rngs):
            rngs.append(layer.rng)
    states = [r.state() for r in rngs]
    params = [dict(layer.params) for layer in layers]
    buffers = [dict(layer.buffers) for layer in layers]

    def restore_rng():
        for r, s in zip(rngs, states):
            r.set_state(s)

    try:
        restore_rng()
        yield restore_rng
    finally:
        for layer, p, b in zip(layers, params, buffers):
            layer.params.update(p)
            layer.buffers.update(b)
        restore_rng()


def _forward(net, x, train):
    if isinstance(net, MLP):
        return net.forward(x, train)
    out, cache = net.forward(x, train)
    return out, [cache]


def kink_margin(net, x, train: bool = True) -> float:
    """The distance of input ``x`` from the nearest kink of ``net`` (a layer or an MLP).

    The minimum, over every ReLU/LeakyReLU pre-activation, of |z|, and over every maxout unit,
    of the gap between its top two pieces (:func:`maxout_gap`); inf for a smooth network.
    Computed from one forward pass with the network's state (dropout random state, batch-norm
    statistics) restored afterwards, so a check run next sees the same masks.
    """
    layers = _layers(net)
    backend = _backend_of(net, x)
    with _preserved(layers):
        _, caches = _forward(net, x, train)
        return _margin_from_caches(backend, layers, caches)


def discriminator_chain_margin(D: MLP, x_real, x_fake, d_loss=None, train: bool = True) -> float:
    """Kink margin of the discriminator chain: D's kinks on both batches and, for a kinked
    loss form (hinge), the distance of the logits from ±1."""
    with _preserved(D.layers) as restore:
        restore()
        l_r, c_r = D.forward(x_real, train)
        l_f, c_f = D.forward(x_fake, train)
        m = min(_margin_from_caches(D.backend, D.layers, c_r), _margin_from_caches(D.backend, D.layers, c_f))
        if d_loss in KINKED_LOSSES:
            m = min(m, hinge_margin(D.backend.to_numpy(l_r), D.backend.to_numpy(l_f)))
        return m


def generator_chain_margin(G: MLP, D: MLP, z, g_loss=None, train: bool = True) -> float:
    """Kink margin of the generator chain L_G(D(G(z))): G's kinks on z and D's kinks on G(z)."""
    with _preserved(G.layers + D.layers) as restore:
        restore()
        x, c_g = G.forward(z, train)
        l_f, c_d = D.forward(x, train)
        m = min(_margin_from_caches(G.backend, G.layers, c_g), _margin_from_caches(D.backend, D.layers, c_d))
        if g_loss in KINKED_LOSSES:
            m = min(m, hinge_margin(None, D.backend.to_numpy(l_f)))
        return m


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------
def _backend_of(net, x) -> Backend:
    return net.backend if isinstance(net, MLP) else _backend_for_array(x, x.dtype)


def require_float64(backend: Backend):
    """Raise ValueError unless ``backend`` computes in float64 (finite differences need it)."""
    if not isinstance(backend, Backend):
        raise TypeError(f"backend: expected a Backend, got {type(backend).__name__}")
    if backend.float_dtype != backend.xp.float64:
        raise ValueError(
            f"backend: gradient checks need float64, got {backend.float_dtype} "
            f"(use get_backend({backend.spec!r}, dtype='float64'))"
        )
    try:
        backend.zeros((1,))
    except Exception as e:  # noqa: BLE001 - e.g. array-api-strict's no_float64 device
        raise ValueError(f"backend: {backend.spec} cannot compute in float64 ({e})") from None


def _host(backend, a):
    return np.asarray(backend.to_numpy(a), dtype=np.float64)


def _scalar(backend, v) -> float:
    return float(backend.to_numpy(v))


class Errors(dict):
    """name -> relative error of that array's gradient, plus how good the reference was.

    ``.accuracy`` maps each checked array (true zeros excluded) to the relative error the
    finite differences themselves may carry: max(:func:`fd_resolution` (rounding bound),
    max_i |D_h − D_2h| / max(1e-8, max_i (|a_i| + |b_i|)) (step doubling: ~3× the truncation
    error)). A comparison at threshold t means something only where this is at most t.
    """

    accuracy: dict

    def worst_accuracy(self) -> float:
        return max(self.accuracy.values(), default=0.0)


def noise_floor(f0: float, h: float = H) -> float:
    """100·ε·max(1, |f0|)/h: below this, a centred difference of f (value f0) cannot tell a
    gradient from 0 (ε = float64 machine epsilon)."""
    return 100.0 * np.finfo(np.float64).eps * max(1.0, abs(f0)) / h


def fd_resolution(f0: float, grad, h: float = H, noise: float = 0.0) -> float:
    """max(ε·max(1, |f0|), noise) / (h·max_i |grad_i|): the relative error that rounding alone
    can put on a centred difference of a function of value f0 whose gradient array is ``grad``.

    noise: a measured bound on the rounding error of one value of f (see :func:`rounding_noise`):
    f computed through a network carries the rounding of every layer, often several ε·|f|
    (e.g. 3ε·|f| for a least-squares loss of logits near −10), so ε·|f| alone is a lower bound.

    A comparison at threshold t is only meaningful where this is at most t: e.g. the loss
    sp(−l_r) + sp(l_f) at l_r = 10.8 has ∂/∂l_r ≈ −2e-5 but f ≈ 10.8, so its centred
    difference is only good to ~1e-6. Callers keep such inputs out (not the tolerance up).
    """
    g = float(np.max(np.abs(np.asarray(grad, dtype=np.float64)), initial=0.0))
    if g == 0.0:
        return math.inf
    return float(max(np.finfo(np.float64).eps * max(1.0, abs(f0)), noise) / (h * g))


NOISE_SIGMAS = 3.0  # a rounding-error bound of f: this many standard deviations of its noise


def rounding_noise(fourth) -> float:
    """NOISE_SIGMAS·σ̂, σ̂ = sqrt(mean_i (Δ⁴_i)² / 70): a bound on the rounding error of one
    evaluation of f, from the fourth differences of :func:`numerical_gradient` (Moré & Wild
    2011's difference-table noise estimate), pooled over every entry given (the noise of f is
    one property of f near x, whichever entry is moved)."""
    v = np.asarray(fourth, dtype=np.float64)
    if v.size == 0:
        return 0.0
    return float(NOISE_SIGMAS * math.sqrt(float(np.mean(v * v)) / 70.0))


def _check_arrays(backend, evaluate, set_value, items, h, max_entries, seed):
    """items: name -> (current backend array, analytic gradient). For each, perturb a host
    float64 copy, ``set_value(name, backend array)``, ``evaluate()``; return name -> rel_error.

    An array whose analytic and numerical gradients both lie below :func:`noise_floor` is a
    true zero (e.g. the bias of an affine map followed by batch norm); its relative error is
    0/0 noise and it is reported as 0.0. Returns an :class:`Errors` dict.
    """
    errors = Errors()
    errors.accuracy = {}
    f0 = evaluate()
    floor = noise_floor(f0, h)
    rows, fourths = [], []
    for k, (name, (value, analytic)) in enumerate(items.items()):
        host = _host(backend, value)

        def f(v, name=name):  # a fresh copy each time: numpy's asarray would alias the host buffer
            set_value(name, backend.asarray(np.array(v, copy=True), dtype=backend.float_dtype))
            return evaluate()

        entries = sample_entries(host.shape, max_entries, seed + k)
        try:
            num, spread, fourth = numerical_gradient(f, host, h, entries, step_doubling=True,
                                                     fourth_difference=True)
        finally:
            set_value(name, value)
        ana = _host(backend, analytic)
        if entries is not None:
            idx = tuple(np.array(i) for i in zip(*entries))
            num, ana, spread, fourth = num[idx], ana[idx], spread[idx], fourth[idx]
        rows.append((name, num, ana, spread))
        fourths.append(np.ravel(fourth))
    # the rounding noise of f, measured (pooled over every checked entry), not assumed ε·|f|
    noise = rounding_noise(np.concatenate(fourths)) if fourths else 0.0
    for name, num, ana, spread in rows:
        both_zero = np.max(np.abs(ana), initial=0.0) <= floor and np.max(np.abs(num), initial=0.0) <= floor
        errors[name] = 0.0 if both_zero else rel_error(ana, num)
        if not both_zero:
            scale = max(1e-8, float(np.max(np.abs(ana) + np.abs(num), initial=0.0)))
            truncation = float(np.max(spread, initial=0.0)) / scale
            errors.accuracy[name] = max(fd_resolution(f0, ana, h, noise), truncation)
    return errors


def _upstream(seed, shape):
    """The fixed upstream gradient dout ~ N(0, 1): its own stream, independent of any input
    drawn with ``seed`` (dout = x would make e.g. batch norm's gradient vanish)."""
    return np.random.default_rng([seed, 0xD0]).standard_normal(shape)


def check_layer(layer, x, backend: Backend, train: bool = True, seed: int = 0, h: float = H,
                max_entries=None) -> dict:
    """Check a layer's backward: L = Σ out ⊙ dout, dout ~ N(0, 1) fixed by ``seed``.

    layer: any layer of :mod:`minigan.layers`, built on ``backend`` (float64).
    x: (N, in_features) backend array.
    Returns {"x": rel_error of dx, <param name>: rel_error of its gradient, ...}.
    Raises KinkCrossed if a step crossed a ReLU/LeakyReLU/maxout kink.
    """
    require_float64(backend)
    layers = [layer]
    xp = backend.xp
    with _preserved(layers) as restore:
        out, cache = layer.forward(x, train)
        base = _pattern(backend, layers, [cache])
        dout = backend.asarray(_upstream(seed, tuple(out.shape)),
                               dtype=backend.float_dtype)
        dx, grads = layer.backward(dout, cache)
        state = {"x": x}

        def evaluate():
            restore()
            o, c = layer.forward(state["x"], train)
            if not _same(_pattern(backend, layers, [c]), base):
                raise _kink_error(f"{layer!r}", h)
            return _scalar(backend, xp.sum(o * dout))

        def set_value(name, v):
            if name == "x":
                state["x"] = v
            else:
                layer.params[name] = v

        items = {"x": (x, dx)}
        items.update({k: (layer.params[k], grads[k]) for k in layer.params})
        return _check_arrays(backend, evaluate, set_value, items, h, max_entries, seed)


def check_mlp(mlp: MLP, x, train: bool = True, seed: int = 0, h: float = H, max_entries=None) -> dict:
    """Check an MLP's backward: L = Σ out ⊙ dout, dout ~ N(0, 1) fixed by ``seed``.

    mlp: an MLP on a float64 backend; x: (N, sizes[0]).
    Returns {"x": rel_error of dx, "<i>.<param>": rel_error of each parameter gradient}.
    """
    backend = mlp.backend
    require_float64(backend)
    xp = backend.xp
    layers = mlp.layers
    with _preserved(layers) as restore:
        out, cache = mlp.forward(x, train)
        base = _pattern(backend, layers, cache)
        dout = backend.asarray(_upstream(seed, tuple(out.shape)),
                               dtype=backend.float_dtype)
        dx, grads = mlp.backward(dout, cache)
        state = {"x": x}

        def evaluate():
            restore()
            o, c = mlp.forward(state["x"], train)
            if not _same(_pattern(backend, layers, c), base):
                raise _kink_error("MLP", h)
            return _scalar(backend, xp.sum(o * dout))

        def set_value(name, v):
            if name == "x":
                state["x"] = v
            else:
                mlp.set_param(name, v)

        items = {"x": (x, dx)}
        params = mlp.params()
        items.update({k: (params[k], grads[k]) for k in params})
        return _check_arrays(backend, evaluate, set_value, items, h, max_entries, seed)


def check_loss(loss_fn, *logits, h: float = H, **kwargs) -> dict:
    """Check a loss form's gradients w.r.t. its logits.

    loss_fn: a function of :mod:`minigan.losses`; ``logits`` = (l_real, l_fake) for the
    discriminator-side forms, (l_fake,) for the generator-side ones, backend float64 arrays of
    shape (m,) or (m, 1); ``kwargs`` go to loss_fn (e.g. real_target=0.9).
    Returns {"l_real": ..., "l_fake": ...} (or {"l_fake": ...}).
    """
    if len(logits) not in (1, 2):
        raise ValueError(f"logits: expected (l_real, l_fake) or (l_fake,), got {len(logits)} arrays")
    backend = _backend_for_array(logits[0], logits[0].dtype)
    require_float64(backend)
    names = ("l_real", "l_fake") if len(logits) == 2 else ("l_fake",)
    out = loss_fn(*logits, **kwargs)
    kinked = loss_fn in KINKED_LOSSES
    base = _hinge_pattern(*(_host(backend, v) for v in logits)) if kinked else None
    state = dict(zip(names, logits))

    def evaluate():
        vals = [state[n] for n in names]
        if kinked and not _same(_hinge_pattern(*(_host(backend, v) for v in vals)), base):
            raise _kink_error(loss_fn.__name__, h)
        return _scalar(backend, loss_fn(*vals, **kwargs)[0])

    def set_value(name, v):
        state[name] = v

    items = {n: (v, g) for n, v, g in zip(names, logits, out[1:])}
    return _check_arrays(backend, evaluate, set_value, items, h, None, 0)


def _backend_for_array(a, dtype) -> Backend:
    """The backend an array lives on (numpy, array-api-strict, cupy), in ``dtype``."""
    mod = type(a).__module__.split(".")[0]
    dt = str(dtype).rsplit(".", 1)[-1]
    if dt not in ("float32", "float64"):
        raise TypeError(f"x: expected a float32 or float64 array, got {dtype}")
    if mod == "numpy":
        return get_backend("numpy", dtype=dt)
    if mod == "array_api_strict":
        dev = str(a.device).replace("array_api_strict.Device('", "").replace("')", "")
        return get_backend(f"strict:{dev}", dtype=dt)
    if mod == "cupy":
        return get_backend("cupy", device=a.device.id, dtype=dt)
    raise TypeError(f"x: expected a numpy, array-api-strict or cupy array, got {type(a).__name__}")


def check_discriminator_chain(D: MLP, d_loss, x_real, x_fake, train: bool = True, h: float = H,
                              max_entries=None, **kwargs) -> dict:
    """Check ∂L_D/∂θ_D for L_D = d_loss(D(x_real), D(x_fake)), every parameter of D.

    Analytic: (L, dl_r, dl_f) = d_loss(l_r, l_f); grads = D.backward(dl_r) + D.backward(dl_f)
    (the two batches are separate forwards through D, summed). d_loss: any discriminator-side
    form (bce, value_function, total, least squares, hinge, wasserstein); kwargs go to it.
    x_real, x_fake: (m, data_dim), (n, data_dim). Returns {"<i>.<param>": rel_error}.
    """
    backend = D.backend
    require_float64(backend)
    layers = D.layers
    kinked = d_loss in KINKED_LOSSES
    with _preserved(layers) as restore:
        l_r, c_r = D.forward(x_real, train)
        l_f, c_f = D.forward(x_fake, train)
        base = _pattern(backend, layers, c_r) + _pattern(backend, layers, c_f)
        if kinked:
            base += _hinge_pattern(_host(backend, l_r), _host(backend, l_f))
        _, dl_r, dl_f = d_loss(l_r, l_f, **kwargs)
        _, g_r = D.backward(dl_r, c_r, need_dx=False)
        _, g_f = D.backward(dl_f, c_f, need_dx=False)

        def evaluate():
            restore()
            a, ca = D.forward(x_real, train)
            b, cb = D.forward(x_fake, train)
            pat = _pattern(backend, layers, ca) + _pattern(backend, layers, cb)
            if kinked:
                pat += _hinge_pattern(_host(backend, a), _host(backend, b))
            if not _same(pat, base):
                raise _kink_error(f"D chain ({d_loss.__name__})", h)
            return _scalar(backend, d_loss(a, b, **kwargs)[0])

        params = D.params()
        items = {k: (params[k], g_r[k] + g_f[k]) for k in params}
        return _check_arrays(backend, evaluate, D.set_param, items, h, max_entries, 0)


def check_generator_chain(G: MLP, D: MLP, g_loss, z, train: bool = True, h: float = H,
                          max_entries=None) -> dict:
    """Check ∂L_G/∂θ_G for L_G = g_loss(D(G(z))), every parameter of G, through D.

    Analytic: x = G(z); l = D(x); (L, dl) = g_loss(l); dx, _ = D.backward(dl, need_grads=False);
    _, grads = G.backward(dx, need_dx=False). D is held fixed. g_loss: a generator-side form
    (a function of l_fake returning (value, ∂value/∂l_fake)). z: (N, noise_dim).
    Returns {"<i>.<param>": rel_error} over G's parameters.
    """
    backend = G.backend
    require_float64(backend)
    layers = G.layers + D.layers
    kinked = g_loss in KINKED_LOSSES
    with _preserved(layers) as restore:
        x, c_g = G.forward(z, train)
        l_f, c_d = D.forward(x, train)
        base = _pattern(backend, G.layers, c_g) + _pattern(backend, D.layers, c_d)
        if kinked:
            base += _hinge_pattern(np.zeros(1), _host(backend, l_f))
        _, dl = g_loss(l_f)
        dx, _ = D.backward(dl, c_d, need_dx=True, need_grads=False)
        _, grads = G.backward(dx, c_g, need_dx=False)

        def evaluate():
            restore()
            xx, cg = G.forward(z, train)
            ll, cd = D.forward(xx, train)
            pat = _pattern(backend, G.layers, cg) + _pattern(backend, D.layers, cd)
            if kinked:
                pat += _hinge_pattern(np.zeros(1), _host(backend, ll))
            if not _same(pat, base):
                raise _kink_error(f"G chain ({getattr(g_loss, '__name__', 'g_loss')})", h)
            return _scalar(backend, g_loss(ll)[0])

        params = G.params()
        items = {k: (params[k], grads[k]) for k in params}
        return _check_arrays(backend, evaluate, G.set_param, items, h, max_entries, 0)


def generic_point(net, seed: int = 0, scale: float = 0.1):
    """Move every parameter of ``net`` (an MLP) by N(0, scale²) noise, in place; return net.

    Initial parameters are a special point: biases start at 0 and batch-norm γ at 1, so e.g.
    a sample whose ReLU layer is all dead leaves as the bias vector 0, and every maxout piece
    of D then ties at exactly 0 — a kink no redraw of the inputs avoids. Checks run at a
    generic point instead.
    """
    g = np.random.default_rng([seed, 0x6E])
    b = net.backend
    for name, v in net.params().items():
        noise = g.standard_normal(tuple(v.shape)) * scale
        net.set_param(name, b.asarray(b.to_numpy(v).astype(np.float64) + noise, dtype=v.dtype))
    return net


# --------------------------------------------------------------------------------------
# The whole suite (the command's table)
# --------------------------------------------------------------------------------------
@dataclass
class Result:
    """One row of the table: the worst relative error over a component's arrays.

    error: max rel_error over the arrays (nan: no valid draw); accuracy: the worst
    ``Errors.accuracy`` (how good the finite differences were); margin: the inputs' distance
    from the nearest kink (inf: smooth); worst: the array with the largest error.
    """

    component: str
    error: float
    accuracy: float
    margin: float
    worst: str
    threshold: float = THRESHOLD

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.threshold and self.accuracy <= self.threshold)


def _case(name, draw, check, seed, threshold, margin_of=None, tries=20) -> Result:
    """One table row: draw inputs (``draw(seed)``, then ``draw(seed + 1000)``, ...) until they
    lie further than KINK_MARGIN from every kink and the differences are accurate to
    ``threshold`` (and no step crossed a kink), then report ``check(inputs)``."""
    last = Result(name, math.nan, math.nan, math.nan, f"no draw in {tries} tries was kink-free", threshold)
    for t in range(tries):
        inputs = draw(seed + 1000 * t)
        m = margin_of(inputs) if margin_of is not None else math.inf
        if m <= KINK_MARGIN:
            continue
        try:
            errors = check(inputs)
        except KinkCrossed:
            continue
        worst = max(errors, key=errors.get)
        last = Result(name, errors[worst], errors.worst_accuracy(), m, worst, threshold)
        if last.accuracy <= threshold:
            break
    return last


def run_all(backend="numpy", seed: int = 0, batch: int = 8, width: int = 16, depth: int = 2,
            h: float = H, threshold: float = THRESHOLD, max_entries=MAX_ENTRIES) -> list:
    """Run every check; return a list of :class:`Result` (one table row each).

    backend: a name or a Backend (it is rebuilt in float64); batch: N; width: hidden width
    (and the layers' feature count); depth: hidden layers of the MLPs; max_entries: check at
    most this many randomly chosen entries per array (None or 0: every entry).
    """
    for name, v in (("seed", seed), ("batch", batch), ("width", width), ("depth", depth)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "seed" else 1):
            raise ValueError(f"{name}: expected a {'non-negative' if name == 'seed' else 'positive'} integer, got {v!r}")
    if batch < 3:
        raise ValueError(f"batch: expected at least 3 (batch norm in training needs a spread batch), got {batch}")
    max_entries = max_entries or None
    spec = backend.spec if isinstance(backend, Backend) else backend
    b = get_backend(spec, dtype="float64")
    require_float64(b)
    host = np.random.default_rng(seed)
    N, W = batch, width

    def arr(shape, scale=1.0, s=None):
        g = host if s is None else np.random.default_rng(s)
        return b.asarray(g.standard_normal(shape) * scale, dtype=b.float_dtype)

    results = []

    # -- layers ---------------------------------------------------------------------------
    rng = b.random(seed)
    bn = BatchNorm(W, b)
    bn.params.update(gamma=arr((W,), 0.5) + 1.0, beta=arr((W,), 0.5))
    bn_eval = BatchNorm(W, b)
    bn_eval.params.update(gamma=arr((W,), 0.5) + 1.0, beta=arr((W,), 0.5))
    bn_eval.buffers.update(running_mean=arr((W,), 0.5),
                           running_var=b.asarray(host.uniform(0.5, 2.0, W), dtype=b.float_dtype))
    lin = Linear(W, W, b, rng)
    lin.params["b"] = arr((W,), 0.1)
    layer_cases = [
        ("layer Linear", lin, True),
        ("layer Maxout (3 pieces)", Maxout(W, W, 3, b, rng), True),
        ("layer ReLU", ReLU(b), True),
        ("layer LeakyReLU (0.2)", LeakyReLU(b, 0.2), True),
        ("layer Tanh", Tanh(b), True),
        ("layer Sigmoid", Sigmoid(b), True),
        ("layer Dropout (0.5) train, frozen mask", Dropout(0.5, b, rng), True),
        ("layer Dropout (0.5) eval", Dropout(0.5, b, rng), False),
        ("layer BatchNorm train", bn, True),
        ("layer BatchNorm eval", bn_eval, False),
    ]
    for name, layer, train in layer_cases:
        results.append(_case(
            name, lambda s: arr((N, W), 1.0, s),
            lambda x, layer=layer, train=train: check_layer(layer, x, b, train, seed, h, max_entries),
            seed, threshold, lambda x, layer=layer, train=train: kink_margin(layer, x, train)))

    # -- loss forms -------------------------------------------------------------------------
    def logits(s):
        g = np.random.default_rng(s)
        return (b.asarray(g.standard_normal((N, 1)) * 3.0, dtype=b.float_dtype),
                b.asarray(g.standard_normal((N, 1)) * 3.0, dtype=b.float_dtype))

    L = losses
    d_forms = [
        ("bce", L.discriminator_loss, {}),
        ("bce, label smoothing 0.9", L.discriminator_loss, {"real_target": 0.9}),
        ("value function V", L.value_function, {}),
        ("total L_D + L_G^ns", L.total_loss, {}),
        ("least squares D", L.least_squares_d_loss, {}),
        ("least squares D (a=-1, b=1)", L.least_squares_d_loss, {"a": -1.0, "b": 1.0}),
        ("hinge D", L.hinge_d_loss, {}),
        ("wasserstein D", L.wasserstein_d_loss, {}),
    ]
    g_forms = [(name, L.GENERATOR_LOSSES[name]) for name in L.GENERATOR_LOSSES]
    for name, fn, kw in d_forms:
        margin = None
        if fn in KINKED_LOSSES:
            def margin(ls):
                return hinge_margin(_host(b, ls[0]), _host(b, ls[1]))
        results.append(_case(f"loss {name}", logits,
                             lambda ls, fn=fn, kw=kw: check_loss(fn, ls[0], ls[1], h=h, **kw),
                             seed, threshold, margin))
    for name, fn in g_forms:
        results.append(_case(f"loss G {name}", lambda s: logits(s)[1],
                             lambda lf, fn=fn: check_loss(fn, lf, h=h), seed + 1, threshold))

    # -- whole MLPs ---------------------------------------------------------------------------
    hidden = (W,) * depth
    mlp_cases = [
        ("MLP relu + batch norm, tanh out (G)", MLPSpec((2, *hidden, 2), "relu", "tanh", batch_norm=True), True),
        ("MLP maxout (3) + dropout 0.2 (D)", MLPSpec((2, *hidden, 1), maxout_pieces=3, dropout=0.2), True),
        ("MLP leaky_relu + dropout 0.3, eval", MLPSpec((3, *hidden, 2), "leaky_relu", dropout=0.3), False),
        ("MLP tanh, sigmoid out", MLPSpec((3, *hidden, 2), "tanh", "sigmoid"), True),
        ("MLP sigmoid, xavier init", MLPSpec((3, *hidden, 1), "sigmoid", init="xavier"), True),
    ]
    for k, (name, spec_, train) in enumerate(mlp_cases):
        net = generic_point(MLP(spec_, b, seed=seed + k), seed + k)
        results.append(_case(
            name, lambda s, spec_=spec_: arr((N, spec_.sizes[0]), 1.0, s),
            lambda x, net=net, train=train: check_mlp(net, x, train, seed, h, max_entries),
            seed, threshold, lambda x, net=net, train=train: kink_margin(net, x, train)))

    # -- chains: D's losses w.r.t. D's parameters; G's losses through D -----------------------
    shared = b.random(seed + 7)  # one generator, as in training (init, dropout)
    G = generic_point(MLP(MLPSpec((2, *hidden, 2), "relu", batch_norm=True), b, rng=shared), seed)
    D = generic_point(MLP(MLPSpec((2, *hidden, 1), maxout_pieces=3, dropout=0.2), b, rng=shared), seed + 1)

    def real_fake(s):
        return arr((N, 2), 2.0, s), arr((N, 2), 1.0, s + 1)

    for name, fn, kw in d_forms:
        results.append(_case(
            f"chain D: {name} w.r.t. D", real_fake,
            lambda xs, fn=fn, kw=kw: check_discriminator_chain(D, fn, xs[0], xs[1], True, h, max_entries, **kw),
            seed, threshold, lambda xs, fn=fn: discriminator_chain_margin(D, xs[0], xs[1], fn)))

    x_real = arr((N, 2), 2.0, seed + 3)
    with _preserved(D.layers):
        l_real, _ = D.forward(x_real, True)

    def total_of_fake(l_f):  # the article's total as a function of the fake logits (real batch fixed)
        v, _, d_f = losses.total_loss(l_real, l_f)
        return v, d_f

    for name, fn in g_forms + [("total L_D + L_G^ns (real batch fixed)", total_of_fake)]:
        results.append(_case(
            f"chain G: {name} through D", lambda s: arr((N, 2), 1.0, s),
            lambda z, fn=fn: check_generator_chain(G, D, fn, z, True, h, max_entries),
            seed, threshold, lambda z, fn=fn: generator_chain_margin(G, D, z, fn)))
    return results


def format_table(results) -> str:
    """The results as a plain-text table: component | max relative error | kink margin | result."""
    w = max(len("component"), *(len(r.component) for r in results))
    lines = [f"{'component':<{w}} | {'max rel error':>13} | {'FD accuracy':>13} | {'kink margin':>11} | result",
             f"{'-' * w}-|-{'-' * 13}-|-{'-' * 13}-|-{'-' * 11}-|-------"]
    for r in results:
        margin = "smooth" if math.isinf(r.margin) else f"{r.margin:.1e}"
        if r.passed:
            verdict = "pass"
        elif r.error <= r.threshold:
            verdict = f"FAIL (unresolved: {r.worst})"
        else:
            verdict = f"FAIL ({r.worst})"
        lines.append(f"{r.component:<{w}} | {r.error:>13.2e} | {r.accuracy:>13.1e} | {margin:>11} | {verdict}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``minigan gradcheck [--backend B] [--seed S] [--batch N] [--width W] [--depth L]``."""
    p = argparse.ArgumentParser(
        prog="minigan gradcheck",
        description="Check every analytic gradient of minigan against centred finite differences "
        "in float64 (rel_error = max|a-b| / max(1e-8, max(|a|+|b|)); pass at <= threshold).",
    )
    p.add_argument("--backend", default=None, help="numpy | strict | strict:device1 | cupy (default: $MINIGAN_BACKEND or numpy)")
    p.add_argument("--seed", type=int, default=0, help="seed of every draw (default 0)")
    p.add_argument("--batch", type=int, default=8, help="batch size N (default 8)")
    p.add_argument("--width", type=int, default=16, help="hidden width and layer features (default 16)")
    p.add_argument("--depth", type=int, default=2, help="hidden layers of the MLPs (default 2)")
    p.add_argument("--entries", type=int, default=MAX_ENTRIES,
                   help=f"check at most this many random entries per array; 0 = every entry (default {MAX_ENTRIES})")
    p.add_argument("--h", type=float, default=H, help=f"finite-difference step (default {H:g})")
    p.add_argument("--threshold", type=float, default=THRESHOLD, help=f"max relative error (default {THRESHOLD:g})")
    args = p.parse_args(argv)
    try:
        b = get_backend(args.backend, dtype="float64")
        require_float64(b)
        t0 = time.perf_counter()
        if args.entries < 0:
            raise ValueError(f"entries: expected 0 (every entry) or a positive count, got {args.entries}")
        results = run_all(b, args.seed, args.batch, args.width, args.depth, args.h, args.threshold, args.entries)
    except (ValueError, TypeError) as e:
        print(f"minigan gradcheck: {e}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0
    print(f"gradient check: backend {b.spec} (float64), seed {args.seed}, batch {args.batch}, "
          f"width {args.width}, depth {args.depth}, entries/array {args.entries or 'all'}, h {args.h:g}, "
          f"threshold {args.threshold:g}")
    print(format_table(results))
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)}/{len(results)} passed in {elapsed:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
