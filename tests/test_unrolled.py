"""The unrolled GAN (docs/MATH.md §17): its gradient against centred differences of the scalar f_K itself,
its ablation, its step against Eqs. 10-11, and its refusals.

The reference f_K(θ_G) is computed here from the first-order code alone: G's samples, then K steps of a
fresh optimizer of D's rule (``optim``, started from a copy of D's optimizer state) each on D's gradient
from ``MLP.forward``/``MLP.backward`` and the logit gradients of ``losses.py``, then the objective at θ_D^K.
Differences with h = 1e-5 in float64 along every entry of θ_G; their truncation error (h²/6)·f''' is
near 1e-11 relative on these smooth networks (tanh and sigmoid units, softplus-type and quadratic
losses), well below the 1e-6 the gradient must meet. D's optimizer is taken at a state three real steps
in (Adam at t = 3: v̂ is of the order of g², not near 0, where ∂θ'/∂v̂ ∝ 1/√v̂ would grow without bound).
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigan import gradcheck as gc
from minigan import losses as L
from minigan.config import TrainConfig
from minigan.game_updates import Unrolled, make_update
from minigan.networks import MLP, MLPSpec
from minigan.optim import SGD, Adam, RMSProp
from minigan.second_order import UnrollPass
from minigan.training import GAN
from minigan.unrolled import MAX_STEPS, unrolled_gradients

H = 1e-5
TOL = 1e-6

D_LOSS = {
    "bce": L.discriminator_loss,
    "least_squares": L.least_squares_d_loss,
    "wasserstein": L.wasserstein_d_loss,
}
G_LOSS = {
    "minimax": L.generator_minimax_loss,
    "nonsaturating": L.generator_nonsaturating_loss,
    "least_squares": L.least_squares_g_loss,
    "wasserstein": L.wasserstein_g_loss,
}
# (G form, D form): the paper's zero-sum value, the non-saturating pair, least squares, Wasserstein
PAIRS = [
    ("minimax", "bce"),
    ("nonsaturating", "bce"),
    ("least_squares", "least_squares"),
    ("wasserstein", "wasserstein"),
]
ZERO_SUM = {("minimax", "bce"), ("wasserstein", "wasserstein")}
OPTIMIZERS = {
    "sgd_momentum": lambda: SGD(0.2, momentum=0.5),
    "sgd": lambda: SGD(0.2, momentum=0.0),
    "adam": lambda: Adam(0.05, (0.5, 0.999)),
    "rmsprop": lambda: RMSProp(0.01),
}


def _game(b, seed=0, m=6, n=7, batch_norm=False):
    G = gc.generic_point(MLP(MLPSpec((3, 6, 2), "tanh"), b, seed=seed), seed, scale=0.3)
    D = gc.generic_point(
        MLP(MLPSpec((2, 6, 5, 1), "tanh", batch_norm=batch_norm), b, seed=seed + 1), seed + 1, 0.3
    )
    g = np.random.default_rng([seed, 5])
    z = b.asarray(g.standard_normal((n, 3)), dtype=b.float_dtype)
    x = b.asarray(g.standard_normal((m, 2)) + 0.5, dtype=b.float_dtype)
    return G, D, z, x


def _d_grads(G, D, z, x, d_form):
    xp, m = G.backend.xp, x.shape[0]
    fake, _ = G.forward(z)
    logits, cache = D.forward(xp.concat([x, fake], axis=0))
    _, dr, df = D_LOSS[d_form](logits[:m, :], logits[m:, :])
    return D.backward(xp.concat([dr, df], axis=0), cache)[1]


def _objective(G, D, z, x, g_form, d_form):
    xp, m = G.backend.xp, x.shape[0]
    fake, _ = G.forward(z)
    logits, _ = D.forward(xp.concat([x, fake], axis=0))
    if (g_form, d_form) in ZERO_SUM:
        return -float(D_LOSS[d_form](logits[:m, :], logits[m:, :])[0])
    return float(G_LOSS[g_form](logits[m:, :])[0])


def _opt_at_state(G, D, z, x, d_form, kind):
    """D's optimizer after three real steps (their moves undone: D stays where it was)."""
    opt, saved = OPTIMIZERS[kind](), {k: np.array(G.backend.to_numpy(p)) for k, p in D.params().items()}
    for _ in range(3):
        opt.step(D.params(), _d_grads(G, D, z, x, d_form))
    for k, p in D.params().items():
        p[...] = G.backend.asarray(saved[k], dtype=p.dtype)
    return opt


def f_K(G, D, z, x, opt, K, g_form, d_form):
    """f(θ_G, θ_D^K) by K steps of a copy of ``opt`` (D restored afterwards)."""
    saved = {k: G.backend.to_numpy(p).copy() for k, p in D.params().items()}
    twin = opt.clone()
    for _ in range(K):
        twin.step(D.params(), _d_grads(G, D, z, x, d_form))
    value = _objective(G, D, z, x, g_form, d_form)
    for k, p in D.params().items():
        p[...] = G.backend.asarray(saved[k], dtype=p.dtype)
    return value


def _differences(G, D, z, x, opt, K, g_form, d_form, constant_D=None):
    """Centred differences of f_K along every entry of θ_G (or of f at a fixed θ_D = ``constant_D``)."""
    b, out = G.backend, {}
    for name, p in G.params().items():
        base = b.to_numpy(p).copy()
        grad = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            vals = []
            for s in (1, -1):
                moved = base.copy()
                moved[i] += s * H
                p[...] = b.asarray(moved, dtype=p.dtype)
                vals.append(f_K(G, D, z, x, opt, K, g_form, d_form))
            grad[i] = (vals[0] - vals[1]) / (2 * H)
        p[...] = b.asarray(base, dtype=p.dtype)
        out[name] = grad
    return out


def _rel(a, ref, b):
    a = np.concatenate([np.ravel(b.to_numpy(a[k])) for k in ref])
    r = np.concatenate([np.ravel(ref[k]) for k in ref])
    return float(np.linalg.norm(a - r) / np.linalg.norm(r))


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: "+".join(p))
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
@pytest.mark.parametrize("K", [1, 4])
def test_unrolled_gradient_matches_differences_of_f_K(pair, kind, K):
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    g_form, d_form = pair
    G, D, z, x = _game(b, seed=K)
    opt = _opt_at_state(G, D, z, x, d_form, kind)
    before = {k: b.to_numpy(p).copy() for k, p in D.params().items()}
    at = UnrollPass(G, D, z, x, d_form=d_form, g_form=g_form)
    g_G, g_D, _ = unrolled_gradients(at, opt, D.params(), K)
    ref = _differences(G, D, z, x, opt, K, g_form, d_form)
    assert _rel(g_G, ref, b) <= TOL
    assert all(np.array_equal(b.to_numpy(p), before[k]) for k, p in D.params().items())  # D restored
    assert opt.t == 3  # D's own optimizer untouched: a clone took the steps
    d_ref = _d_grads(G, D, z, x, d_form)
    assert all(np.allclose(b.to_numpy(g_D[k]), b.to_numpy(d_ref[k]), rtol=1e-13, atol=0) for k in d_ref)


def test_unrolled_gradient_on_strict_devices_and_with_batch_norm(backend64):
    """The same check on array-api-strict (its CPU and simulated GPU), with batch norm in D, Adam, K = 3."""
    b = backend64
    G, D, z, x = _game(b, seed=3, batch_norm=True)
    opt = _opt_at_state(G, D, z, x, "bce", "adam")
    g_G, _, _ = unrolled_gradients(UnrollPass(G, D, z, x, "bce", "minimax"), opt, D.params(), 3)
    assert _rel(g_G, _differences(G, D, z, x, opt, 3, "minimax", "bce"), b) <= TOL


def test_the_term_through_theta_D_K_matters():
    """Without the backward sweep (the ablation) the gradient is ∂f/∂θ_G at θ_D^K alone, which differs
    from df_K/dθ_G by far more than the tolerance: the check above could not pass without the sweep."""
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    G, D, z, x = _game(b, seed=1)
    opt = _opt_at_state(G, D, z, x, "bce", "adam")
    exact = unrolled_gradients(UnrollPass(G, D, z, x, "bce", "minimax"), opt, D.params(), 4)[0]
    ablation = unrolled_gradients(
        UnrollPass(G, D, z, x, "bce", "minimax"), opt, D.params(), 4, constant=True
    )[0]
    ref = _differences(G, D, z, x, opt, 4, "minimax", "bce")
    assert _rel(ablation, ref, b) > 1e-3
    assert _rel(exact, ref, b) <= TOL


def test_ablation_is_the_gradient_at_theta_D_K_held_fixed():
    """constant=True: ∂f/∂θ_G with D at θ_D^K — differences of f with D's parameters set to θ_D^K."""
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    G, D, z, x = _game(b, seed=2)
    opt = _opt_at_state(G, D, z, x, "bce", "sgd_momentum")
    got = unrolled_gradients(
        UnrollPass(G, D, z, x, "bce", "nonsaturating"), opt, D.params(), 3, constant=True
    )[0]
    start = {k: b.to_numpy(p).copy() for k, p in D.params().items()}
    twin = opt.clone()
    for _ in range(3):
        twin.step(D.params(), _d_grads(G, D, z, x, "bce"))
    ref = _differences(G, D, z, x, opt, 0, "nonsaturating", "bce")  # K = 0 at D = θ_D^3
    assert _rel(got, ref, b) <= TOL
    for k, p in D.params().items():
        p[...] = b.asarray(start[k], dtype=p.dtype)


def _twin_gans(update, **kw):
    cfg = dict(
        steps=10,
        mode="simultaneous",
        penalty=None,
        g_loss="minimax",
        lr_decay=1.0,
        dtype="float64",
        batch_size=16,
    )
    cfg.update(kw)
    return GAN(TrainConfig(**cfg), update=update), GAN(TrainConfig(**cfg))


def test_unrolled_step_is_eqs_10_and_11():
    """One unrolled step from the same state as a plain simultaneous step: D's parameters and optimizer
    state end exactly where the plain step puts them (D's ordinary update, the copies dropped); G moves by
    its optimizer along df_K/dθ_G on the same batch."""
    u, plain = _twin_gans(Unrolled(steps=3))
    u.train_step()
    plain.train_step()
    for k, p in plain.D.params().items():
        assert np.array_equal(u.D.params()[k], p)
    assert u.d_opt.t == plain.d_opt.t == 1
    for slot in plain.d_opt.slots:
        for k, a in plain.d_opt.slots[slot].items():
            assert np.array_equal(u.d_opt.slots[slot][k], a)
    moved = any(not np.allclose(u.G.params()[k], p) for k, p in plain.G.params().items())
    assert moved  # G's unrolled gradient is not the plain one


def test_zero_unrolled_steps_is_the_simultaneous_step():
    """K = 0: f_0 = f, so the step is the plain simultaneous one (float64: to rounding)."""
    u, plain = _twin_gans(Unrolled(steps=0), g_loss="nonsaturating")
    for _ in range(3):
        u.train_step()
        plain.train_step()
    for net in ("G", "D"):
        for k, p in getattr(plain, net).params().items():
            np.testing.assert_allclose(getattr(u, net).params()[k], p, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kw, words",
    [
        (dict(mode="fresh"), "needs mode='simultaneous'"),
        (dict(k=2), "needs k=1"),
        (dict(penalty="r1"), "needs penalty=None: R1/R2/GP would need third derivatives"),
        (dict(g_loss="hinge"), "needs a D loss with a second derivative"),
        (dict(real_target=0.9), "real_target=1"),
    ],
)
def test_refusals_name_the_update(kw, words):
    cfg = dict(mode="simultaneous", penalty=None)
    cfg.update(kw)
    with pytest.raises(ValueError, match=words):
        GAN(TrainConfig(**cfg), update=Unrolled(2))


@pytest.mark.parametrize("K", [-1, MAX_STEPS + 1, 2.5, True, "3"])
def test_unroll_steps_out_of_range_is_one_line(K):
    with pytest.raises(ValueError, match=r"unroll_steps: expected an integer K from 0 to 100"):
        make_update("unrolled", unroll_steps=K)


def test_clone_steps_as_the_optimizer_and_shares_no_array():
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    G, D, z, x = _game(b)
    opt = _opt_at_state(G, D, z, x, "bce", "adam")
    twin = opt.clone()
    assert twin.t == opt.t and twin.config() == opt.config()
    g = _d_grads(G, D, z, x, "bce")
    a = {k: p.copy() for k, p in D.params().items()}
    c = {k: p.copy() for k, p in D.params().items()}
    m_before = {k: v.copy() for k, v in opt.slots["m"].items()}
    twin.step(c, g)
    assert all(np.array_equal(opt.slots["m"][k], m_before[k]) for k in m_before)  # untouched
    opt.step(a, g)
    assert all(np.array_equal(a[k], c[k]) for k in a) and twin.t == opt.t == 4


def test_unrolled_passes_move_batch_norm_statistics_once():
    """D's running statistics move in the first pass of an unrolled step (the training step's) and
    are left there by the other K passes and the objective's."""
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    G, D, z, x = _game(b, batch_norm=True)
    at = UnrollPass(G, D, z, x)
    before = {k: v.copy() for k, v in D.buffers().items()}
    at.d_gradient()
    after_first = {k: v.copy() for k, v in D.buffers().items()}
    assert any(not np.array_equal(before[k], v) for k, v in after_first.items())
    for p in D.params().values():
        p += 0.1  # D elsewhere, as after an unrolled step
    at.d_gradient()
    at.objective()
    assert all(np.array_equal(after_first[k], v) for k, v in D.buffers().items())


# -- the property: over drawn games, rules, states and K ------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    pair=st.sampled_from(PAIRS),
    kind=st.sampled_from(sorted(OPTIMIZERS)),
    K=st.integers(0, 4),
    seed=st.integers(0, 10_000),
    n=st.integers(2, 6),
    g_hidden=st.lists(st.integers(1, 6), min_size=1, max_size=2),
    d_hidden=st.lists(st.integers(1, 6), min_size=1, max_size=2),
    d_act=st.sampled_from(["tanh", "sigmoid"]),
    batch_norm=st.booleans(),
)
def test_unrolled_gradient_is_the_derivative_of_f_K(
    pair, kind, K, seed, n, g_hidden, d_hidden, d_act, batch_norm
):
    """u·df_K/dθ_G against the centred difference of f_K along a random u (``gradcheck``'s check, f_K
    from the first-order code) within 1e-6, for drawn smooth networks, loss pairs, D's rule at a drawn
    state three steps in, and K = 0 … 4; draws whose differences are themselves less accurate than
    1e-6 (a tiny gradient) are rejected, not passed."""
    from minigan.backend import get_backend

    b = get_backend("numpy", dtype="float64")
    g_form, d_form = pair
    G = gc.generic_point(MLP(MLPSpec((3, *g_hidden, 2), "tanh"), b, seed=seed), seed, 0.3)
    D = gc.generic_point(
        MLP(MLPSpec((2, *d_hidden, 1), d_act, batch_norm=batch_norm), b, seed=seed + 1), seed + 1, 0.3
    )
    g = np.random.default_rng(seed)
    z = b.asarray(g.standard_normal((n, 3)), dtype=b.float_dtype)
    x = b.asarray(g.standard_normal((n + 1, 2)), dtype=b.float_dtype)
    u = {k: b.asarray(g.standard_normal(tuple(p.shape)), dtype=b.float_dtype) for k, p in G.params().items()}
    opt = _opt_at_state(G, D, z, x, d_form, kind)
    errors = gc.check_unrolled_gradient(G, D, z, x, u, opt, K, d_form, g_form)
    assume(errors.worst_accuracy() <= TOL)
    assert max(errors.values()) <= TOL, errors
