"""Second-order products of the GAN game, by hand: Pearlmutter's R-operator applied to the explicit
forward and backward passes of G and D (docs/MATH.md §15). No Hessian is ever formed.

For a scalar game loss L (L_D or L_G, in one of the forms of ``losses.py``) as a function of all the
parameters θ = (θ_G, θ_D), at one fixed batch (z and x_real fixed, dropout masks drawn once), and a
direction v = (v_G, v_D), the Hessian-vector product is H v = ∂/∂t ∇L(θ + t v) at t = 0. Writing
R{a} = ∂a(θ + t v)/∂t at t = 0 for every quantity a of the gradient computation (Pearlmutter 1994):

1. the forward x_f = G(z), l = D([x_real; x_f]) (real rows first, as in training) and the backward
   with dout = ∂L/∂l, keeping every layer's dout;
2. the R-forward: each layer's R{out} from R{x} and its parameters' directions (``R_OPS``), starting
   from R{z} = 0 in G; D's input direction is 0 on the real rows and R{x_f} on the fake rows;
3. R{∂L/∂l} = L''(l) ⊙ R{l}, the loss form's second derivative in each logit (``D_FORMS``, ``G_FORMS``);
4. the R-backward: each layer's R{dx} and R{grads} from R{dout} (``R_OPS``), through D, then the
   fake rows' R{dx} into G. H v = (R{∂L/∂θ_G}, R{∂L/∂θ_D}).

Directions and products are dicts keyed by parameter name, as ``MLP.params()``. Layers: Linear,
Maxout, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout (its mask fixed), BatchNorm (training and evaluation).
Kinks (ReLU at 0, maxout ties) are treated as the first-order code treats them: the pattern of the
point is held fixed, which is the Hessian wherever it exists. Only the Array API standard on the
networks' namespace is used; no pass here overwrites an array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import losses as L
from ._types import Array, Cache, Grads
from .layers import BatchNorm, Dropout, Layer, LeakyReLU, Linear, Maxout, ReLU, Sigmoid, Tanh

# G and D: networks.MLP (networks is a module of this one's level, so it is not imported here)
Net = Any
LOSSES = ("d", "g")  # L_D or L_G
DEFAULT_FORM = {"d": "bce", "g": "nonsaturating"}
Curvature = Callable[[Array], Array]  # logits -> the per-logit second derivative φ''(l), same shape


# -- each loss form's second derivative in the logits (docs/MATH.md §15.2) ---------------------------------
def sigma_sigma(l: Array) -> Array:
    """σ(l)·σ(−l) = σ'(l) = sp''(l) = sp''(−l): the curvature of every softplus term (l any shape)."""
    return L.sigmoid(l) * L.sigmoid(-l)


def minus_sigma_sigma(l: Array) -> Array:
    """−σ(l)·σ(−l): the curvature of −sp(±l)."""
    return -sigma_sigma(l)


def one(l: Array) -> Array:
    """1: the curvature of ½(l − c)²."""
    return l.__array_namespace__().ones_like(l)


def zero(l: Array) -> Array:
    """0: the curvature of ±l."""
    return l.__array_namespace__().zeros_like(l)


def minus_half_exp(l: Array) -> Array:
    """−½·e^l: the curvature of −½·e^l (the maximum-likelihood generator cost)."""
    return -0.5 * l.__array_namespace__().exp(l)


def twice_sigma_sigma(l: Array) -> Array:
    """2σ(l)σ(−l): the curvature of sp(l) + sp(−l) (the total loss's fake term)."""
    return 2.0 * sigma_sigma(l)


# fmt: off
# L = mean_m φ_r(l_r) + mean_n φ_f(l_f):  form -> (the form in losses.py, φ_r'', φ_f'')
D_FORMS: dict[str, tuple[Callable[..., Any], Curvature, Curvature]] = {
    "bce":           (L.discriminator_loss,   sigma_sigma,       sigma_sigma),        # sp(−l_r), sp(l_f)
    "value":         (L.value_function,       minus_sigma_sigma, minus_sigma_sigma),  # V: −sp(−l_r), −sp(l_f)
    "total":         (L.total_loss,           sigma_sigma,       twice_sigma_sigma),  # sp(−l_r), sp(±l_f)
    "least_squares": (L.least_squares_d_loss, one,               one),                # ½(l_r − 1)², ½ l_f²
    "wasserstein":   (L.wasserstein_d_loss,   zero,              zero),               # −l_r, l_f
}
# L = mean_n φ_f(l_f):  form -> (the form in losses.py, φ_f'')
G_FORMS: dict[str, tuple[Callable[..., Any], Curvature]] = {
    "nonsaturating":      (L.generator_nonsaturating_loss,      sigma_sigma),        # sp(−l_f)
    "minimax":            (L.generator_minimax_loss,            minus_sigma_sigma),  # −sp(l_f)
    "maximum_likelihood": (L.generator_maximum_likelihood_loss, minus_half_exp),     # −½ e^{l_f}
    "least_squares":      (L.least_squares_g_loss,              one),                # ½(l_f − 1)²
    "wasserstein":        (L.wasserstein_g_loss,                zero),               # −l_f
    "hinge":              (L.hinge_g_loss,                      zero),               # −l_f
}
# fmt: on


def check_form(loss: str, form: str | None) -> str:
    """The form's name (None: ``DEFAULT_FORM[loss]``); one clear line for an unknown loss or form."""
    if loss not in LOSSES:
        raise ValueError(f"loss: expected 'd' (L_D) or 'g' (L_G), got {loss!r}")
    forms = D_FORMS if loss == "d" else G_FORMS
    form = DEFAULT_FORM[loss] if form is None else form
    if form not in forms:
        raise ValueError(
            f"form: expected one of {tuple(forms)} for loss {loss!r} (a form smooth in the "
            f"logits), got {form!r}"
        )
    return form


def logit_derivatives(loss: str, form: str, l: Array, m: int) -> tuple[Array, Array]:
    """(∂L/∂l, ∂²L/∂l²), each (N, 1), for the logits l = [l_r; l_f] (N, 1) of m real and n = N − m fake rows.
    L is a sum of one term per logit, so its Hessian in l is diagonal: ∂²L/∂l² holds that diagonal,
    φ_r''(l_r)/m on the real rows and φ_f''(l_f)/n on the fake ones (loss "g": 0 on the real rows)."""
    xp = l.__array_namespace__()
    l_r, l_f = l[:m, :], l[m:, :]
    n = l_f.shape[0]
    if loss == "d":
        first, c_r, c_f = D_FORMS[form]
        _, d_r, d_f = first(l_r, l_f)
        return xp.concat([d_r, d_f], axis=0), xp.concat([c_r(l_r) / m, c_f(l_f) / n], axis=0)
    first_g, c_g = G_FORMS[form]
    _, d_f = first_g(l_f)
    nothing = xp.zeros_like(l_r)
    return xp.concat([nothing, d_f], axis=0), xp.concat([nothing, c_g(l_f) / n], axis=0)


# -- each layer's R-forward and R-backward (docs/MATH.md §15.3) ---------------------------------------------
# r_forward(layer, cache, rx, V) -> R{out}
# r_backward(layer, cache, dout, rdout, rx, rout, V) -> (R{dx}, R{grads})
# rx = R{x}, rout = R{out} (from the R-forward), dout = ∂L/∂out, rdout = R{dout}, V = the layer's directions.
def linear_r_forward(layer: Linear, cache: Cache, rx: Array, V: Grads) -> Array:
    """out = x W + b:   R{out} = R{x} W + x V_W + V_b     (N, F_in)(F_in, F_out) → (N, F_out)."""
    x, W = cache, layer.params["W"]
    return rx @ W + x @ V["W"] + V["b"]


def linear_r_backward(
    layer: Linear, cache: Cache, dout: Array, rdout: Array, rx: Array, rout: Array, V: Grads
) -> tuple[Array, Grads]:
    """dx = dout Wᵀ, dW = xᵀ dout, db = Σ_n dout:
    R{dx} = R{dout} Wᵀ + dout V_Wᵀ (N, F_in);   R{dW} = R{x}ᵀ dout + xᵀ R{dout} (F_in, F_out);
    R{db} = Σ_n R{dout} (F_out,)."""
    x, W, xp = cache, layer.params["W"], layer.xp
    rdx = rdout @ W.T + dout @ V["W"].T
    return rdx, {"W": rx.T @ dout + x.T @ rdout, "b": xp.sum(rdout, axis=0)}


def maxout_r_forward(layer: Maxout, cache: Cache, rx: Array, V: Grads) -> Array:
    """out[n,j] = z[n,j,p*], z = x W + b (N, units, pieces): with the winner p* fixed,
    R{out}[n,j] = R{z}[n,j,p*],  R{z} = R{x} W + x V_W + V_b."""
    x, winner = cache
    rz = linear_r_forward(layer.linear, x, rx, V)
    return layer.ops.maxout_pick(layer.xp.reshape(rz, (rz.shape[0], layer.units, layer.pieces)), winner)


def maxout_r_backward(
    layer: Maxout, cache: Cache, dout: Array, rdout: Array, rx: Array, rout: Array, V: Grads
) -> tuple[Array, Grads]:
    """dz = dout at the winning piece (0 elsewhere), then Linear's backward: with p* fixed,
    R{dz} = R{dout} at the winning piece, and Linear's rules apply to (dz, R{dz})."""
    x, winner = cache
    dz = layer.ops.maxout_grad(dout, winner, layer.pieces)
    rdz = layer.ops.maxout_grad(rdout, winner, layer.pieces)
    return linear_r_backward(layer.linear, x, dz, rdz, rx, rout, V)


def gate_r_forward(layer: Layer, cache: Cache, rx: Array, V: Grads) -> Array:
    """ReLU, LeakyReLU, Dropout: out = c ⊙ x with c piecewise constant ([x > 0]; a + (1 − a)[x > 0];
    mask/(1 − p)):  R{out} = c ⊙ R{x}, the layer's own backward applied to R{x}."""
    return layer.backward(rx, cache, need_grads=False)[0]


def gate_r_backward(
    layer: Layer, cache: Cache, dout: Array, rdout: Array, rx: Array, rout: Array, V: Grads
) -> tuple[Array, Grads]:
    """dx = c ⊙ dout:   R{dx} = c ⊙ R{dout}   (R{c} = 0 away from the kinks)."""
    return layer.backward(rdout, cache, need_grads=False)[0], {}


def tanh_r_forward(layer: Tanh, cache: Cache, rx: Array, V: Grads) -> Array:
    """y = tanh x:   R{y} = (1 − y²) ⊙ R{x}."""
    y = cache
    return (1.0 - y * y) * rx


def tanh_r_backward(
    layer: Tanh, cache: Cache, dout: Array, rdout: Array, rx: Array, ry: Array, V: Grads
) -> tuple[Array, Grads]:
    """dx = dout ⊙ (1 − y²):   R{dx} = R{dout} ⊙ (1 − y²) + dout ⊙ (−2y) ⊙ R{y}."""
    y = cache
    return rdout * (1.0 - y * y) + dout * (-2.0 * y) * ry, {}


def sigmoid_r_forward(layer: Sigmoid, cache: Cache, rx: Array, V: Grads) -> Array:
    """y = σ(x):   R{y} = y(1 − y) ⊙ R{x}."""
    y = cache
    return y * (1.0 - y) * rx


def sigmoid_r_backward(
    layer: Sigmoid, cache: Cache, dout: Array, rdout: Array, rx: Array, ry: Array, V: Grads
) -> tuple[Array, Grads]:
    """dx = dout ⊙ y(1 − y):   R{dx} = R{dout} ⊙ y(1 − y) + dout ⊙ (1 − 2y) ⊙ R{y}."""
    y = cache
    return rdout * y * (1.0 - y) + dout * (1.0 - 2.0 * y) * ry, {}


def batchnorm_r_xhat(layer: BatchNorm, cache: Cache, rx: Array) -> Array:
    """R{x̂} (N, F), s = 1/sqrt(σ² + eps) (F,): in training μ and σ² move with x, R{μ} = mean_n R{x},
    R{s} = −s²·mean_n(x̂ ⊙ R{x}):  R{x̂} = s·(R{x} − mean_n R{x} − x̂·mean_n(x̂ ⊙ R{x}));
    in evaluation the statistics are constants:  R{x̂} = s·R{x}."""
    xhat, s, train = cache
    xp = layer.xp
    if not train:
        return s * rx
    return s * (rx - xp.mean(rx, axis=0) - xhat * xp.mean(xhat * rx, axis=0))


def batchnorm_r_forward(layer: BatchNorm, cache: Cache, rx: Array, V: Grads) -> Array:
    """out = γ x̂ + β:   R{out} = γ R{x̂} + V_γ x̂ + V_β."""
    xhat = cache[0]
    return layer.params["gamma"] * batchnorm_r_xhat(layer, cache, rx) + V["gamma"] * xhat + V["beta"]


def batchnorm_r_backward(
    layer: BatchNorm, cache: Cache, dout: Array, rdout: Array, rx: Array, rout: Array, V: Grads
) -> tuple[Array, Grads]:
    """g = γ dout, dx = s·(g − mean g − x̂·mean(g x̂)) (training) or s·g (evaluation), dγ = Σ_n dout x̂,
    dβ = Σ_n dout (means over the batch). With R{g} = γ R{dout} + V_γ dout and R{s}/s = −s·mean(x̂ R{x}):
    R{dx} = (R{s}/s)·dx + s·(R{g} − mean R{g} − R{x̂}·mean(g x̂) − x̂·mean(R{g} x̂ + g R{x̂}))  (training),
    R{dx} = s·R{g}  (evaluation);   R{dγ} = Σ_n (R{dout} x̂ + dout R{x̂}),   R{dβ} = Σ_n R{dout}."""
    xhat, s, train = cache
    xp, gamma = layer.xp, layer.params["gamma"]
    rxhat = batchnorm_r_xhat(layer, cache, rx)
    g, rg = gamma * dout, gamma * rdout + V["gamma"] * dout
    grads = {"gamma": xp.sum(rdout * xhat + dout * rxhat, axis=0), "beta": xp.sum(rdout, axis=0)}
    if not train:
        return s * rg, grads
    g_xhat = xp.mean(g * xhat, axis=0)
    dx = s * (g - xp.mean(g, axis=0) - xhat * g_xhat)
    rdx = (-s * xp.mean(xhat * rx, axis=0)) * dx + s * (
        rg - xp.mean(rg, axis=0) - rxhat * g_xhat - xhat * xp.mean(rg * xhat + g * rxhat, axis=0)
    )
    return rdx, grads


RForward = Callable[[Any, Cache, Array, Grads], Array]
RBackward = Callable[[Any, Cache, Array, Array, Array, Array, Grads], tuple[Array, Grads]]
# fmt: off
R_OPS: dict[type[Layer], tuple[RForward, RBackward]] = {
    Linear:    (linear_r_forward,    linear_r_backward),
    Maxout:    (maxout_r_forward,    maxout_r_backward),
    ReLU:      (gate_r_forward,      gate_r_backward),
    LeakyReLU: (gate_r_forward,      gate_r_backward),
    Dropout:   (gate_r_forward,      gate_r_backward),
    Tanh:      (tanh_r_forward,      tanh_r_backward),
    Sigmoid:   (sigmoid_r_forward,   sigmoid_r_backward),
    BatchNorm: (batchnorm_r_forward, batchnorm_r_backward),
}
# fmt: on


# -- the networks' sweeps (docs/MATH.md §15.1) -------------------------------------------------------------
def _backward_keeping(layers, caches, d):
    """The backward of dout d (no parameter gradients) through ``layers``, keeping each layer's dout:
    (douts, dx), douts[i] = ∂L/∂(output of layer i). Layer by layer, outside a network pass, so no
    kept array is overwritten."""
    douts = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        douts[i] = d
        d, _ = layers[i].backward(d, caches[i], need_dx=True, need_grads=False)
    return douts, d


def _r_forward(layers, caches, r, V):
    """(R{x_i}, R{out_i}) of every layer i, from R{input} = r and the per-layer directions V[i]."""
    r_in, r_out = [], []
    for layer, cache, v in zip(layers, caches, V):
        r_in.append(r)
        r = R_OPS[type(layer)][0](layer, cache, r, v)
        r_out.append(r)
    return r_in, r_out


def _r_backward(layers, caches, douts, r_in, r_out, r, V):
    """(R{dx} at the network's input, R{grads} by parameter name) from R{dout} = r at its output."""
    grads = {}
    for i in range(len(layers) - 1, -1, -1):
        r, g = R_OPS[type(layers[i])][1](layers[i], caches[i], douts[i], r, r_in[i], r_out[i], V[i])
        grads.update({f"{i}.{k}": a for k, a in g.items()})
    return r, grads


def check_networks(G: Net, D: Net) -> None:
    """One clear line unless every layer of G and D has an R-operator here and G's samples fit D."""
    for who, net in (("G", G), ("D", D)):
        for i, layer in enumerate(net.layers):
            if type(layer) not in R_OPS:
                raise TypeError(
                    f"{who}: layer {i} ({type(layer).__name__}) has no R-operator here; "
                    f"expected layers of {tuple(t.__name__ for t in R_OPS)}"
                )
    if G.spec.sizes[-1] != D.spec.sizes[0] or D.spec.sizes[-1] != 1:
        raise ValueError(
            f"D: expected inputs of G's width {G.spec.sizes[-1]} and one logit, got sizes {D.spec.sizes}"
        )
    if G.backend.xp is not D.backend.xp or G.dtype != D.dtype:
        raise ValueError("D: expected the backend and dtype of G")


def directions(name: str, net: Net, v: Grads | None) -> Grads:
    """The direction ``v`` for ``net`` (None: 0 for every parameter), checked: a dict with exactly the
    names of ``net.params()``, each an array of that parameter's namespace, shape and dtype."""
    params, xp = net.params(), net.backend.xp
    if v is None:
        return {k: xp.zeros_like(p) for k, p in params.items()}
    if not isinstance(v, dict) or set(v) != set(params):
        got = sorted(v) if isinstance(v, dict) else type(v).__name__
        raise ValueError(f"{name}: expected a dict keyed by the parameter names {sorted(params)}, got {got}")
    for k, p in params.items():
        a = v[k]
        space = getattr(a, "__array_namespace__", None)
        if space is None or space().__name__ != xp.__name__:
            raise TypeError(
                f"{name}[{k!r}]: expected an array of the network's backend, got {type(a).__name__}"
            )
        if tuple(a.shape) != tuple(p.shape) or a.dtype != p.dtype:
            raise ValueError(
                f"{name}[{k!r}]: expected shape {tuple(p.shape)} and dtype {p.dtype}, "
                f"got {tuple(a.shape)} and {a.dtype}"
            )
    return v


def _per_layer(net, v):
    """The direction dict cut into one dict per layer, keyed like ``layer.params``."""
    return [{k: v[f"{i}.{k}"] for k in layer.params} for i, layer in enumerate(net.layers)]


class GamePass:
    """One forward pass of the game on one batch: the point every product here is taken at.
    x_f = G(z) (n, dim), logits l = D([x_real; x_f]) (m + n, 1), and each layer's cache: dropout masks
    drawn once (``train``), batch-norm statistics of this batch (``train``) or the running ones. The
    running statistics are left as they were: a product measures the networks, it does not train them.
    z: (n, noise_dim), x_real: (m, dim)."""

    def __init__(self, G: Net, D: Net, z: Array, x_real: Array, train: bool = True) -> None:
        check_networks(G, D)
        G.check_input(z, "z")
        D.check_input(x_real, "x_real")
        layers, xp = G.layers + D.layers, G.backend.xp
        kept = [dict(layer.buffers) for layer in layers]
        try:
            x_fake, self.g_caches = G.forward(z, train, check=False)
            self.logits, self.d_caches = D.forward(xp.concat([x_real, x_fake], axis=0), train, check=False)
        finally:
            for layer, buffers in zip(layers, kept):
                layer.buffers.update(buffers)
        self.G, self.D, self.z, self.m, self.xp = G, D, z, x_real.shape[0], xp

    def hvp(
        self, loss: str, v_G: Grads | None, v_D: Grads | None, form: str | None = None
    ) -> tuple[Grads, Grads]:
        """(Hv_G, Hv_D) = Hess(L)·(v_G, v_D), keyed as G.params() and D.params(), for L = L_D (loss "d")
        or L_G (loss "g") in ``form`` (None: bce or nonsaturating); a direction None is 0
        (docs/MATH.md §15.1)."""
        form = check_form(loss, form)
        G, D, xp, m = self.G, self.D, self.xp, self.m
        VG, VD = _per_layer(G, directions("v_G", G, v_G)), _per_layer(D, directions("v_D", D, v_D))
        dl, d2l = logit_derivatives(loss, form, self.logits, m)  # ∂L/∂l, ∂²L/∂l² (diagonal)
        d_douts, dx = _backward_keeping(D.layers, self.d_caches, dl)
        g_douts, _ = _backward_keeping(G.layers, self.g_caches, dx[m:, :])
        g_in, g_out = _r_forward(G.layers, self.g_caches, xp.zeros_like(self.z), VG)  # R{z} = 0
        r_x = xp.concat([xp.zeros_like(dx[:m, :]), g_out[-1]], axis=0)  # [0; R{x_f}]
        d_in, d_out = _r_forward(D.layers, self.d_caches, r_x, VD)
        r_dx, Hv_D = _r_backward(D.layers, self.d_caches, d_douts, d_in, d_out, d2l * d_out[-1], VD)
        _, Hv_G = _r_backward(G.layers, self.g_caches, g_douts, g_in, g_out, r_dx[m:, :], VG)
        return Hv_G, Hv_D


# the (G form, D form) pairs whose L_G is −L_D up to a term without θ_G: the zero-sum game, whose value
# f = −L_D is the unrolled objective (docs/MATH.md §17.1)
ZERO_SUM = (("minimax", "bce"), ("wasserstein", "wasserstein"))


class UnrollPass:
    """One batch (z, x_real) of an unrolled step (docs/MATH.md §17): G held fixed while D takes K steps
    of its optimizer. G's pass is made once; then, at D's parameters as they are at each call:

    - ``d_gradient()``: ∇θD L_D, the tape of that pass, and (L_D, L_G, logits) there;
    - ``d_products(tape, u)``: (H_DD·u, s) at the tape's point, s (n, dim) = R{∂L_D/∂x_f} with
      R{θ_D} = u: G's backward of s is ∂²L_D/∂θ_G∂θ_D·u (G's own directions are 0);
    - ``objective()``: G's objective f at D's parameters — f = −L_D for a zero-sum pair
      (``ZERO_SUM``: the paper's value, its real term included), else L_G — as (∂f/∂θ_D, ∂f/∂x_f, f);
    - ``g_gradient(s)``: ∇θG of whatever has ∂/∂x_f = s (one backward through G).

    D's first pass is the training step's (batch-norm running statistics move once); later passes
    leave the running statistics where that pass left them. Directions ``u`` may omit parameters (0).
    z: (n, noise_dim), x_real: (m, dim)."""

    def __init__(
        self, G: Net, D: Net, z: Array, x_real: Array, d_form: str = "bce", g_form: str = "nonsaturating"
    ) -> None:
        check_networks(G, D)
        G.check_input(z, "z")
        D.check_input(x_real, "x_real")
        self.d_form, self.g_form = check_form("d", d_form), check_form("g", g_form)
        self.zero_sum = (self.g_form, self.d_form) in ZERO_SUM
        self.x_fake, self.g_caches = G.forward(z, True, check=False)  # G(z), once: G does not move
        self.x_all = G.backend.xp.concat([x_real, self.x_fake], axis=0)
        self.G, self.D, self.m, self.xp = G, D, x_real.shape[0], G.backend.xp
        self._buffers: list[dict] | None = None  # D's running statistics after its first pass

    def _d_pass(self) -> tuple[Array, Cache]:
        logits, caches = self.D.forward(self.x_all, True, check=False)
        if self._buffers is None:
            self._buffers = [dict(layer.buffers) for layer in self.D.layers]
        else:
            for layer, kept in zip(self.D.layers, self._buffers):
                layer.buffers.update(kept)
        return logits, caches

    def d_gradient(self) -> tuple[Grads, Any, tuple[Array, Array, Array]]:
        """(∇θD L_D, tape, (L_D, L_G, logits [l_r; l_f] (m + n, 1))) at D's current parameters."""
        logits, caches = self._d_pass()
        l_r, l_f = logits[: self.m, :], logits[self.m :, :]
        L_D, dl_r, dl_f = D_FORMS[self.d_form][0](l_r, l_f)
        _, grads = self.D.backward(self.xp.concat([dl_r, dl_f], axis=0), caches, need_dx=False)
        L_G = G_FORMS[self.g_form][0](l_f)[0]
        return grads, (caches, logits), (L_D, L_G, logits)

    def d_products(self, tape: Any, u: Grads) -> tuple[Grads, Array]:
        """(H_DD·u keyed as D.params(), s = R{∂L_D/∂x_f} (n, dim)) at the point of ``tape`` (D's
        parameters must be that point's again): one R-forward and one R-backward through D, R{x} = 0."""
        caches, logits = tape
        D, xp = self.D, self.xp
        params = D.params()
        full = {k: u[k] if k in u else xp.zeros_like(p) for k, p in params.items()}
        V = _per_layer(D, directions("u", D, full))
        dl, d2l = logit_derivatives("d", self.d_form, logits, self.m)
        douts, _ = _backward_keeping(D.layers, caches, dl)
        r_in, r_out = _r_forward(D.layers, caches, xp.zeros_like(self.x_all), V)
        r_dx, Hu = _r_backward(D.layers, caches, douts, r_in, r_out, d2l * r_out[-1], V)
        return Hu, r_dx[self.m :, :]

    def objective(self, need_d_grads: bool = True) -> tuple[Grads, Array, Array]:
        """(∂f/∂θ_D, ∂f/∂x_f (n, dim), f) at D's current parameters: f = −L_D (zero-sum) or L_G;
        ``need_d_grads=False``: ∂f/∂θ_D not formed ({}: the ablation starts no backward sweep)."""
        logits, caches = self._d_pass()
        l_r, l_f = logits[: self.m, :], logits[self.m :, :]
        if self.zero_sum:
            L_D, dl_r, dl_f = D_FORMS[self.d_form][0](l_r, l_f)
            f, dl = -L_D, -self.xp.concat([dl_r, dl_f], axis=0)
        else:
            f, dl_f = G_FORMS[self.g_form][0](l_f)
            dl = self.xp.concat([self.xp.zeros_like(l_r), dl_f], axis=0)
        dx, grads = self.D.backward(dl, caches, need_grads=need_d_grads, release=True)
        return grads, dx[self.m :, :], f

    def g_gradient(self, s: Array) -> Grads:
        """∇θG (keyed as G.params()) of a quantity whose gradient in G's samples x_f is s (n, dim)."""
        return self.G.backward(s, self.g_caches, need_dx=False)[1]


# -- the public products ----------------------------------------------------------------------------------
def hvp(
    loss: str,
    G: Net,
    D: Net,
    z: Array,
    x_real: Array,
    v_G: Grads | None,
    v_D: Grads | None,
    form: str | None = None,
    train: bool = True,
) -> tuple[Grads, Grads]:
    """The joint Hessian-vector product of a game loss: (Hv_G, Hv_D) = ∂²L/∂θ² · (v_G, v_D), θ = (θ_G, θ_D),
    L = L_D (loss "d", form bce | value | total | least_squares | wasserstein) or L_G (loss "g", form
    nonsaturating | minimax | maximum_likelihood | least_squares | wasserstein | hinge), at the batch
    z (n, noise_dim), x_real (m, dim). Directions and results: dicts keyed as ``G.params()`` and
    ``D.params()`` (None: 0). Costs about 2.7 gradients (docs/MATH.md §15.5)."""
    form = check_form(loss, form)
    return GamePass(G, D, z, x_real, train).hvp(loss, v_G, v_D, form)


def d_hessian_vector(
    G: Net, D: Net, z: Array, x_real: Array, v_D: Grads, form: str = "bce", train: bool = True
) -> Grads:
    """H_DD·v_D = ∂²L_D/∂θ_D² · v_D (keyed as D.params()): the D block of Hess(L_D)·(0, v_D)."""
    return hvp("d", G, D, z, x_real, None, v_D, form, train)[1]


def mixed_vector(
    G: Net, D: Net, z: Array, x_real: Array, v_D: Grads, form: str = "bce", train: bool = True
) -> Grads:
    """∂²L_D/∂θ_G∂θ_D · v_D = ∇_θG (v_D · ∇_θD L_D) (keyed as G.params()): the G block of
    Hess(L_D)·(0, v_D)."""
    return hvp("d", G, D, z, x_real, None, v_D, form, train)[0]


def _minus_sum(a, b):
    return {k: -(a[k] + b[k]) for k in a}


def game_jacobian_transpose_vector(
    G: Net,
    D: Net,
    z: Array,
    x_real: Array,
    w_G: Grads | None,
    w_D: Grads | None,
    d_form: str = "bce",
    g_form: str = "nonsaturating",
    train: bool = True,
) -> tuple[Grads, Grads]:
    """Jᵀw for the game's vector field v(θ) = (−∇_θG L_G, −∇_θD L_D), J = ∂v/∂θ (docs/MATH.md §15.4):
    Jᵀw = −[Hess(L_G)·(w_G, 0) + Hess(L_D)·(0, w_D)], as (G's part, D's part). One forward pass
    (one draw of dropout masks) for both products."""
    d_form, g_form = check_form("d", d_form), check_form("g", g_form)
    at = GamePass(G, D, z, x_real, train)
    g_G, g_D = at.hvp("g", w_G, None, g_form)
    d_G, d_D = at.hvp("d", None, w_D, d_form)
    return _minus_sum(g_G, d_G), _minus_sum(g_D, d_D)


def game_jacobian_vector(
    G: Net,
    D: Net,
    z: Array,
    x_real: Array,
    w_G: Grads | None,
    w_D: Grads | None,
    d_form: str = "bce",
    g_form: str = "nonsaturating",
    train: bool = True,
) -> tuple[Grads, Grads]:
    """J w for the game's vector field v(θ) = (−∇_θG L_G, −∇_θD L_D) (docs/MATH.md §15.4):
    J w = −(the G block of Hess(L_G)·w, the D block of Hess(L_D)·w), w = (w_G, w_D)."""
    d_form, g_form = check_form("d", d_form), check_form("g", g_form)
    at = GamePass(G, D, z, x_real, train)
    g_G, _ = at.hvp("g", w_G, w_D, g_form)
    _, d_D = at.hvp("d", w_G, w_D, d_form)
    return {k: -a for k, a in g_G.items()}, {k: -a for k, a in d_D.items()}
