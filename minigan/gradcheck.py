"""Finite-difference checks of every hand-written gradient (after CS231n's ``gradient_check.py``).

Every analytic gradient is compared, in float64, with the centred differences
(f(x + h·e_i) − f(x − h·e_i)) / (2h), h = 1e-5, by rel_error = max|a − b| / max(1e-8, max(|a| + |b|));
≤ 1e-6 passes (CS231n: ~1e-7 is good, ~1e-4 acceptable only near kinks, 1e-2 is a bug). Inputs are
drawn further than KINK_MARGIN = 100·h from every kink (ReLU/LeakyReLU at 0, maxout ties, the hinge
at logits ±1), and a step that crossed one raises :class:`KinkCrossed`. The differences' own error
(rounding and truncation) must be ≤ the threshold too. ``python -m minigan.gradcheck`` (or
``minigan gradcheck``) prints the table; exit 1 if a check fails, 2 on bad options (e.g. no float64).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import losses as L
from . import penalties as P
from . import second_order as SO
from . import unrolled as U
from ._checks import check_int
from ._types import Array, ArrayLike, DLoss, GLoss, Grads
from .backend import Backend, get_backend
from .layers import BatchNorm, Dropout, Layer, LeakyReLU, Linear, Maxout, ReLU, Sigmoid, Tanh
from .networks import MLP, MLPSpec
from .optim import SGD, Adam, Optimizer

H = 1e-5
THRESHOLD = 1e-6
KINK_MARGIN = 100 * H
MAX_ENTRIES = 40  # the command's default: entries checked per array (CS231n's grad_check_sparse)
KINKED_LOSSES = (L.hinge_d_loss,)  # loss forms with a kink in the logits (at ±1); every G form is smooth
EPS = float(np.finfo(np.float64).eps)


class KinkCrossed(ArithmeticError):
    """A finite-difference step crossed a kink: that difference says nothing about the gradient."""


# -- the error measure and the centred difference ----------------------------------------------
def rel_error(a: ArrayLike, b: ArrayLike) -> float:
    """max_i |a_i − b_i| / max(1e-8, max_i (|a_i| + |b_i|)) of two arrays of one shape, in float64."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a {a.shape}, got {b.shape}")
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b))))) if a.size else 0.0


def numerical_gradient(
    f: Callable[..., float],
    x: ArrayLike,
    h: float = H,
    entries: Sequence[tuple[int, ...]] | None = None,
    step_doubling: bool = False,
    fourth_difference: bool = False,
) -> Any:
    """D_h, the centred differences D_s = (f(x+s·e_i) − f(x−s·e_i))/(2s) of f (float64 array -> float)
    at x (a copy is perturbed), over ``entries`` (index tuples; None: all; the others stay 0).
    step_doubling: also |D_h − D_2h| ≈ 3|c|h² (D_s = ∂f/∂x_i + c·s² + O(s⁴)): 3× the truncation error.
    fourth_difference: also Δ⁴_i = f(x−2h·e_i) − 4f(x−h·e_i) + 6f(x) − 4f(x+h·e_i) + f(x+2h·e_i), f's
    rounding noise (E[(Δ⁴)²] = 70σ² for noise σ per value: Moré & Wild 2011, SIAM J. Sci. Comput. 33(3))."""
    if not h > 0:
        raise ValueError(f"h: expected a positive step, got {h!r}")
    if fourth_difference and not step_doubling:
        raise ValueError("fourth_difference: needs step_doubling=True (it reuses its evaluations)")
    x = np.array(x, dtype=np.float64, copy=True)
    grad, spread, fourth = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    f0 = float(f(x)) if fourth_difference else 0.0
    for i in np.ndindex(x.shape) if entries is None else entries:
        old, d, v = x[i], [], []
        for s in (h, 2 * h) if step_doubling else (h,):
            x[i] = old + s
            fp = float(f(x))
            x[i] = old - s
            fm = float(f(x))
            d.append((fp - fm) / (2.0 * s))
            v.append(fp + fm)
        x[i], grad[i] = old, d[0]
        if step_doubling:
            spread[i], fourth[i] = abs(d[0] - d[1]), v[1] - 4.0 * v[0] + 6.0 * f0
    return (grad, spread, fourth) if fourth_difference else (grad, spread) if step_doubling else grad


def sample_entries(
    shape: tuple[int, ...], max_entries: int | None, seed: int = 0
) -> list[tuple[Any, ...]] | None:
    """At most ``max_entries`` random index tuples of ``shape`` (None: all); CS231n's grad_check_sparse."""
    size = math.prod(shape)
    if max_entries is None or size <= max_entries:
        return None
    return [
        np.unravel_index(int(k), shape)
        for k in np.random.default_rng(seed).choice(size, max_entries, replace=False)
    ]


# -- how good the differences are -------------------------------------------------------------
def noise_floor(f0: float, h: float = H) -> float:
    """100·ε·max(1, |f0|)/h: below it, a difference of f (value f0) cannot tell a gradient from 0."""
    return 100.0 * EPS * max(1.0, abs(f0)) / h


def fd_resolution(f0: float, grad: ArrayLike, h: float = H, noise: float = 0.0) -> float:
    """max(ε·max(1, |f0|), noise) / (h·max|grad|): the relative error rounding alone (noise per value of f)
    puts on differences of f = f0; e.g. bce's ∂/∂l_r ≈ −2e-5 at l_r = 11, f ≈ 11, resolves to ~1e-6."""
    g = float(np.max(np.abs(np.asarray(grad, dtype=np.float64)), initial=0.0))
    return math.inf if g == 0.0 else float(max(EPS * max(1.0, abs(f0)), noise) / (h * g))


def rounding_noise(fourth: ArrayLike) -> float:
    """3σ̂, σ̂² = mean_i (Δ⁴_i)² / 70: a bound on the rounding of one value of f, measured, as a loss
    through a network carries every layer's rounding (often several ε·|f|)."""
    v = np.asarray(fourth, dtype=np.float64)
    return float(3.0 * math.sqrt(float(np.mean(v * v)) / 70.0)) if v.size else 0.0


class Errors(dict[str, float]):
    """name -> rel_error of its gradient; ``.accuracy``: name -> the differences' own relative error."""

    accuracy: dict[str, float]

    def worst_accuracy(self) -> float:
        return max(self.accuracy.values(), default=0.0)


# -- kinks: how far the inputs are from them, and on which side ---------------------------------
def relu_margin(z: ArrayLike) -> float:
    """min_i |z_i|: the distance of ReLU/LeakyReLU inputs z (any shape, host) from 0."""
    z = np.asarray(z, dtype=np.float64)
    return float(np.min(np.abs(z))) if z.size else math.inf


def maxout_gap(z: np.ndarray) -> float:
    """The least gap between the top two pieces of z[n, j, :], z (N, units, pieces); inf for one."""
    z = np.sort(np.asarray(z, dtype=np.float64), axis=-1)
    return float(np.min(z[..., -1] - z[..., -2])) if z.shape[-1] > 1 and z.size else math.inf


def hinge_margin(l_real: ArrayLike | None = None, l_fake: ArrayLike | None = None) -> float:
    """min(|l_r − 1|, |l_f + 1|): hinge logits' (either may be None) distance from relu's kinks."""
    return min(
        [relu_margin(np.subtract(l, k)) for l, k in ((l_real, 1.0), (l_fake, -1.0)) if l is not None],
        default=math.inf,
    )


def _walk(layers, x, train, backend):
    """x through ``layers`` one by one: (out, margin, sides), from each layer's *input*: the least |input|
    of a ReLU/LeakyReLU and its signs; the least gap between the top two maxout pieces
    z = reshape(input @ W + b, (N, units, pieces)) and their winners."""
    margin, sides = math.inf, []
    for layer in layers:
        out, _ = layer.forward(x, train)
        if isinstance(layer, (ReLU, LeakyReLU)):
            z = backend.to_numpy(x)
            margin = min(margin, relu_margin(z))
            sides.append(z > 0)
        elif isinstance(layer, Maxout):
            W, b = backend.to_numpy(layer.params["W"]), backend.to_numpy(layer.params["b"])
            z = np.reshape(backend.to_numpy(x) @ W + b, (*out.shape, -1))
            margin = min(margin, maxout_gap(z))
            sides.append(np.argmax(z, axis=-1))
        x = out
    return x, margin, sides


def _loss_kinks(loss_fn, backend, *logits):
    """(margin, sides) of a loss form's own kinks: the hinge's at l_r = 1, l_f = −1; (inf, []) if smooth."""
    if loss_fn not in KINKED_LOSSES:
        return math.inf, []
    l_r, l_f = (backend.to_numpy(l) for l in logits)
    return hinge_margin(l_r, l_f), [l_r < 1.0, l_f > -1.0]


@contextlib.contextmanager
def _preserved(layers):
    """Restore the parameters, buffers and dropout random states of ``layers`` on exit: every pass run
    inside starts from one state and draws one dropout mask."""
    rngs = list({id(layer.rng): layer.rng for layer in layers if isinstance(layer, Dropout)}.values())
    states, saved = [r.state() for r in rngs], [(dict(layer.params), dict(layer.buffers)) for layer in layers]
    try:
        yield
    finally:
        for layer, (p, b) in zip(layers, saved):
            layer.params.update(p)
            layer.buffers.update(b)
        for r, s in zip(rngs, states):
            r.set_state(s)


def kink_margin(net: Layer | MLP, x: Array, train: bool = True) -> float:
    """The distance of input ``x`` from the nearest kink of ``net`` (a layer or an MLP); inf if smooth."""
    layers = net.layers if isinstance(net, MLP) else [net]
    with _preserved(layers):
        return _walk(layers, x, train, net.backend if isinstance(net, MLP) else _backend_of(x))[1]


def discriminator_chain_margin(
    D: MLP, x_real: Array, x_fake: Array, d_loss: DLoss | None = None, train: bool = True
) -> float:
    """D's kink margin on both batches (in turn, as in training) and the kinks of d_loss (the hinge's)."""
    with _preserved(D.layers):
        l_r, m_r, _ = _walk(D.layers, x_real, train, D.backend)
        l_f, m_f, _ = _walk(D.layers, x_fake, train, D.backend)
        return min(m_r, m_f, _loss_kinks(d_loss, D.backend, l_r, l_f)[0])


def generator_chain_margin(
    G: MLP, D: MLP, z: Array, g_loss: GLoss | None = None, train: bool = True
) -> float:
    """The kink margin of g_loss(D(G(z))): G's kinks on z and D's on G(z); g_loss, a G form, is smooth."""
    with _preserved(G.layers + D.layers):
        return _walk(G.layers + D.layers, z, train, G.backend)[1]


# -- the checks: one comparison, four kinds of scalar -------------------------------------------
def require_float64(backend: Backend) -> None:
    """Raise ValueError unless ``backend`` computes in float64 (finite differences need it)."""
    if not isinstance(backend, Backend):
        raise TypeError(f"backend: expected a Backend, got {type(backend).__name__}")
    if backend.float_dtype != backend.xp.float64:
        raise ValueError(
            f"backend: gradient checks need float64, got {backend.float_dtype} (ask dtype='float64')"
        )
    try:
        backend.zeros((1,))
    except Exception as e:  # noqa: BLE001 - e.g. array-api-strict's no_float64 device
        raise ValueError(f"backend: {backend.spec} cannot compute in float64 ({e})") from None


def _backend_of(a: Array) -> Backend:
    """The backend an array lives on (numpy, array-api-strict, cupy), in its dtype."""
    lib, dtype = type(a).__module__.split(".")[0], str(a.dtype).rsplit(".", 1)[-1]
    if lib == "array_api_strict":  # its devices print as array_api_strict.Device('device1')
        return get_backend("strict:" + str(a.device).split("'")[1], dtype=dtype)
    return get_backend(lib, device=getattr(a.device, "id", None), dtype=dtype)


def _compare(
    backend: Backend,
    scalar: Callable[[dict[str, Array]], tuple[Array, list[Any]]],
    grads: dict[str, Array],
    inputs: dict[str, Array],
    net: Layer | MLP | None,
    layers: Sequence[Layer],
    where: str,
    h: float,
    max_entries: int | None,
    seed: int,
) -> Errors:
    """Every check: the analytic ``grads`` against differences of ``scalar(state)`` -> (value, kink
    sides), varying each of the ``inputs`` (held in ``state``) and of ``net``'s parameters (named as
    by MLP.params(), or by key for a layer) in turn on a host float64 copy; ``layers`` preserved."""
    require_float64(backend)
    state = dict(inputs)
    slots = _slots(state, net)
    with _preserved(layers):
        value, base = scalar(state)

    def f(name: str, v: np.ndarray) -> float:  # scalar with array ``name`` set to v
        d, key = slots[name]  # a fresh copy each time: numpy's asarray would alias the host buffer
        d[key] = backend.asarray(np.array(v, copy=True), dtype=backend.float_dtype)
        with _preserved(layers):
            out, sides = scalar(state)
        if len(sides) != len(base) or not all(np.array_equal(p, q) for p, q in zip(sides, base)):
            raise KinkCrossed(
                f"{where}: a finite-difference step of h={h:g} crossed a kink (a ReLU sign, "
                "a maxout winner or a hinge side changed); draw inputs further from the kinks"
            )
        return float(backend.to_numpy(out))

    rows = []
    for k, (name, (d, key)) in enumerate(slots.items()):
        entries = sample_entries(tuple(d[key].shape), max_entries, seed + k)
        rows.append(_differences(functools.partial(f, name), backend, d, key, grads[name], h, entries))
    return _score(dict(zip(slots, rows)), float(backend.to_numpy(value)), h)


def _slots(state: dict[str, Array], net: Layer | MLP | None) -> dict[str, tuple[dict[str, Array], str]]:
    """Where each varied array lives, by name: (dict, key): the inputs (in ``state``), then the
    parameters, named as by MLP.params() ("<i>.<key>"), or by key for a layer."""
    slots = {n: (state, n) for n in state}
    if net is not None:
        layers = net.layers if isinstance(net, MLP) else [net]
        for i, layer in enumerate(layers):
            slots.update({f"{i}.{k}" if isinstance(net, MLP) else k: (layer.params, k) for k in layer.params})
    return slots


def _differences(
    f: Callable[[np.ndarray], float],
    backend: Backend,
    d: dict[str, Array],
    key: str,
    grad: Array,
    h: float,
    entries: list[tuple[Any, ...]] | None,
) -> tuple[np.ndarray, ...]:
    """(numerical, analytic, spread, fourth differences) of f w.r.t. the array d[key] (restored
    after), on ``entries`` (None: all), beside the analytic ``grad``."""
    a = d[key]
    try:
        num, spread, fourth = numerical_gradient(
            f, backend.to_numpy(a), h, entries, step_doubling=True, fourth_difference=True
        )
    finally:
        d[key] = a
    ana = backend.to_numpy(grad)
    if entries is not None:  # only the entries checked
        idx = tuple(np.array(i) for i in zip(*entries))
        num, ana, spread, fourth = num[idx], ana[idx], spread[idx], fourth[idx]
    return num, ana, spread, np.ravel(fourth)


def _score(rows: dict[str, tuple[np.ndarray, ...]], f0: float, h: float) -> Errors:
    """Each array's rel_error, and the accuracy of its differences: their resolution at the
    measured rounding noise of f, or their step-doubling spread, whichever is larger."""
    noise = rounding_noise(np.concatenate([r[3] for r in rows.values()])) if rows else 0.0  # not ε·|f|
    errors = Errors()
    errors.accuracy = {}
    for name, (num, ana, spread, _) in rows.items():
        if max(np.max(np.abs(ana), initial=0.0), np.max(np.abs(num), initial=0.0)) <= noise_floor(f0, h):
            errors[name] = 0.0  # a true zero: its relative error would be 0/0 noise
            continue
        errors[name] = rel_error(ana, num)
        scale = max(1e-8, float(np.max(np.abs(ana) + np.abs(num), initial=0.0)))
        resolution = fd_resolution(f0, ana, h, noise)
        errors.accuracy[name] = max(resolution, float(np.max(spread, initial=0.0)) / scale)
    return errors


def check_layer(
    layer: Layer | MLP,
    x: Array,
    backend: Backend,
    train: bool = True,
    seed: int = 0,
    h: float = H,
    max_entries: int | None = None,
) -> Errors:
    """A layer's (or an MLP's) backward: L = Σ out ⊙ dout, dout ~ N(0, 1) on its own stream (dout = x
    would make batch norm's dx vanish), w.r.t. x (N, in) and each parameter: {"x": ..., "W": ...}."""
    layers = layer.layers if isinstance(layer, MLP) else [layer]
    with _preserved(layers):
        out, cache = layer.forward(x, train)
        dout = backend.asarray(
            np.random.default_rng([seed, 0xD0]).standard_normal(out.shape), dtype=backend.float_dtype
        )
        dx, grads = layer.backward(dout, cache)

    def scalar(state):
        o, _, sides = _walk(layers, state["x"], train, backend)
        return backend.xp.sum(o * dout), sides

    return _compare(
        backend, scalar, {"x": dx, **grads}, {"x": x}, layer, layers, repr(layer), h, max_entries, seed
    )


def check_mlp(
    mlp: MLP, x: Array, train: bool = True, seed: int = 0, h: float = H, max_entries: int | None = None
) -> Errors:
    """An MLP's backward, as :func:`check_layer`: {"x": ..., "<i>.<param>": ...}; x (N, sizes[0])."""
    return check_layer(mlp, x, mlp.backend, train, seed, h, max_entries)


def check_loss(
    loss_fn: Callable[..., tuple[Array, ...]], *logits: Array, h: float = H, **kwargs: Any
) -> Errors:
    """A loss form's gradients w.r.t. its logits, (l_real, l_fake) or (l_fake,) of shape (m,) or
    (m, 1): {"l_real": ..., "l_fake": ...}. kwargs go to loss_fn (e.g. real_target=0.9)."""
    if len(logits) not in (1, 2):
        raise ValueError(f"logits: expected (l_real, l_fake) or (l_fake,), got {len(logits)} arrays")
    backend, names = _backend_of(logits[0]), ("l_real", "l_fake")[-len(logits) :]

    def scalar(state):
        ls = [state[n] for n in names]
        return loss_fn(*ls, **kwargs)[0], _loss_kinks(loss_fn, backend, *ls)[1]

    grads = dict(zip(names, loss_fn(*logits, **kwargs)[1:]))
    return _compare(backend, scalar, grads, dict(zip(names, logits)), None, [], loss_fn.__name__, h, None, 0)


def check_discriminator_chain(
    D: MLP,
    d_loss: DLoss,
    x_real: Array,
    x_fake: Array,
    train: bool = True,
    h: float = H,
    max_entries: int | None = None,
    **kwargs: Any,
) -> Errors:
    """∂L_D/∂θ_D, L_D = d_loss(D(x_real), D(x_fake)) (kwargs go to it), for every parameter of D:
    the analytic gradient is D.backward(∂L_D/∂l_r) + D.backward(∂L_D/∂l_f), two passes through D."""
    with _preserved(D.layers):
        l_r, c_r = D.forward(x_real, train)
        l_f, c_f = D.forward(x_fake, train)
        _, dl_r, dl_f = d_loss(l_r, l_f, **kwargs)
        g_r, g_f = D.backward(dl_r, c_r, need_dx=False)[1], D.backward(dl_f, c_f, need_dx=False)[1]

    def scalar(state):
        l_r, _, s_r = _walk(D.layers, x_real, train, D.backend)
        l_f, _, s_f = _walk(D.layers, x_fake, train, D.backend)
        return d_loss(l_r, l_f, **kwargs)[0], s_r + s_f + _loss_kinks(d_loss, D.backend, l_r, l_f)[1]

    grads = {k: g_r[k] + g_f[k] for k in g_r}
    return _compare(
        D.backend, scalar, grads, {}, D, D.layers, f"D chain ({d_loss.__name__})", h, max_entries, 0
    )


def check_generator_chain(
    G: MLP, D: MLP, g_loss: GLoss, z: Array, train: bool = True, h: float = H, max_entries: int | None = None
) -> Errors:
    """∂L_G/∂θ_G, L_G = g_loss(D(G(z))), for every parameter of G through a fixed D; analytic:
    dl = ∂L_G/∂l;  dx, _ = D.backward(dl, need_grads=False);  _, grads = G.backward(dx)."""
    with _preserved(G.layers + D.layers):
        x, c_g = G.forward(z, train)
        l_f, c_d = D.forward(x, train)
        dx, _ = D.backward(g_loss(l_f)[1], c_d, need_dx=True, need_grads=False)
        _, grads = G.backward(dx, c_g, need_dx=False)

    def scalar(state):
        l_f, _, sides = _walk(G.layers + D.layers, z, train, G.backend)  # G's output is D's input
        return g_loss(l_f)[0], sides

    return _compare(
        G.backend,
        scalar,
        grads,
        {},
        G,
        G.layers + D.layers,
        f"G chain ({g_loss.__name__})",
        h,
        max_entries,
        0,
    )


def check_penalty(
    kind: str,
    weight: float,
    D: MLP,
    x_real: Array,
    x_fake: Array,
    eps: Array = None,
    train: bool = True,
    h: float = H,
    max_entries: int | None = None,
) -> Errors:
    """A gradient penalty (r1 | r2 | gp; docs/MATH.md §12), a second derivative of D's logit, w.r.t. x_real,
    x_fake (m, dim) and every parameter of D; eps (m, 1): gp's fixed interpolation weights."""
    with _preserved(D.layers):
        _, grads, dx_r, dx_f = P.penalty(kind, weight, D, x_real, x_fake, eps, train)

    def scalar(s):
        with _preserved(D.layers):  # the kinks of D at the penalized points, under the same dropout mask
            sides = _walk(
                D.layers, P.penalized_points(kind, s["x_real"], s["x_fake"], eps), train, D.backend
            )[2]
        return P.penalty(kind, weight, D, s["x_real"], s["x_fake"], eps, train)[0], sides

    return _compare(
        D.backend,
        scalar,
        {"x_real": dx_r, "x_fake": dx_f, **grads},
        {"x_real": x_real, "x_fake": x_fake},
        D,
        D.layers,
        f"penalty {kind}",
        h,
        max_entries,
        0,
    )


def game_gradients(
    G: MLP, D: MLP, z: Array, x_real: Array, loss: str, form: str, train: bool = True
) -> tuple[Grads, Grads]:
    """(∇θG L, ∇θD L) by the first-order code, L = L_D (``loss`` "d") or L_G ("g") in the loss form
    ``form`` (``second_order.D_FORMS`` / ``G_FORMS``): G's forward, D's over [x_real; G(z)], the
    form's logit gradients, D's backward, then G's on the fake rows. z: (n, noise_dim), x_real: (m, dim)."""
    xp, m = G.backend.xp, x_real.shape[0]
    x_fake, g_cache = G.forward(z, train)
    l, d_cache = D.forward(xp.concat([x_real, x_fake], axis=0), train)
    if loss == "d":
        _, dl_r, dl_f = SO.D_FORMS[form][0](l[:m, :], l[m:, :])
    else:
        (_, dl_f), dl_r = SO.G_FORMS[form][0](l[m:, :]), xp.zeros_like(l[:m, :])
    dx, d_grads = D.backward(xp.concat([dl_r, dl_f], axis=0), d_cache)
    _, g_grads = G.backward(dx[m:, :], g_cache)
    return g_grads, d_grads


def _moved(nets: Sequence[MLP], v: Sequence[Grads], t: float) -> list[dict[str, Array]]:
    """Set each net's parameters to θ + t·v; return the θ to restore."""
    start = [dict(net.params()) for net in nets]
    for net, p0, d in zip(nets, start, v):
        for k in p0:
            net.set_param(k, p0[k] + t * d[k])
    return start


def directional_difference(
    f: Callable[[], tuple[Grads, ...]], nets: Sequence[MLP], v: Sequence[Grads], h: float
) -> tuple[list[Grads], list[Grads]]:
    """(d(h), d(2h)): the centred differences (f(θ + s v) − f(θ − s v)) / 2s of the dict-valued
    ``f`` of the nets' parameters θ along v, at s = h and 2h (for the step-doubling accuracy);
    the parameters are left as they were."""
    out = []
    for step in (h, 2 * h):
        sides = []
        for t in (step, -step):
            start = _moved(nets, v, t)
            try:
                sides.append(f())
            finally:
                for net, p0 in zip(nets, start):
                    for k in p0:
                        net.set_param(k, p0[k])
        out.append([{k: (a[k] - c[k]) / (2 * step) for k in a} for a, c in zip(*sides)])
    return out[0], out[1]


def _product_errors(
    backend: Backend,
    analytic: Sequence[Grads],
    d_h: Sequence[Grads],
    d_2h: Sequence[Grads],
    names: Sequence[str],
) -> Errors:
    """rel_error of each part of a product against its differences d(h), with the accuracy of
    those differences from step doubling: |d(h) − d(2h)| / 3 (Richardson: the truncation error
    of d(h)), relative to the entries' scale."""
    errors = Errors()
    errors.accuracy = {}
    for name, a, dh, d2 in zip(names, analytic, d_h, d_2h):
        ana, num, num2 = (
            np.concatenate([np.ravel(backend.to_numpy(x[k])) for k in sorted(x)]) for x in (a, dh, d2)
        )
        scale = max(1e-8, float(np.max(np.abs(ana) + np.abs(num), initial=0.0)))
        errors[name] = rel_error(ana, num)
        errors.accuracy[name] = float(np.max(np.abs(num - num2), initial=0.0)) / 3 / scale
    return errors


def check_hessian_vector(
    loss: str, G: MLP, D: MLP, z: Array, x_real: Array, v_G: Grads, v_D: Grads, form: str, h: float = H
) -> Errors:
    """``second_order.hvp`` (Hess(L)·(v_G, v_D)) against centred differences of the first-order
    gradients along (v_G, v_D) (``game_gradients``), in float64 (docs/MATH.md §15.6). Networks
    without dropout: every evaluation is the same function."""
    b = G.backend
    require_float64(b)
    analytic = SO.hvp(loss, G, D, z, x_real, v_G, v_D, form)
    d_h, d_2h = directional_difference(
        lambda: game_gradients(G, D, z, x_real, loss, form), (G, D), (v_G, v_D), h
    )
    return _product_errors(b, analytic, d_h, d_2h, ("H v: G's part", "H v: D's part"))


def check_consensus_gradient(
    G: MLP, D: MLP, z: Array, x_real: Array, u_G: Grads, u_D: Grads, d_form: str, g_form: str, h: float = H
) -> Errors:
    """The consensus gradient ∇½‖v‖² = Jᵀv (``second_order.game_jacobian_transpose_vector`` at
    w = v, v = (−∇θG L_G, −∇θD L_D)) against the game field's own differences along u: their
    inner product u·Jᵀv = v·(J u), with J u from centred differences of v (docs/MATH.md §15.4)."""
    b = G.backend
    require_float64(b)

    def field() -> tuple[Grads, Grads]:
        g_G = game_gradients(G, D, z, x_real, "g", g_form)[0]
        d_D = game_gradients(G, D, z, x_real, "d", d_form)[1]
        return {k: -a for k, a in g_G.items()}, {k: -a for k, a in d_D.items()}

    v = field()
    jt_v = SO.game_jacobian_transpose_vector(G, D, z, x_real, *v, d_form=d_form, g_form=g_form)
    ju_h, ju_2h = directional_difference(field, (G, D), (u_G, u_D), h)
    dot = lambda a, c: sum(float(b.to_numpy(b.xp.sum(a[i][k] * c[i][k]))) for i in (0, 1) for k in a[i])
    u = (u_G, u_D)
    return _product_errors(
        b,
        [{"u·Jᵀv": b.asarray(dot(u, jt_v))}],
        [{"u·Jᵀv": b.asarray(dot(v, ju_h))}],
        [{"u·Jᵀv": b.asarray(dot(v, ju_2h))}],
        ("u·Jᵀv",),
    )


def unrolled_objective(
    G: MLP, D: MLP, z: Array, x_real: Array, d_opt: Optimizer, steps: int, d_form: str, g_form: str
) -> float:
    """f_K = f(θ_G, θ_D^K) by the first-order code: ``steps`` steps of a clone of ``d_opt`` on ∇θD L_D
    (``game_gradients``), then f = −L_D for a zero-sum pair (``second_order.ZERO_SUM``), else L_G, on
    [x_real; G(z)]; D's parameters are restored (docs/MATH.md §17)."""
    xp, m = G.backend.xp, x_real.shape[0]
    start, twin = {k: p for k, p in D.params().items()}, d_opt.clone()
    try:
        for _ in range(steps):
            moved = {k: xp.asarray(p, copy=True) for k, p in D.params().items()}
            twin.step(moved, game_gradients(G, D, z, x_real, "d", d_form)[1])
            for k, p in moved.items():
                D.set_param(k, p)
        l, _ = D.forward(xp.concat([x_real, G.forward(z)[0]], axis=0))
        if (g_form, d_form) in SO.ZERO_SUM:
            return -float(G.backend.to_numpy(SO.D_FORMS[d_form][0](l[:m, :], l[m:, :])[0]))
        return float(G.backend.to_numpy(SO.G_FORMS[g_form][0](l[m:, :])[0]))
    finally:
        for k, p in start.items():
            D.set_param(k, p)


def check_unrolled_gradient(
    G: MLP,
    D: MLP,
    z: Array,
    x_real: Array,
    u_G: Grads,
    d_opt: Optimizer,
    steps: int,
    d_form: str,
    g_form: str,
    h: float = H,
) -> Errors:
    """The unrolled gradient df_K/dθ_G (``unrolled.unrolled_gradients``) against centred differences of
    the scalar f_K itself (``unrolled_objective``) along u_G: u_G·df_K/dθ_G = d f_K(θ_G + t u_G)/dt."""
    b = G.backend
    require_float64(b)
    at = SO.UnrollPass(G, D, z, x_real, d_form, g_form)
    grad = U.unrolled_gradients(at, d_opt, D.params(), steps)[0]
    dot = sum(float(b.to_numpy(b.xp.sum(u_G[k] * grad[k]))) for k in grad)
    f = lambda: ({"f_K": b.asarray(unrolled_objective(G, D, z, x_real, d_opt, steps, d_form, g_form))},)
    d_h, d_2h = directional_difference(f, (G,), (u_G,), h)
    return _product_errors(b, [{"f_K": b.asarray(dot)}], d_h, d_2h, ("u·df_K/dθ_G",))


def generic_point(net: MLP, seed: int = 0, scale: float = 0.1) -> MLP:
    """Move every parameter of the MLP ``net`` by N(0, scale²) noise, in place. At zero biases, a sample
    whose ReLU layer is all dead makes every maxout piece of D tie at 0: no redraw avoids that kink."""
    g, b = np.random.default_rng([seed, 0x6E]), net.backend
    for layer in net.layers:
        for k, v in layer.params.items():
            layer.params[k] = b.asarray(
                b.to_numpy(v) + g.standard_normal(tuple(v.shape)) * scale, dtype=v.dtype
            )
    return net


# -- the whole suite: the command's table -------------------------------------------------------
@dataclass
class Result:
    """One row: a component's worst rel_error (nan: no valid draw) and accuracy, kink margin, worst array."""

    component: str
    error: float
    accuracy: float
    margin: float
    worst: str
    threshold: float = THRESHOLD

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.threshold and self.accuracy <= self.threshold)


def run_all(
    backend: str | Backend = "numpy",
    seed: int = 0,
    batch: int = 8,
    width: int = 16,
    depth: int = 2,
    h: float = H,
    threshold: float = THRESHOLD,
    max_entries: int | None = MAX_ENTRIES,
) -> list[Result]:
    """Every check, one :class:`Result` each, in the order of the command's table: the layers, the
    loss forms, whole MLPs, the chains through D and G, the gradient penalties. width: hidden width
    and layer features; depth: hidden layers of the MLPs; batch: samples per check (at least 3, for
    batch norm); max_entries: random entries checked per array (None or 0: all)."""
    seed = check_int("seed", seed, low=0)
    width, depth = check_int("width", width), check_int("depth", depth)
    batch = check_int("batch", batch, low=3, what="at least 3 (batch norm)")
    entries = check_int("entries", max_entries or 0, low=0, what="0 (every entry) or a positive count")
    b = get_backend(backend.spec if isinstance(backend, Backend) else backend, dtype="float64")
    require_float64(b)
    suite = _Suite(b, seed, batch, width, (width,) * depth, h, threshold, entries or None)
    return [
        *_layer_rows(suite),
        *_loss_rows(suite),
        *_mlp_rows(suite),
        *_chain_rows(suite),
        *_penalty_rows(suite),
        *_second_order_rows(suite),
    ]


# The discriminator-side loss forms checked, (name, function, keyword arguments): alone and through D.
D_FORMS: list[tuple[str, DLoss, dict[str, Any]]] = [
    ("bce", L.discriminator_loss, {}),
    ("bce, label smoothing 0.9", L.discriminator_loss, {"real_target": 0.9}),
    ("value function V", L.value_function, {}),
    ("total L_D + L_G^ns", L.total_loss, {}),
    ("least squares D", L.least_squares_d_loss, {}),
    ("least squares D (a=-1, b=1)", L.least_squares_d_loss, {"a": -1.0, "b": 1.0}),
    ("hinge D", L.hinge_d_loss, {}),
    ("wasserstein D", L.wasserstein_d_loss, {}),
]


@dataclass
class _Suite:
    """What every row of :func:`run_all` shares: the float64 backend, the seed, the batch N, the
    layer width W, the MLPs' hidden widths, the step h, the threshold and the entries checked per
    array (None: all); ``host`` draws the layers' own parameters."""

    b: Backend
    seed: int
    N: int
    W: int
    hidden: tuple[int, ...]
    h: float
    threshold: float
    E: int | None

    def __post_init__(self) -> None:
        self.host = np.random.default_rng(self.seed)

    def arr(self, shape: tuple[int, ...], scale: float = 1.0, s: int | None = None) -> Array:
        """N(0, scale²) entries, from the stream seeded ``s`` (None: ``host``)."""
        g = self.host if s is None else np.random.default_rng(s)
        return self.b.asarray(g.standard_normal(shape) * scale, dtype=self.b.float_dtype)

    def logits(self, s: int) -> tuple[Array, Array]:
        """(l_real, l_fake), each (N, 1) with entries N(0, 3²)."""
        g = np.random.default_rng(s)
        return tuple(
            self.b.asarray(g.standard_normal((self.N, 1)) * 3.0, dtype=self.b.float_dtype) for _ in range(2)
        )

    def row(
        self,
        name: str,
        draw: Callable[[int], Any],
        check: Callable[[Any], Errors],
        margin_of: Callable[[Any], float] = lambda inputs: math.inf,
        s: int | None = None,
        tries: int = 20,
    ) -> Result:
        """check(draw(s)), redrawn with s + 1000, s + 2000, ... while the draw lies within
        KINK_MARGIN of a kink, a step crossed one, or the differences are not accurate enough. A
        row whose error passes but whose differences stay too inaccurate to tell (rounding noise
        of a tiny gradient) is checked once more at the step 4h, named so in the table."""
        s = self.seed if s is None else s
        last = Result(
            name, math.nan, math.nan, math.nan, f"no draw in {tries} tries was kink-free", self.threshold
        )
        kept = None
        for t in range(tries):
            inputs = draw(s + 1000 * t)
            if (m := margin_of(inputs)) <= KINK_MARGIN:
                continue
            try:
                last, kept = self._result(name, check, inputs, m), inputs
            except KinkCrossed:
                continue
            if last.accuracy <= self.threshold:
                return last
        if kept is None or not last.error <= self.threshold:
            return last
        h, self.h = self.h, 4 * self.h
        try:
            wider = self._result(f"{name} (h×4)", check, kept, last.margin)
        except KinkCrossed:
            return last
        finally:
            self.h = h
        return wider if wider.accuracy <= self.threshold else last

    def _result(self, name: str, check: Callable[[Any], Errors], inputs: Any, margin: float) -> Result:
        errors = check(inputs)
        worst = max(errors, key=lambda k: errors[k])
        return Result(name, errors[worst], errors.worst_accuracy(), margin, worst, self.threshold)

    def net_row(self, name: str, net: Layer | MLP, train: bool, d_in: int) -> Result:
        """A layer or an MLP: L = Σ out ⊙ dout w.r.t. its input x (N, d_in) and its parameters."""
        return self.row(
            name,
            lambda s: self.arr((self.N, d_in), 1.0, s),
            lambda x: check_layer(net, x, self.b, train, self.seed, self.h, self.E),
            lambda x: kink_margin(net, x, train),
        )


def _layer_rows(t: _Suite) -> list[Result]:
    """Each layer on its own, batch norm's γ, β (and in eval its running statistics) drawn away
    from 1, 0, the Linear's bias away from 0."""
    b, W, rng = t.b, t.W, t.b.random(t.seed)
    bn, bn_eval = BatchNorm(W, b), BatchNorm(W, b)
    for layer in (bn, bn_eval):
        layer.params.update(gamma=t.arr((W,), 0.5) + 1.0, beta=t.arr((W,), 0.5))
    running_mean = t.arr((W,), 0.5)  # (drawn before the variance: one host stream, in this order)
    running_var = b.asarray(t.host.uniform(0.5, 2.0, W), dtype=b.float_dtype)
    bn_eval.buffers.update(running_mean=running_mean, running_var=running_var)
    lin = Linear(W, W, b, rng)
    lin.params["b"] = t.arr((W,), 0.1)
    layers: list[tuple[str, Layer, bool]] = [
        ("Linear", lin, True),
        ("Maxout (3 pieces)", Maxout(W, W, 3, b, rng), True),
        ("ReLU", ReLU(b), True),
        ("LeakyReLU (0.2)", LeakyReLU(b, 0.2), True),
        ("Tanh", Tanh(b), True),
        ("Sigmoid", Sigmoid(b), True),
        ("Dropout (0.5) train, frozen mask", Dropout(0.5, b, rng), True),
        ("Dropout (0.5) eval", Dropout(0.5, b, rng), False),
        ("BatchNorm train", bn, True),
        ("BatchNorm eval", bn_eval, False),
    ]
    return [t.net_row(f"layer {name}", layer, train, W) for name, layer, train in layers]


def _loss_rows(t: _Suite) -> list[Result]:
    """Each loss form w.r.t. its logits: the D forms, then the G forms."""
    rows = [_d_loss_row(t, f"loss {name}", fn, kw) for name, fn, kw in D_FORMS]
    return rows + [_g_loss_row(t, f"loss G {name}", fn) for name, fn in L.GENERATOR_LOSSES.items()]


def _d_loss_row(t: _Suite, name: str, fn: DLoss, kw: dict[str, Any]) -> Result:
    """A D form w.r.t. (l_real, l_fake), away from its kinks (the hinge's)."""
    check = lambda ls: check_loss(fn, *ls, h=t.h, **kw)
    return t.row(name, t.logits, check, lambda ls: _loss_kinks(fn, t.b, *ls)[0])


def _g_loss_row(t: _Suite, name: str, fn: GLoss) -> Result:
    """A G form w.r.t. l_fake (every G form is smooth)."""
    return t.row(name, lambda s: t.logits(s)[1], lambda lf: check_loss(fn, lf, h=t.h), s=t.seed + 1)


def _mlp_rows(t: _Suite) -> list[Result]:
    """Whole MLPs, each at a generic point (generic_point)."""
    hidden = t.hidden
    nets = [
        ("relu + batch norm, tanh out (G)", MLPSpec((2, *hidden, 2), "relu", "tanh", batch_norm=True), True),
        ("maxout (3) + dropout 0.2 (D)", MLPSpec((2, *hidden, 1), maxout_pieces=3, dropout=0.2), True),
        ("leaky_relu + dropout 0.3, eval", MLPSpec((3, *hidden, 2), "leaky_relu", dropout=0.3), False),
        ("tanh, sigmoid out", MLPSpec((3, *hidden, 2), "tanh", "sigmoid"), True),
        ("sigmoid, xavier init", MLPSpec((3, *hidden, 1), "sigmoid", init="xavier"), True),
    ]
    rows = []
    for k, (name, spec, train) in enumerate(nets):
        net = generic_point(MLP(spec, t.b, seed=t.seed + k), t.seed + k)
        rows.append(t.net_row(f"MLP {name}", net, train, spec.sizes[0]))
    return rows


def _chain_rows(t: _Suite) -> list[Result]:
    """D's loss forms w.r.t. D's parameters; G's through D (one G and one D sharing a random
    stream, as in training), and the total loss as a function of the fakes, the real batch fixed."""
    b, shared = t.b, t.b.random(t.seed + 7)
    G = generic_point(MLP(MLPSpec((2, *t.hidden, 2), "relu", batch_norm=True), b, rng=shared), t.seed)
    D = generic_point(
        MLP(MLPSpec((2, *t.hidden, 1), maxout_pieces=3, dropout=0.2), b, rng=shared), t.seed + 1
    )
    rows = [_d_chain_row(t, D, f"chain D: {name} w.r.t. D", fn, kw) for name, fn, kw in D_FORMS]
    with _preserved(D.layers):
        l_real, _ = D.forward(t.arr((t.N, 2), 2.0, t.seed + 3), True)
    total_of_fake = lambda l_f: L.total_loss(l_real, l_f)[::2]  # (value, ∂/∂l_f), l_real fixed
    for name, fn in [*L.GENERATOR_LOSSES.items(), ("total L_D + L_G^ns (real batch fixed)", total_of_fake)]:
        rows.append(_g_chain_row(t, G, D, f"chain G: {name} through D", fn))
    return rows


def _penalty_rows(t: _Suite) -> list[Result]:
    """R1, R2 and WGAN-GP, second derivatives of D's logit, w.r.t. D's parameters and the samples
    (docs/MATH.md §12), for a D of each kind of layer."""
    hidden, N = t.hidden, t.N
    nets = [
        ("linear", MLPSpec((2, 1))),
        *[(a, MLPSpec((2, *hidden, 1), a)) for a in ("relu", "leaky_relu", "tanh", "sigmoid")],
        ("maxout (3)", MLPSpec((2, *hidden, 1), maxout_pieces=3)),
        ("tanh + dropout 0.2", MLPSpec((2, *hidden, 1), "tanh", dropout=0.2)),
    ]
    rows = []
    for k, (name, spec) in enumerate(nets):
        Dp = generic_point(MLP(spec, t.b, seed=t.seed + k), t.seed + k)
        eps = t.b.asarray(np.random.default_rng(t.seed).uniform(size=(N, 1)), dtype=t.b.float_dtype)
        for kind, label in (("r1", "R1 (γ=10)"), ("r2", "R2 (γ=10)"), ("gp", "WGAN-GP (λ=10)")):
            rows.append(_penalty_row(t, f"penalty {label} w.r.t. D, x: D {name}", kind, Dp, eps))
    return rows


def _d_chain_row(t: _Suite, D: MLP, name: str, fn: DLoss, kw: dict[str, Any]) -> Result:
    """∂L_D/∂θ_D for L_D = fn(D(x_real), D(x_fake)), x_real ~ N(0, 2²), x_fake ~ N(0, 1) (N, 2)."""
    return t.row(
        name,
        lambda s: (t.arr((t.N, 2), 2.0, s), t.arr((t.N, 2), 1.0, s + 1)),
        lambda xs: check_discriminator_chain(D, fn, xs[0], xs[1], True, t.h, t.E, **kw),
        lambda xs: discriminator_chain_margin(D, xs[0], xs[1], fn),
    )


def _g_chain_row(t: _Suite, G: MLP, D: MLP, name: str, fn: GLoss) -> Result:
    """∂L_G/∂θ_G for L_G = fn(D(G(z))), z ~ N(0, 1) (N, 2), through a fixed D."""
    return t.row(
        name,
        lambda s: t.arr((t.N, 2), 1.0, s),
        lambda z: check_generator_chain(G, D, fn, z, True, t.h, t.E),
        lambda z: generator_chain_margin(G, D, z, fn),
    )


def _penalty_row(t: _Suite, name: str, kind: str, D: MLP, eps: Array) -> Result:
    """The penalty ``kind`` at weight 10 on D, at samples x_real, x_fake (N, 2) ~ N(0, 1)."""
    return t.row(
        name,
        lambda s: (t.arr((t.N, 2), 1.0, s), t.arr((t.N, 2), 1.0, s + 1)),
        lambda xs: check_penalty(kind, 10.0, D, xs[0], xs[1], eps, True, t.h, t.E),
        lambda xs: kink_margin(D, P.penalized_points(kind, xs[0], xs[1], eps)),
    )


def _second_order_rows(t: _Suite) -> list[Result]:
    """The products of ``second_order`` on a smooth game (tanh G, sigmoid D, no dropout): Hess(L)·v
    of L_D and of L_G, and the consensus gradient Jᵀv, each against differences of the first-order
    gradients (docs/MATH.md §15.6)."""
    b = t.b
    G = generic_point(MLP(MLPSpec((2, *t.hidden, 2), "tanh"), b, seed=t.seed + 11), t.seed + 11)
    D = generic_point(MLP(MLPSpec((2, *t.hidden, 1), "sigmoid"), b, seed=t.seed + 12), t.seed + 12)

    def draw(s: int) -> tuple[Array, Array, Grads, Grads]:
        g = np.random.default_rng(s)
        v = [
            {k: b.asarray(g.standard_normal(p.shape), dtype=b.float_dtype) for k, p in n.params().items()}
            for n in (G, D)
        ]
        return t.arr((t.N, 2), 1.0, s), t.arr((t.N, 2), 2.0, s + 1), v[0], v[1]

    def hessian_row(loss: str, form: str) -> Result:
        def check(a: tuple[Array, Array, Grads, Grads]) -> Errors:
            return check_hessian_vector(loss, G, D, a[0], a[1], a[2], a[3], form, t.h)

        return t.row(f"second order: Hess(L_{'D' if loss == 'd' else 'G'}) v, {form}", draw, check)

    def consensus(a: tuple[Array, Array, Grads, Grads]) -> Errors:
        return check_consensus_gradient(G, D, a[0], a[1], a[2], a[3], "bce", "nonsaturating", t.h)

    rows = [
        hessian_row(loss, form) for loss, form in (("d", "bce"), ("g", "nonsaturating"), ("g", "minimax"))
    ]
    return [
        *rows,
        t.row("second order: consensus gradient Jᵀv", draw, consensus),
        *_unrolled_rows(t, G, D, draw),
    ]


UNROLLED_ROWS = (  # (name, the rule at a state three steps in, K, G form with D's bce)
    ("unrolled gradient df_K/dθ_G, K = 5, Adam, zero-sum f", lambda: Adam(0.05, (0.5, 0.999)), 5, "minimax"),
    ("unrolled gradient df_K/dθ_G, K = 5, SGD + momentum", lambda: SGD(0.2, 0.5), 5, "nonsaturating"),
)


def _unrolled_rows(t: _Suite, G: MLP, D: MLP, draw: Callable[[int], Any]) -> list[Result]:
    """The unrolled GAN's gradient through K steps of D's optimizer, at an optimizer state three real
    steps in (Adam's v̂ of the order of g², far from 0), against differences of f_K (docs/MATH.md §17.5)."""
    rows = []
    for name, make, K, g_form in UNROLLED_ROWS:

        def check(
            a: tuple[Array, Array, Grads, Grads], make: Any = make, K: int = K, g_form: str = g_form
        ) -> Errors:
            opt = make()
            moved = {k: t.b.xp.asarray(p, copy=True) for k, p in D.params().items()}
            for _ in range(3):
                opt.step(moved, game_gradients(G, D, a[0], a[1], "d", "bce")[1])
            return check_unrolled_gradient(G, D, a[0], a[1], a[2], opt, K, "bce", g_form, t.h)

        rows.append(t.row(f"second order: {name}", draw, check))
    return rows


def format_table(results: Sequence[Result]) -> str:
    """The results as a plain-text table: component | max rel error | FD accuracy | kink margin | result."""
    w = max(len("component"), *(len(r.component) for r in results))
    lines = [
        f"{'component':<{w}} | {'max rel error':>13} | {'FD accuracy':>13} | {'kink margin':>11} | result",
        f"{'-' * w}-|-{'-' * 13}-|-{'-' * 13}-|-{'-' * 11}-|-------",
    ]
    for r in results:
        margin = "smooth" if math.isinf(r.margin) else f"{r.margin:.1e}"
        verdict = (
            "pass" if r.passed else f"FAIL ({'unresolved: ' if r.error <= r.threshold else ''}{r.worst})"
        )
        lines.append(
            f"{r.component:<{w}} | {r.error:>13.2e} | {r.accuracy:>13.1e} | {margin:>11} | {verdict}"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # python -m minigan.gradcheck: run the command, found by name as `minigan` does
    import runpy

    runpy.run_module("minigan.app.gradcheck_command", run_name="__main__", alter_sys=True)
