"""Second-order gradients, by hand: the gradient penalties R1, R2 and WGAN-GP (docs/MATH.md §12).

A gradient penalty is a function of D's **input gradient** g = ∇ₓ l(x), l = D's logit:

    R1     = (γ/2)·mean_n ‖g_n‖²         on real samples           (Mescheder et al. 2018, arXiv 1801.04406)
    R2     = (γ/2)·mean_n ‖g_n‖²         on generated samples      (ibid.)
    WGAN-GP = λ·mean_n (‖g_n‖₂ − 1)²      on x̂ = ε·x + (1 − ε)·G(z), ε ~ U[0, 1) per sample
                                                                    (Gulrajani et al. 2017, arXiv 1704.00028)

g itself comes out of D's backward pass, so P's gradient w.r.t. D's parameters is a derivative of
that backward pass: a second derivative of l. Here it is written out, layer by layer, with no
autodiff. For D's layers f_1 … f_K, the forward a_i = f_i(a_{i−1}) and the backward
δ_{i−1} = J_iᵀ δ_i (δ_K = 1, g = δ_0) form one computation; its reverse (docs/MATH.md §12):

1. v_0 = ∂P/∂g (the penalty form, below);
2. for i = 1 … K, each layer's *double backward* (the backward of its backward):
   v_i = J_i v_{i−1}  (the adjoint of δ_i: the backward is linear in δ_i),
   x̄_i = ∂⟨v_{i−1}, J_iᵀ δ_i⟩/∂a_{i−1},  θ̄_i = ∂⟨v_{i−1}, J_iᵀ δ_i⟩/∂θ_i;
3. ā_K = 0, then for i = K … 1 the ordinary backward: ā_{i−1} = J_iᵀ ā_i + x̄_i, and
   ∂P/∂θ_i = (∂a_i/∂θ_i)ᵀ ā_i + θ̄_i.   ∂P/∂x = ā_0.

Layers: Linear, Maxout, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout (its mask fixed). BatchNorm is
refused: in training it makes every logit depend on the whole batch, so ∇ₓ l_n is not a function
of sample n alone and "the norm of each sample's gradient" is not what the penalty means.
Only the Array API standard on the arrays' namespace is used; no pass here overwrites an array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._checks import check_positive
from ._types import Array, Cache, Grads
from .backend import Random
from .layers import BatchNorm, Dropout, Layer, LeakyReLU, Linear, Maxout, ReLU, Sigmoid, Tanh

PENALTIES = ("r1", "r2", "gp")
# D: a networks.MLP (networks is a module of this one's level, so it is not imported here)
Net = Any
# one layer's double backward: (layer, dout, cache, v) -> (∂(v·dx)/∂x, ∂/∂dout term or None, ∂/∂params)
DoubleBackward = Callable[[Any, Array, Cache, Array], tuple[Array, Array | None, Grads]]
# a penalty's form of the input gradient g: g -> (P, ∂P/∂g)
Form = Callable[[Array], tuple[Array, Array]]

TINY = 1e-12  # ‖g‖ below it counts as 0 in WGAN-GP's g/‖g‖ (its subgradient there: 0)


# -- each layer's double backward (docs/MATH.md §12.1-§12.5) --------------------------------------
# double_backward(layer, dout, cache, v) -> (ddout, dx, grads) for the layer's backward
# dx = B(dout; x, θ): ddout = ∂⟨v, B⟩/∂dout = J v, dx = ∂⟨v, B⟩/∂x (None: 0), grads = ∂⟨v, B⟩/∂θ.
def linear_double_backward(
    layer: Linear, dout: Array, cache: Cache, v: Array
) -> tuple[Array, Array | None, Grads]:
    """B = dout·Wᵀ (docs/MATH.md §12.1): J v = v·W;  ∂/∂x = 0;  ∂⟨v, dout·Wᵀ⟩/∂W = vᵀ·dout, ∂/∂b = 0."""
    xp, W = layer.xp, layer.params["W"]
    return v @ W, None, {"W": v.T @ dout, "b": xp.zeros_like(layer.params["b"])}


def maxout_double_backward(
    layer: Maxout, dout: Array, cache: Cache, v: Array
) -> tuple[Array, Array | None, Grads]:
    """B = dz·Wᵀ, dz[n,j,p] = dout[n,j]·[p = p*(n,j)] (docs/MATH.md §12.2): J v = (v·W)[n, j, p*];
    ∂/∂x = 0 (the winner is locally constant);  ∂/∂W = vᵀ·dz, ∂/∂b = 0."""
    xp, ops, W = layer.xp, layer.ops, layer.params["W"]
    _, winner = cache
    zv = xp.reshape(v @ W, (v.shape[0], layer.units, layer.pieces))
    dz = ops.maxout_grad(dout, winner, layer.pieces)  # dout at the winning piece, 0 elsewhere
    return ops.maxout_pick(zv, winner), None, {"W": v.T @ dz, "b": xp.zeros_like(layer.params["b"])}


def gate_double_backward(
    layer: Layer, dout: Array, cache: Cache, v: Array
) -> tuple[Array, Array | None, Grads]:
    """ReLU, LeakyReLU, Dropout: B = dout·c with c ∈ {[y > 0], slope or 1, mask/(1−p)} constant
    in x almost everywhere (docs/MATH.md §12.3): J v = v·c (the layer's own backward of v);  ∂/∂x = 0."""
    return layer.backward(v, cache, need_grads=False)[0], None, {}


def tanh_double_backward(
    layer: Tanh, dout: Array, cache: Cache, v: Array
) -> tuple[Array, Array | None, Grads]:
    """B = dout·(1 − y²), y = tanh x, dy/dx = 1 − y² (docs/MATH.md §12.4):
    J v = v·(1 − y²);  ∂⟨v, B⟩/∂x = v·dout·(−2y)(1 − y²)."""
    s = 1.0 - cache * cache
    return v * s, v * dout * (-2.0 * cache) * s, {}


def sigmoid_double_backward(
    layer: Sigmoid, dout: Array, cache: Cache, v: Array
) -> tuple[Array, Array | None, Grads]:
    """B = dout·y(1 − y), y = σ(x), dy/dx = y(1 − y) (docs/MATH.md §12.4):
    J v = v·y(1 − y);  ∂⟨v, B⟩/∂x = v·dout·(1 − 2y)·y(1 − y)."""
    s = cache * (1.0 - cache)
    return v * s, v * dout * (1.0 - 2.0 * cache) * s, {}


DOUBLE_BACKWARD: dict[type[Layer], DoubleBackward] = {
    Linear: linear_double_backward,
    Maxout: maxout_double_backward,
    ReLU: gate_double_backward,
    LeakyReLU: gate_double_backward,
    Dropout: gate_double_backward,
    Tanh: tanh_double_backward,
    Sigmoid: sigmoid_double_backward,
}


def check_penalizable(D: Net) -> None:
    """Raise a clear error unless every layer of the MLP ``D`` has a double backward here."""
    for i, layer in enumerate(D.layers):
        if isinstance(layer, BatchNorm):
            raise ValueError(
                f"D: layer {i} is BatchNorm; a gradient penalty needs each logit to depend on its own "
                "sample only (batch statistics mix the batch into ∇ₓ l_n), so a penalized D has no BatchNorm"
            )
        if type(layer) not in DOUBLE_BACKWARD:
            raise TypeError(f"D: layer {i} ({type(layer).__name__}) has no double backward")


# -- the MLP's double backward (docs/MATH.md §12.6) -----------------------------------------------
def input_gradient_penalty(D: Net, x: Array, form: Form, train: bool = True) -> tuple[Array, Grads, Array]:
    """P = form(∇ₓ Σ_n l_n)[0] for D's logits l = D(x), and its gradients, all by hand:
    returns (P, grads: name -> ∂P/∂param as in D.params(), ∂P/∂x of the shape of x).
    x: (N, sizes[0]); form: g (N, sizes[0]) -> (value, ∂value/∂g). Dropout draws one mask (train)."""
    check_penalizable(D)
    layers, xp = D.layers, D.backend.xp
    out, caches = D.forward(x, train)
    douts, d = [None] * len(layers), xp.ones_like(out)  # δ_K = ∂l/∂l = 1
    for i in range(len(layers) - 1, -1, -1):  # the first backward, layer by layer (no array overwritten)
        douts[i] = d
        d, _ = layers[i].backward(d, caches[i], need_dx=True, need_grads=False)
    P, v = form(d)  # d = g = ∇ₓ l, v = ∂P/∂g
    x_bars, theta_bars = [], []
    for i, layer in enumerate(layers):  # the backward of the backward, in forward order: v_i = J_i v_{i−1}
        v, xb, tb = DOUBLE_BACKWARD[type(layer)](layer, douts[i], caches[i], v)
        x_bars.append(xb)
        theta_bars.append(tb)
    a, grads = None, {}  # ā_K = 0 (P does not depend on the logit itself)
    for i in range(len(layers) - 1, -1, -1):  # the ordinary backward of ā, plus each layer's x̄ and θ̄
        g_i = theta_bars[i]
        if a is not None:
            a, g_a = layers[i].backward(a, caches[i])
            g_i = {k: g_a[k] + g_i[k] for k in g_a}  # a layer with parameters has both
        a = x_bars[i] if a is None else a if x_bars[i] is None else a + x_bars[i]
        grads.update({f"{i}.{k}": g for k, g in g_i.items()})
    grads = {k: grads[k] if k in grads else xp.zeros_like(p) for k, p in D.params().items()}
    return P, grads, (xp.zeros_like(x) if a is None else a)


# -- the penalty forms: value and ∂/∂g side by side (docs/MATH.md §12.7) --------------------------
def squared_norm_form(g: Array, gamma: float) -> tuple[Array, Array]:
    """R1/R2: P = (γ/2)·mean_n ‖g_n‖²;   ∂P/∂g_n = γ·g_n/N."""
    xp, n = g.__array_namespace__(), g.shape[0]
    return 0.5 * gamma * xp.sum(g * g) / n, g * (gamma / n)


def unit_norm_form(g: Array, weight: float) -> tuple[Array, Array]:
    """WGAN-GP: P = λ·mean_n (‖g_n‖ − 1)²;   ∂P/∂g_n = 2λ(‖g_n‖ − 1)·g_n/‖g_n‖ / N (0 where g_n = 0)."""
    xp, n = g.__array_namespace__(), g.shape[0]
    norm = xp.sqrt(xp.sum(g * g, axis=1, keepdims=True))  # (N, 1)
    return weight * xp.sum((norm - 1.0) ** 2) / n, g * (
        (2.0 * weight / n) * (norm - 1.0) / xp.maximum(norm, TINY)
    )


def penalized_points(kind: str, x_real: Array, x_fake: Array, eps: Array = None) -> Array:
    """Where a penalty differentiates D: x_real (r1), x_fake (r2), x̂ = eps·x_real + (1 − eps)·x_fake (gp)."""
    return x_real if kind == "r1" else x_fake if kind == "r2" else eps * x_real + (1.0 - eps) * x_fake


def penalty(
    kind: str, weight: float, D: Net, x_real: Array, x_fake: Array, eps: Array = None, train: bool = True
) -> tuple[Array, Grads, Array, Array]:
    """The penalty ``kind`` (r1 | r2 | gp) at weight γ (r1, r2) or λ (gp), and its gradients:
    (P, ∂P/∂θ_D by name, ∂P/∂x_real, ∂P/∂x_fake). x_real, x_fake: (m, dim); eps (m, 1): gp's
    interpolation weights (x̂ = eps·x_real + (1 − eps)·x_fake, ∂x̂/∂x_real = eps)."""
    if kind not in PENALTIES:
        raise ValueError(f"penalty: expected one of {PENALTIES}, got {kind!r}")
    check_positive("weight", weight, "a positive penalty weight")
    if kind == "gp" and eps is None:
        raise ValueError("eps: the gp penalty needs interpolation weights eps of shape (m, 1)")
    xp, form = D.backend.xp, unit_norm_form if kind == "gp" else squared_norm_form
    P, grads, dx = input_gradient_penalty(
        D, penalized_points(kind, x_real, x_fake, eps), lambda g: form(g, weight), train
    )
    if kind == "gp":  # x̂ = eps·x_real + (1 − eps)·x_fake
        return P, grads, dx * eps, dx * (1.0 - eps)
    return (P, grads, dx, xp.zeros_like(x_fake)) if kind == "r1" else (P, grads, xp.zeros_like(x_real), dx)


class Penalty:
    """A GAN's ``d_penalty`` part: ``P, grads = penalty(D, x_real, x_fake)``, P added to L_D and
    ``grads`` (∂P/∂θ_D by name) to D's gradient in every discriminator step (docs/MATH.md §12).
    gp draws ε ~ U[0, 1) per sample from ``rng``. ``history``: P of every discriminator step
    (0-d device arrays; ``values()`` copies them to the host)."""

    rng: Any  # a backend.Random (gp draws from it; r1 and r2 need none)

    def __init__(self, kind: str, weight: float, rng: Random | None = None) -> None:
        if kind not in PENALTIES:
            raise ValueError(f"penalty: expected one of {PENALTIES}, got {kind!r}")
        weight = check_positive("weight", weight, "a positive penalty weight")
        if kind == "gp" and rng is None:
            raise ValueError("rng: the gp penalty draws its interpolation weights from a backend Random")
        self.kind, self.weight, self.rng = kind, float(weight), rng
        self.history: list[Array] = []

    def __call__(self, D: Net, x_real: Array, x_fake: Array) -> tuple[Array, Grads]:
        eps = self.rng.uniform((x_real.shape[0], 1), dtype=x_real.dtype) if self.kind == "gp" else None
        P, grads, _, _ = penalty(self.kind, self.weight, D, x_real, x_fake, eps)
        self.history.append(P)
        self._backend = D.backend
        return P, grads

    def values(self) -> list[float]:
        """The recorded penalties as a list of floats (one host sync)."""
        if not self.history:
            return []
        return self._backend.to_numpy(self._backend.xp.stack(self.history)).tolist()

    def __repr__(self) -> str:
        return f"Penalty({self.kind!r}, {self.weight:g})"
