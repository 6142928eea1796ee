"""MLPs: whole-network and G-through-D gradients against finite differences (float64 property
tests), the backward contract, named parameters, and float32 on every backend."""

import numpy as np
import pytest
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

from minigan import losses as L
from minigan.backend import get_backend
from minigan.gradcheck import (
    KINK_MARGIN,
    THRESHOLD,
    KinkCrossed,
    check_discriminator_chain,
    check_generator_chain,
    check_mlp,
    discriminator_chain_margin,
    generator_chain_margin,
    generic_point,
    kink_margin,
)
from minigan.layers import BatchNorm, Dropout, Linear, Maxout
from minigan.networks import MLP, MLPSpec, discriminator, generator

B64 = get_backend("numpy", dtype="float64")
NP32 = get_backend("numpy")

D_LOSSES = {
    "bce": (L.discriminator_loss, {}),
    "bce_smoothed": (L.discriminator_loss, {"real_target": 0.9}),
    "value": (L.value_function, {}),
    "total": (L.total_loss, {}),
    "least_squares": (L.least_squares_d_loss, {}),
    "hinge": (L.hinge_d_loss, {}),
    "wasserstein": (L.wasserstein_d_loss, {}),
}


@st.composite
def specs(draw, d_in=None, d_out=None, allow_bn=True):
    depth = draw(st.integers(1, 3))
    hidden = tuple(draw(st.integers(1, 6)) for _ in range(depth))
    return MLPSpec(
        sizes=(d_in or draw(st.integers(1, 3)), *hidden, d_out or draw(st.integers(1, 3))),
        activation=draw(st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid"])),
        output=draw(st.sampled_from([None, "tanh", "sigmoid"])) if d_out != 1 else None,
        maxout_pieces=draw(st.sampled_from([None, None, 2, 3])),
        dropout=draw(st.sampled_from([0.0, 0.3])),
        batch_norm=draw(st.booleans()) if allow_bn else False,
        init=draw(st.sampled_from(["he", "xavier", "uniform"])),
        leaky_slope=draw(st.sampled_from([0.01, 0.2])),
    )


# -- property: whole-network gradients --------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(spec=specs(), n=st.integers(3, 6), train=st.booleans(), seed=st.integers(0, 2**16))
def test_mlp_gradients_match_finite_differences(spec, n, train, seed):
    """dx and every named parameter gradient of random MLPs (depth 1-3, widths 1-6, every
    activation/output, maxout, dropout with a frozen mask, batch norm, train and eval)."""
    net = MLP(spec, B64, seed=seed)
    x = B64.random(seed + 1).normal((n, spec.sizes[0]))
    assume(kink_margin(net, x, train) > KINK_MARGIN)
    try:
        errors = check_mlp(net, x, train, seed)
    except KinkCrossed:  # a step of h crossed a kink: the difference is not a derivative
        reject()
    assert set(errors) == {"x", *net.params()}
    assume(errors.worst_accuracy() <= THRESHOLD)  # the differences are accurate to 1e-6
    assert max(errors.values()) <= THRESHOLD, errors


# -- property: the full chains ------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(
    name=st.sampled_from(list(D_LOSSES)),
    spec=specs(d_in=2, d_out=1, allow_bn=False),
    m=st.integers(2, 5),
    n=st.integers(2, 5),
    seed=st.integers(0, 2**16),
)
def test_discriminator_loss_gradients_wrt_d_params(name, spec, m, n, seed):
    """Every D loss form w.r.t. every parameter of D, real and fake batches through D."""
    fn, kw = D_LOSSES[name]
    D = generic_point(MLP(spec, B64, seed=seed), seed)  # zero biases make exact maxout ties
    x_real = B64.random(seed + 1).normal((m, 2)) * 2.0
    x_fake = B64.random(seed + 2).normal((n, 2))
    assume(discriminator_chain_margin(D, x_real, x_fake, fn) > KINK_MARGIN)
    try:
        errors = check_discriminator_chain(D, fn, x_real, x_fake, **kw)
    except KinkCrossed:
        reject()
    assert set(errors) == set(D.params())
    assume(errors.worst_accuracy() <= THRESHOLD)  # the differences are accurate to 1e-6
    assert max(errors.values()) <= THRESHOLD, errors


@settings(max_examples=50, deadline=None)
@given(
    name=st.sampled_from(list(L.GENERATOR_LOSSES)),
    g_spec=specs(d_out=2),
    d_spec=specs(d_in=2, d_out=1, allow_bn=False),
    n=st.integers(3, 5),
    seed=st.integers(0, 2**16),
)
def test_generator_loss_gradients_through_d(name, g_spec, d_spec, n, seed):
    """Every generator loss w.r.t. every parameter of G, through D (D.backward with
    need_grads=False, then G.backward); G and D share one random generator, as in training."""
    fn = L.GENERATOR_LOSSES[name]
    rng = B64.random(seed)
    G = generic_point(MLP(g_spec, B64, rng=rng), seed)  # zero biases make exact maxout ties
    D = generic_point(MLP(d_spec, B64, rng=rng), seed + 1)
    z = B64.random(seed + 1).normal((n, g_spec.sizes[0]))
    assume(generator_chain_margin(G, D, z, fn) > KINK_MARGIN)
    try:
        errors = check_generator_chain(G, D, fn, z)
    except KinkCrossed:
        reject()
    assert set(errors) == set(G.params())
    assume(errors.worst_accuracy() <= THRESHOLD)  # the differences are accurate to 1e-6
    assert max(errors.values()) <= THRESHOLD, errors


def test_checks_leave_the_networks_unchanged():
    """A check restores parameters, batch-norm statistics and the random state it used."""
    rng = B64.random(0)
    G = generator(2, 2, (5, 5), batch_norm=True, backend=B64, rng=rng)
    D = discriminator(2, (6,), maxout_pieces=2, dropout=0.3, backend=B64, rng=rng)
    before = (
        {k: v.copy() for k, v in G.params().items()},
        {k: v.copy() for k, v in G.buffers().items()},
        rng.state(),
    )
    check_generator_chain(G, D, L.generator_nonsaturating_loss, B64.random(1).normal((4, 2)))
    for k, v in before[0].items():
        np.testing.assert_array_equal(G.params()[k], v)
    for k, v in before[1].items():
        np.testing.assert_array_equal(G.buffers()[k], v)
    assert rng.state() == before[2]


def test_a_wrong_gradient_is_caught(monkeypatch):
    """The check can fail: a Linear backward off by 1% in dW gives a relative error ~5e-3."""
    net = MLP(MLPSpec((2, 4, 1), "tanh"), B64, seed=0)
    orig = Linear.backward

    def off(self, dout, cache, need_dx=True, need_grads=True):
        dx, g = orig(self, dout, cache, need_dx, need_grads)
        return dx, {k: (v * 1.01 if k == "W" else v) for k, v in g.items()}

    monkeypatch.setattr(Linear, "backward", off)
    errors = check_mlp(net, B64.random(1).normal((5, 2)))
    assert errors["0.W"] > 1e-3 and errors["2.W"] > 1e-3
    assert errors["0.b"] <= THRESHOLD


# -- the backward contract ------------------------------------------------------------------------------
def test_d_backward_without_param_grads_carries_the_same_dx():
    D = discriminator(2, (8, 8), maxout_pieces=3, backend=B64, seed=0)
    x = B64.random(1).normal((5, 2))
    out, cache = D.forward(x)
    dl = B64.random(2).normal(out.shape)
    dx_full, grads = D.backward(dl, cache)
    dx_only, none = D.backward(dl, cache, need_grads=False)
    assert none == {} and set(grads) == set(D.params())
    np.testing.assert_array_equal(dx_only, dx_full)
    skipped, grads2 = D.backward(dl, cache, need_dx=False)
    assert skipped is None
    for k in grads:
        np.testing.assert_array_equal(grads2[k], grads[k])


def test_layer_structure_and_names():
    D = discriminator(2, (6, 4), maxout_pieces=5, dropout=0.5, backend=NP32)
    assert [type(layer) for layer in D.layers] == [Maxout, Dropout, Maxout, Dropout, Linear]
    assert list(D.params()) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    assert D.params()["0.W"].shape == (2, 30) and D.params()["4.W"].shape == (4, 1)
    G = generator(3, 2, (5,), batch_norm=True, output="tanh", backend=NP32)
    assert list(G.params()) == ["0.W", "0.b", "1.gamma", "1.beta", "3.W", "3.b"]
    assert list(G.buffers()) == ["1.running_mean", "1.running_var"]
    assert isinstance(G.layers[1], BatchNorm)
    assert G.num_params() == 3 * 5 + 5 + 5 + 5 + 5 * 2 + 2


def test_params_are_live_and_set_param_replaces():
    net = MLP(MLPSpec((2, 3, 1)), NP32, seed=0)
    w = net.params()["0.W"]
    assert net.layers[0].params["W"] is w
    new = np.ones((2, 3), np.float32)
    net.set_param("0.W", new)
    assert net.layers[0].params["W"] is new
    out = net(np.ones((1, 2), np.float32))
    assert out.shape == (1, 1)


def test_same_seed_same_network():
    a = MLP(MLPSpec((2, 5, 1), maxout_pieces=2), NP32, seed=4)
    b = MLP(MLPSpec((2, 5, 1), maxout_pieces=2), NP32, seed=4)
    c = MLP(MLPSpec((2, 5, 1), maxout_pieces=2), NP32, seed=5)
    for k in a.params():
        np.testing.assert_array_equal(a.params()[k], b.params()[k])
    assert not np.array_equal(a.params()["0.W"], c.params()["0.W"])


def test_spec_round_trip():
    spec = MLPSpec((2, 4, 4, 1), "leaky_relu", None, 3, 0.2, False, "xavier", 0.1)
    assert MLPSpec(**spec.to_dict()) == spec


# -- every backend: float32 forward/backward equals numpy's -------------------------------------------------
SPECS32 = {
    "G_bn_tanh": MLPSpec((2, 8, 8, 2), "relu", "tanh", batch_norm=True),
    "D_maxout": MLPSpec((2, 8, 8, 1), maxout_pieces=3),
    "leaky_sigmoid": MLPSpec((3, 6, 2), "leaky_relu", "sigmoid"),
    "D_dropout_eval": MLPSpec((2, 6, 1), "tanh", dropout=0.5),
}


@pytest.mark.parametrize("name", list(SPECS32))
def test_mlp_on_every_backend_matches_numpy_in_float32(backend, name):
    spec = SPECS32[name]
    ref = MLP(spec, NP32, seed=0)
    net = MLP(spec, backend, seed=0)
    for k, v in ref.params().items():  # cupy draws other numbers: give it numpy's parameters
        net.set_param(k, backend.asarray(v))
    train = name != "D_dropout_eval"
    x_h = np.random.default_rng(1).standard_normal((7, spec.sizes[0])).astype(np.float32)
    out, cache = net.forward(backend.asarray(x_h), train)
    r_out, r_cache = ref.forward(x_h, train)
    dout_h = np.random.default_rng(2).standard_normal(r_out.shape).astype(np.float32)
    dx, grads = net.backward(backend.asarray(dout_h), cache)
    r_dx, r_grads = ref.backward(dout_h, r_cache)
    f32 = backend.xp.float32
    assert out.dtype == f32 and dx.dtype == f32 and out.device == backend.device
    assert all(g.dtype == f32 for g in grads.values()) and all(p.dtype == f32 for p in net.params().values())
    tol = dict(rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(backend.to_numpy(out), r_out, **tol)
    np.testing.assert_allclose(backend.to_numpy(dx), r_dx, **tol)
    for k in r_grads:
        np.testing.assert_allclose(backend.to_numpy(grads[k]), r_grads[k], **tol, err_msg=k)
    for k, v in ref.buffers().items():
        np.testing.assert_allclose(backend.to_numpy(net.buffers()[k]), v, **tol, err_msg=k)


def test_g_through_d_on_every_backend(backend):
    """The generator step's gradient path (D.backward without D's grads, then G.backward)
    runs on every backend in float32 and equals numpy's."""
    out = {}
    for b in (NP32, backend):
        G = generator(2, 2, (8,), batch_norm=True, backend=b, seed=0)
        D = discriminator(2, (8,), maxout_pieces=2, backend=b, seed=1)
        if b is backend:  # numpy's parameters everywhere (cupy's generator differs)
            for net, r in ((G, out["G"]), (D, out["D"])):
                for k, v in r.params().items():
                    net.set_param(k, b.asarray(v))
        z = b.asarray(np.random.default_rng(3).standard_normal((6, 2)).astype(np.float32))
        x, cg = G.forward(z)
        lf, cd = D.forward(x)
        _, dl = L.generator_nonsaturating_loss(lf)
        dx, _ = D.backward(dl, cd, need_grads=False)
        _, grads = G.backward(dx, cg, need_dx=False)
        assert all(g.dtype == b.xp.float32 for g in grads.values())
        out.update({"G": G, "D": D} if b is NP32 else {})
        out[b.spec if b is not NP32 else "ref"] = {k: b.to_numpy(v) for k, v in grads.items()}
    for k, v in out["ref"].items():
        np.testing.assert_allclose(out[backend.spec][k], v, rtol=2e-5, atol=2e-6, err_msg=k)


def test_backwards_options_are_keywords_and_a_kept_cache_serves_again():
    """MLP.backward(dout, cache) as CS231n's; need_dx, need_grads, release only by name. Without
    release the cache serves any number of backward passes, with the same numbers each time."""
    net = MLP(MLPSpec((2, 5, 1), "tanh"), B64, seed=0)
    out, cache = net.forward(B64.random(1).normal((4, 2)))
    dout = B64.random(2).normal(tuple(out.shape))
    with pytest.raises(TypeError):
        net.backward(dout, cache, False)
    dx, grads = net.backward(dout, cache)
    dx2, grads2 = net.backward(dout, cache)
    np.testing.assert_array_equal(dx, dx2)
    assert all(np.array_equal(grads[k], grads2[k]) for k in grads)
