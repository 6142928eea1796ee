"""Second-order products of the game by the R-operator (docs/MATH.md §15): against centred differences of
minigan's own first-order gradients, against Hessians written by hand, by symmetry and transposition,
in float64 on every backend that has it.

The reference for a product H v is (∇L(θ + h v) − ∇L(θ − h v))/(2h), each ∇L from ``MLP.forward``,
``MLP.backward`` and the analytic logit gradients of ``losses.py`` (the first-order code, not this
module), with h = 1e-5 in float64 and directions v of N(0, 1) entries. Its error is the truncation
(h²/6)·∂³∇L/∂t³ (measured: it quarters when h halves) plus the rounding ε_mach·|∇L|/h ≈ 1e-11 of the
entries, the noise floor (reached near h = 2.5e-6: ~5e-11). At h = 1e-5 the products differ from it by
2e-10 to 1.6e-8 (dropout and batch norm at the top), far below the 1e-6 they must meet.
"""

import math

import numpy as np
import pytest

from minigan import gradcheck as gc
from minigan import losses as L
from minigan import second_order as so
from minigan.layers import Layer, Tanh
from minigan.networks import MLP, MLPSpec

H = 1e-5  # the step of the centred differences
TOL = 1e-6  # the largest relative error a product may have against them

# the first-order forms, from losses.py, by this module's names for them
D_LOSS = {
    "bce": L.discriminator_loss,
    "value": L.value_function,
    "total": L.total_loss,
    "least_squares": L.least_squares_d_loss,
    "wasserstein": L.wasserstein_d_loss,
}
G_LOSS = {
    "nonsaturating": L.generator_nonsaturating_loss,
    "minimax": L.generator_minimax_loss,
    "maximum_likelihood": L.generator_maximum_likelihood_loss,
    "least_squares": L.least_squares_g_loss,
    "wasserstein": L.wasserstein_g_loss,
    "hinge": L.hinge_g_loss,
}

# G, D specs: smooth networks, kinked ones (checked away from their kinks), dropout, batch norm
NETS = {
    "smooth": (MLPSpec((2, 6, 6, 2), "tanh"), MLPSpec((2, 6, 6, 1), "sigmoid")),
    "kinked": (MLPSpec((2, 6, 6, 2), "leaky_relu"), MLPSpec((2, 5, 4, 1), maxout_pieces=3)),
    "relu": (MLPSpec((2, 6, 2), "relu"), MLPSpec((2, 6, 1), "relu")),
    "dropout": (MLPSpec((2, 6, 2), "tanh", dropout=0.3), MLPSpec((2, 6, 6, 1), "tanh", dropout=0.3)),
    "batchnorm": (
        MLPSpec((2, 6, 6, 2), "tanh", batch_norm=True),
        MLPSpec((2, 6, 1), "sigmoid", batch_norm=True),
    ),
}
# draws whose every ReLU input and maxout gap lies more than 1e-2 from its kink (asserted below)
SEEDS = {"kinked": 11, "relu": 11}


def _arr(b, a):
    return b.asarray(np.asarray(a, dtype=np.float64), dtype=b.float_dtype)


def _game(b, kind, seed=0, m=4, n=5):
    """G and D at a generic point, z (n, 2), x_real (m, 2), and random directions for both."""
    g_spec, d_spec = NETS[kind]
    G = gc.generic_point(MLP(g_spec, b, seed=seed), seed)
    D = gc.generic_point(MLP(d_spec, b, seed=seed + 1), seed + 1)
    g = np.random.default_rng([seed, 7])
    z, xr = _arr(b, g.standard_normal((n, 2))), _arr(b, g.standard_normal((m, 2)))
    return G, D, z, xr, _direction(b, G, g), _direction(b, D, g)


def _direction(b, net, g):
    return {k: _arr(b, g.standard_normal(tuple(p.shape))) for k, p in net.params().items()}


def _gradients(G, D, z, xr, loss, form, train=True):
    """(∇_θG L, ∇_θD L) by the first-order code: G and D forward (D on [x_real; G(z)], as training does),
    the form's logit gradients, D's backward, then G's on the fake rows."""
    xp, m = G.backend.xp, xr.shape[0]
    x_fake, g_cache = G.forward(z, train)
    l, d_cache = D.forward(xp.concat([xr, x_fake], axis=0), train)
    if loss == "d":
        _, dl_r, dl_f = D_LOSS[form](l[:m, :], l[m:, :])
    else:
        (_, dl_f), dl_r = G_LOSS[form](l[m:, :]), xp.zeros_like(l[:m, :])
    dx, d_grads = D.backward(xp.concat([dl_r, dl_f], axis=0), d_cache)
    _, g_grads = G.backward(dx[m:, :], g_cache)
    return g_grads, d_grads


def _differences(G, D, z, xr, loss, form, v_G, v_D, train=True, h=H):
    """(∇L(θ + h v) − ∇L(θ − h v))/(2h), both networks' parts; every evaluation draws the same dropout
    masks (the random states are replayed) and the networks are left as they were."""
    start = {k: p for k, p in G.params().items()}, {k: p for k, p in D.params().items()}
    states = G.rng.state(), D.rng.state()
    sides = []
    for s in (h, -h):
        for net, v, p0 in ((G, v_G, start[0]), (D, v_D, start[1])):
            for k in p0:
                net.set_param(k, p0[k] + s * v[k])
        G.rng.set_state(states[0])
        D.rng.set_state(states[1])
        sides.append(_gradients(G, D, z, xr, loss, form, train))
    for net, p0, state in ((G, start[0], states[0]), (D, start[1], states[1])):
        for k in p0:
            net.set_param(k, p0[k])
        net.rng.set_state(state)
    (gp, dp), (gm, dm) = sides
    return {k: (gp[k] - gm[k]) / (2 * h) for k in gp}, {k: (dp[k] - dm[k]) / (2 * h) for k in dp}


def _flat(b, a):
    return np.concatenate([np.ravel(b.to_numpy(a[k])) for k in sorted(a)])


def _rel(b, a, c):
    """max_i |a_i − c_i| / max_i (|a_i| + |c_i|) over every entry of the two dicts (gradcheck's measure)."""
    a, c = _flat(b, a), _flat(b, c)
    return float(np.max(np.abs(a - c)) / max(1e-300, np.max(np.abs(a) + np.abs(c))))


def _dot(b, a, c):
    return float(_flat(b, a) @ _flat(b, c))


def _hvp_with_replayed_masks(G, D, z, xr, loss, form, v_G, v_D, train=True):
    states = G.rng.state(), D.rng.state()
    out = so.hvp(loss, G, D, z, xr, v_G, v_D, form, train)
    G.rng.set_state(states[0])
    D.rng.set_state(states[1])
    return out


# -- every product against differences of the first-order gradients ----------------------------------
CASES = (
    [("smooth", "d", f) for f in D_LOSS]
    + [("smooth", "g", f) for f in G_LOSS if f != "hinge"]
    + [
        ("kinked", "d", "bce"),
        ("kinked", "g", "nonsaturating"),
        ("relu", "d", "total"),
        ("relu", "g", "minimax"),
        ("dropout", "d", "bce"),
        ("dropout", "g", "nonsaturating"),
        ("batchnorm", "d", "bce"),
        ("batchnorm", "g", "nonsaturating"),
        ("batchnorm", "g", "minimax"),
    ]
)


@pytest.mark.parametrize("kind, loss, form", CASES)
def test_the_product_is_the_derivative_of_the_gradient(backend64, kind, loss, form):
    """Hess(L)·(v_G, v_D) within 1e-6 of centred differences of minigan's own ∇L along (v_G, v_D), for
    both blocks. Kinked networks are drawn more than 10·KINK_MARGIN = 1e-2 from every kink (a step of
    h·v moves a pre-activation by about 1e-4, so no difference crosses one)."""
    b = backend64
    G, D, z, xr, v_G, v_D = _game(b, kind, SEEDS.get(kind, 0))
    if kind in SEEDS:
        x_fake = G(z, train=True)
        margin = min(gc.generator_chain_margin(G, D, z), gc.discriminator_chain_margin(D, xr, x_fake))
        assert margin > 10 * gc.KINK_MARGIN, margin
    Hv_G, Hv_D = _hvp_with_replayed_masks(G, D, z, xr, loss, form, v_G, v_D)
    fd_G, fd_D = _differences(G, D, z, xr, loss, form, v_G, v_D)
    assert set(Hv_G) == set(G.params()) and set(Hv_D) == set(D.params())
    assert _rel(b, Hv_G, fd_G) <= TOL and _rel(b, Hv_D, fd_D) <= TOL, (
        _rel(b, Hv_G, fd_G),
        _rel(b, Hv_D, fd_D),
    )


def test_batch_norm_in_evaluation_mode(backend64):
    """train=False: batch norm with its running statistics (moved off 0 and 1 by a few training passes)."""
    b = backend64
    G, D, z, xr, v_G, v_D = _game(b, "batchnorm")
    for _ in range(3):
        D.forward(b.xp.concat([xr, G.forward(z)[0]], axis=0))
    Hv_G, Hv_D = so.hvp("d", G, D, z, xr, v_G, v_D, "bce", train=False)
    fd_G, fd_D = _differences(G, D, z, xr, "d", "bce", v_G, v_D, train=False)
    assert _rel(b, Hv_G, fd_G) <= TOL and _rel(b, Hv_D, fd_D) <= TOL


def test_the_blocks_h_dd_and_the_mixed_product(backend64):
    """H_DD v_D = ∂/∂t ∇_θD L_D(θ_D + t v_D) and ∂²L_D/∂θ_G∂θ_D v_D = ∂/∂t ∇_θG L_D(θ_D + t v_D):
    differences along (0, v_D) only."""
    b = backend64
    G, D, z, xr, v_G, v_D = _game(b, "smooth")
    nothing = {k: 0.0 * v for k, v in v_G.items()}
    fd_G, fd_D = _differences(G, D, z, xr, "d", "bce", nothing, v_D)
    assert _rel(b, so.d_hessian_vector(G, D, z, xr, v_D), fd_D) <= TOL
    assert _rel(b, so.mixed_vector(G, D, z, xr, v_D), fd_G) <= TOL


# -- independent closed forms ---------------------------------------------------------------------------
def _linear_game(b, a, c, w, bias):
    G, D = MLP(MLPSpec((1, 1)), b), MLP(MLPSpec((1, 1)), b)
    G.set_param("0.W", _arr(b, [[a]]))
    G.set_param("0.b", _arr(b, [c]))
    D.set_param("0.W", _arr(b, [[w]]))
    D.set_param("0.b", _arr(b, [bias]))
    return G, D


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def test_a_linear_game_has_the_hessian_written_by_hand(backend64):
    """G(z) = a z + c, D(x) = w x + b on 1-D data, θ = (a, c, w, b). With l_i = w x_i + b (real),
    y_j = a z_j + c, f_j = w y_j + b (fake), s(t) = σ(t)σ(−t) = sp''(t):

        ∇l_i = (0, 0, x_i, 1),   ∇f_j = (w z_j, w, y_j, 1),
        ∇²f_j = z_j (E_aw + E_wa) + (E_cw + E_wc)          (f is bilinear in (a, c) and w)

    L_D = (1/m) Σ_i sp(−l_i) + (1/n) Σ_j sp(f_j), so (chain rule twice, sp' = σ):
        Hess L_D = (1/m) Σ_i s(l_i) ∇l_i ∇l_iᵀ + (1/n) Σ_j [s(f_j) ∇f_j ∇f_jᵀ + σ(f_j) ∇²f_j];
    L_G^ns = (1/n) Σ_j sp(−f_j):
        Hess L_G = (1/n) Σ_j [s(f_j) ∇f_j ∇f_jᵀ − σ(−f_j) ∇²f_j].
    Both against Hess·v for random v, to rounding."""
    b = backend64
    a, c, w, bias = 0.7, -0.3, 1.3, 0.2
    G, D = _linear_game(b, a, c, w, bias)
    g = np.random.default_rng(3)
    x, zz = g.standard_normal(4), g.standard_normal(5)
    y = a * zz + c
    l, f = w * x + bias, w * y + bias
    s = lambda t: _sigmoid(t) * _sigmoid(-t)
    grad_l = np.stack([0 * x, 0 * x, x, 1 + 0 * x], axis=1)
    grad_f = np.stack([w * zz, w + 0 * zz, y, 1 + 0 * zz], axis=1)
    curv_f = np.zeros((len(zz), 4, 4))
    curv_f[:, 0, 2] = curv_f[:, 2, 0] = zz
    curv_f[:, 1, 2] = curv_f[:, 2, 1] = 1.0
    outer = lambda u, weight: np.einsum("j,ja,jb->ab", weight, u, u)
    H_D = outer(grad_l, s(l)) / 4 + (outer(grad_f, s(f)) + np.einsum("j,jab->ab", _sigmoid(f), curv_f)) / 5
    H_G = (outer(grad_f, s(f)) - np.einsum("j,jab->ab", _sigmoid(-f), curv_f)) / 5
    v = g.standard_normal(4)
    v_G, v_D = (
        {"0.W": _arr(b, [[v[0]]]), "0.b": _arr(b, [v[1]])},
        {"0.W": _arr(b, [[v[2]]]), "0.b": _arr(b, [v[3]])},
    )
    for loss, H_by_hand in (("d", H_D), ("g", H_G)):
        Hv_G, Hv_D = so.hvp(loss, G, D, _arr(b, zz[:, None]), _arr(b, x[:, None]), v_G, v_D)
        got = np.concatenate(
            [_flat(b, {"0": Hv_G["0.W"], "1": Hv_G["0.b"]}), _flat(b, {"0": Hv_D["0.W"], "1": Hv_D["0.b"]})]
        )
        np.testing.assert_allclose(got, H_by_hand @ v, rtol=1e-12, atol=1e-14)


def test_the_dirac_gan_jacobian_at_its_equilibrium(backend64):
    """The Dirac-GAN (docs/MATH.md §13): G(z) = θ (z = 0, so G's weight is idle), D's logit ψ·x, data at 0.
    At (θ, ψ) = (0, 0) with b = 0 the field's Jacobian on (θ, ψ) is [[0, σ(0)], [−σ(0), 0]] =
    [[0, ½], [−½, 0]] for the non-saturating and the minimax G alike: J·e_θ and J·e_ψ are its columns,
    and Jᵀ = −J."""
    b = backend64
    G, D = _linear_game(b, 0.5, 0.0, 0.0, 0.0)
    z, xr = _arr(b, np.zeros((3, 1))), _arr(b, np.zeros((2, 1)))
    e = lambda wc, ww: (
        {"0.W": _arr(b, [[0.0]]), "0.b": _arr(b, [wc])},
        {"0.W": _arr(b, [[ww]]), "0.b": _arr(b, [0.0])},
    )
    for g_form in ("nonsaturating", "minimax"):
        for (wc, ww), column in (((1.0, 0.0), (0.0, -0.5)), ((0.0, 1.0), (0.5, 0.0))):
            Jw_G, Jw_D = so.game_jacobian_vector(G, D, z, xr, *e(wc, ww), g_form=g_form)
            got = (float(b.to_numpy(Jw_G["0.b"])[0]), float(b.to_numpy(Jw_D["0.W"])[0, 0]))
            assert got == pytest.approx(column, abs=1e-15)
            JTw_G, JTw_D = so.game_jacobian_transpose_vector(G, D, z, xr, *e(wc, ww), g_form=g_form)
            got = (float(b.to_numpy(JTw_G["0.b"])[0]), float(b.to_numpy(JTw_D["0.W"])[0, 0]))
            assert got == pytest.approx((-column[0], -column[1]), abs=1e-15)  # Jᵀ = −J here


# -- symmetry and transposition -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["smooth", "batchnorm"])
@pytest.mark.parametrize("loss", ["d", "g"])
def test_the_hessian_is_symmetric(backend64, kind, loss):
    """u·(H v) = v·(H u) for random u, v, to rounding (1e-12 of |u|·|H v|)."""
    b = backend64
    G, D, z, xr, v_G, v_D = _game(b, kind)
    g = np.random.default_rng(11)
    u_G, u_D = _direction(b, G, g), _direction(b, D, g)
    Hv = so.hvp(loss, G, D, z, xr, v_G, v_D)
    Hu = so.hvp(loss, G, D, z, xr, u_G, u_D)
    uHv = _dot(b, u_G, Hv[0]) + _dot(b, u_D, Hv[1])
    vHu = _dot(b, v_G, Hu[0]) + _dot(b, v_D, Hu[1])
    scale = math.hypot(*map(np.linalg.norm, (_flat(b, u_G), _flat(b, u_D)))) * np.linalg.norm(
        np.concatenate([_flat(b, Hv[0]), _flat(b, Hv[1])])
    )
    assert abs(uHv - vHu) <= 1e-12 * scale, (uHv, vHu)


def test_the_game_jacobian_and_its_transpose(backend64):
    """J w against centred differences of the game's field v(θ) = (−∇_θG L_G, −∇_θD L_D) (each block from the
    first-order code), and Jᵀ as its transpose: u·(J w) = (Jᵀu)·w for random u, w."""
    b = backend64
    G, D, z, xr, w_G, w_D = _game(b, "smooth")
    g = np.random.default_rng(5)
    u_G, u_D = _direction(b, G, g), _direction(b, D, g)
    Jw_G, Jw_D = so.game_jacobian_vector(G, D, z, xr, w_G, w_D)
    fd_G = _differences(G, D, z, xr, "g", "nonsaturating", w_G, w_D)[0]
    fd_D = _differences(G, D, z, xr, "d", "bce", w_G, w_D)[1]
    assert _rel(b, Jw_G, {k: -a for k, a in fd_G.items()}) <= TOL
    assert _rel(b, Jw_D, {k: -a for k, a in fd_D.items()}) <= TOL
    JTu_G, JTu_D = so.game_jacobian_transpose_vector(G, D, z, xr, u_G, u_D)
    uJw = _dot(b, u_G, Jw_G) + _dot(b, u_D, Jw_D)
    JTuw = _dot(b, JTu_G, w_G) + _dot(b, JTu_D, w_D)
    assert abs(uJw - JTuw) <= 1e-12 * (abs(uJw) + abs(JTuw)), (uJw, JTuw)
    assert abs(uJw) > 1e-3  # not a trivially zero identity


# -- the checks can fail, and the products leave the networks as they were -------------------------------
def test_a_missing_curvature_term_is_caught(monkeypatch):
    """Dropping tanh's dout·(−2y)·R{y} (the second derivative of tanh) fails the comparison by far."""
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    G, D, z, xr, v_G, v_D = _game(b, "smooth")
    fd = _differences(G, D, z, xr, "d", "bce", v_G, v_D)
    r_forward, r_backward = so.R_OPS[Tanh]
    first_order_only = lambda layer, cache, dout, rdout, rx, ry, V: (rdout * (1.0 - cache * cache), {})
    monkeypatch.setitem(so.R_OPS, Tanh, (r_forward, first_order_only))
    Hv_G, _ = so.hvp("d", G, D, z, xr, v_G, v_D)
    assert _rel(b, Hv_G, fd[0]) > 1e-3


def test_a_product_changes_neither_parameters_nor_running_statistics(backend64):
    b = backend64
    G, D, z, xr, v_G, v_D = _game(b, "batchnorm")
    before = {
        f"{who}{k}": b.to_numpy(a).copy()
        for who, net in (("G", G), ("D", D))
        for k, a in {**net.params(), **net.buffers()}.items()
    }
    so.hvp("g", G, D, z, xr, v_G, v_D)
    after = {
        f"{who}{k}": b.to_numpy(a)
        for who, net in (("G", G), ("D", D))
        for k, a in {**net.params(), **net.buffers()}.items()
    }
    assert all(np.array_equal(before[k], after[k]) for k in before)


# -- refusals: one line naming the argument --------------------------------------------------------------
class Doubling(Layer):
    """A layer with no R-operator: out = 2x."""

    def forward(self, x, train=True, check=True):
        return 2.0 * x, None

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        return 2.0 * dout, {}


@pytest.mark.parametrize(
    "call, error, start",
    [
        (lambda G, D, z, xr, v: so.hvp("d", G, D, z, xr, None, v, form="hinge"), ValueError, "form: "),
        (lambda G, D, z, xr, v: so.hvp("g", G, D, z, xr, None, v, form="bce"), ValueError, "form: "),
        (lambda G, D, z, xr, v: so.hvp("x", G, D, z, xr, None, v), ValueError, "loss: "),
        (
            lambda G, D, z, xr, v: so.game_jacobian_vector(G, D, z, xr, None, v, g_form="hinge_d"),
            ValueError,
            "form: ",
        ),
        (lambda G, D, z, xr, v: so.hvp("d", G, D, z, xr, None, {"0.W": v["0.W"]}), ValueError, "v_D: "),
        (
            lambda G, D, z, xr, v: so.hvp("d", G, D, z, xr, None, {**v, "0.b": v["0.W"]}),
            ValueError,
            "v_D['0.b']: ",
        ),
        (
            lambda G, D, z, xr, v: so.hvp("d", G, D, z, xr, None, {**v, "0.b": [0.0]}),
            TypeError,
            "v_D['0.b']: ",
        ),
        (lambda G, D, z, xr, v: so.d_hessian_vector(G, D, z, z[:, :1], v), ValueError, "x_real: "),
    ],
)
def test_bad_input_gets_one_line_naming_the_argument(call, error, start):
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    G, D, z, xr, _, v_D = _game(b, "smooth")
    with pytest.raises(error) as e:
        call(G, D, z, xr, v_D)
    assert str(e.value).startswith(start) and "\n" not in str(e.value), str(e.value)


def test_a_layer_without_r_operator_is_named():
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    G, D, z, xr, v_G, v_D = _game(b, "smooth")
    G.layers.insert(1, Doubling(b))
    with pytest.raises(TypeError, match=r"^G: layer 1 \(Doubling\) has no R-operator") as e:
        so.hvp("d", G, D, z, xr, None, None)
    assert "\n" not in str(e.value)
