"""Layers: analytic backward against finite differences (float64 property tests), and the same
forward/backward on every backend in float32 (dtypes kept, results equal to numpy's)."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st

from minigan.backend import get_backend
from minigan.gradcheck import KINK_MARGIN, THRESHOLD, KinkCrossed, check_layer, kink_margin
from minigan.layers import (
    INITS,
    BatchNorm,
    Dropout,
    LeakyReLU,
    Linear,
    Maxout,
    ReLU,
    Sigmoid,
    Tanh,
    init_weight,
    make_activation,
)

B64 = get_backend("numpy", dtype="float64")
NP32 = get_backend("numpy")
KINDS = ("linear", "maxout", "relu", "leaky_relu", "tanh", "sigmoid", "dropout", "batchnorm")


def make_layer(kind, backend, fin, fout, seed, pieces=3, p=0.4, slope=0.2):
    """A layer of ``kind`` with non-trivial parameters (random bias / gamma / beta)."""
    rng = backend.random(seed)
    if kind == "linear":
        layer = Linear(fin, fout, backend, rng)
        layer.params["b"] = rng.normal((fout,)) * 0.1
    elif kind == "maxout":
        layer = Maxout(fin, fout, pieces, backend, rng)
        layer.params["b"] = rng.normal((fout * pieces,)) * 0.1
    elif kind == "relu":
        layer = ReLU(backend)
    elif kind == "leaky_relu":
        layer = LeakyReLU(backend, slope)
    elif kind == "tanh":
        layer = Tanh(backend)
    elif kind == "sigmoid":
        layer = Sigmoid(backend)
    elif kind == "dropout":
        layer = Dropout(p, backend, rng)
    else:
        layer = BatchNorm(fin, backend)
        layer.params["gamma"] = rng.normal((fin,)) * 0.5 + 1.0
        layer.params["beta"] = rng.normal((fin,)) * 0.5
        layer.buffers["running_mean"] = rng.normal((fin,)) * 0.5
        layer.buffers["running_var"] = rng.uniform((fin,), 0.5, 2.0)
    return layer


def out_features(kind, fin, fout):
    return fout if kind in ("linear", "maxout") else fin


# -- property: analytic gradients equal centred finite differences (float64) -------------------
@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    n=st.integers(2, 6),
    fin=st.integers(1, 5),
    fout=st.integers(1, 5),
    pieces=st.integers(1, 4),
    p=st.sampled_from([0.0, 0.3, 0.7]),
    slope=st.sampled_from([0.0, 0.01, 0.2, 0.5]),
    train=st.booleans(),
    scale=st.sampled_from([0.3, 1.0, 3.0]),
    seed=st.integers(0, 2**16),
)
def test_layer_gradients_match_finite_differences(kind, n, fin, fout, pieces, p, slope, train, scale, seed):
    """dx and every parameter gradient of every layer, train and eval, within 1e-6 relative
    error of centred differences; inputs closer than KINK_MARGIN to a kink are not drawn."""
    layer = make_layer(kind, B64, fin, fout, seed, pieces, p, slope)
    x = B64.random(seed + 1).normal((n, fin)) * scale
    assume(kink_margin(layer, x, train) > KINK_MARGIN)
    try:
        errors = check_layer(layer, x, B64, train, seed)
    except KinkCrossed:
        reject()
    assert set(errors) == {"x", *layer.params}
    # e.g. with N = 2, training-mode batch norm maps every batch to ±sqrt(σ²/(σ²+eps)): its
    # x-gradient is O(eps/σ³), too small for a difference of f to resolve to 1e-6
    assume(errors.worst_accuracy() <= THRESHOLD)
    assert max(errors.values()) <= THRESHOLD, errors


def test_kink_inputs_are_detected_not_misreported():
    """A ReLU input within h of 0: the check refuses (KinkCrossed) instead of reporting a
    wrong 'gradient error' (the one-sided derivative is 1 or 0, the difference gives 0.5)."""
    x = B64.asarray(np.array([[1e-6, 1.0], [-0.5, 2.0]]))
    assert kink_margin(ReLU(B64), x) == pytest.approx(1e-6)
    with pytest.raises(KinkCrossed, match="crossed a kink"):
        check_layer(ReLU(B64), x, B64)


# -- the backward formulas themselves, on hand-sized examples ---------------------------------------
def test_linear_backward_by_hand():
    layer = Linear(2, 1, B64, B64.random(0))
    layer.params["W"] = np.array([[2.0], [-1.0]])
    layer.params["b"] = np.array([0.5])
    x = np.array([[1.0, 3.0], [2.0, 0.0]])
    out, cache = layer.forward(x)
    np.testing.assert_allclose(out, [[2 - 3 + 0.5], [4 + 0.5]])
    dx, g = layer.backward(np.array([[1.0], [2.0]]), cache)
    np.testing.assert_allclose(dx, [[2.0, -1.0], [4.0, -2.0]])
    np.testing.assert_allclose(g["W"], [[1 + 4], [3 + 0]])
    np.testing.assert_allclose(g["b"], [3.0])


def test_maxout_gradient_goes_to_the_winning_piece_only():
    layer = Maxout(1, 1, 3, B64, B64.random(0))
    layer.params["W"] = np.array([[1.0, -1.0, 0.5]])
    layer.params["b"] = np.zeros(3)
    x = np.array([[2.0], [-3.0]])  # pieces (2, -2, 1) -> piece 0; (-3, 3, -1.5) -> piece 1
    out, cache = layer.forward(x)
    np.testing.assert_allclose(out, [[2.0], [3.0]])
    dx, g = layer.backward(np.array([[1.0], [10.0]]), cache)
    np.testing.assert_allclose(g["b"], [1.0, 10.0, 0.0])
    np.testing.assert_allclose(g["W"], [[2.0, -30.0, 0.0]])
    np.testing.assert_allclose(dx, [[1.0], [-10.0]])


def test_batchnorm_running_statistics():
    """PyTorch's convention: r <- 0.9 r + 0.1 batch_stat, unbiased variance; eval uses r."""
    bn = BatchNorm(2, B64, momentum=0.1)
    x = np.array([[1.0, 0.0], [3.0, 4.0], [5.0, 8.0]])
    out, _ = bn.forward(x, train=True)
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1 * x.mean(0))
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 + 0.1 * x.var(0, ddof=1))
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(0), x.var(0) / (x.var(0) + bn.eps))
    before = {k: v.copy() for k, v in bn.buffers.items()}
    ev, _ = bn.forward(x, train=False)
    np.testing.assert_allclose(ev, (x - before["running_mean"]) / np.sqrt(before["running_var"] + bn.eps))
    for k in before:  # eval does not move the statistics
        np.testing.assert_array_equal(bn.buffers[k], before[k])


def test_dropout_mask_and_eval():
    d = Dropout(0.25, NP32, NP32.random(0))
    x = np.ones((400, 5), np.float32)
    out, cache = d.forward(x, train=True)
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.65 < (out > 0).mean() < 0.85  # keep rate 0.75; 2000 draws, ~10 standard errors
    dx, _ = d.backward(np.full_like(x, 2.0), cache)
    np.testing.assert_array_equal(dx, 2.0 * out)
    ev, c = d.forward(x, train=False)
    assert ev is x and c is None


@pytest.mark.parametrize(
    "init,std",
    [
        ("he", math.sqrt(2 / 400)),
        ("normal", 0.02),
        ("xavier", math.sqrt(6 / 600) / math.sqrt(3)),
        ("uniform", 1 / math.sqrt(400) / math.sqrt(3)),
    ],
)
def test_init_scales(init, std):
    """He 2015, DCGAN 2016, Glorot 2010, PyTorch default: the empirical std of 80,000 draws
    is within 2% of the formula (the standard error is ~0.25%)."""
    w = init_weight(B64, B64.random(0), 400, 200, init)
    assert w.shape == (400, 200)
    assert abs(np.std(w) / std - 1) < 0.02
    assert INITS == ("he", "xavier", "normal", "uniform")


# -- contract: shapes, flags, inputs untouched ------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_backward_flags_and_no_mutation(kind):
    layer = make_layer(kind, B64, 3, 4, 0)
    x = B64.random(1).normal((5, 3))
    x0 = x.copy()
    out, cache = layer.forward(x, True)
    assert out.shape == (5, out_features(kind, 3, 4))
    dout = B64.random(2).normal(out.shape)
    d0 = dout.copy()
    dx, grads = layer.backward(dout, cache)
    assert dx.shape == x.shape and set(grads) == set(layer.params)
    assert all(grads[k].shape == layer.params[k].shape for k in grads)
    dx2, none = layer.backward(dout, cache, need_grads=False)
    assert none == {} and np.array_equal(dx2, dx)
    skipped, grads2 = layer.backward(dout, cache, need_dx=False)
    assert skipped is None or kind not in ("linear", "maxout", "batchnorm")
    for k in grads:
        np.testing.assert_array_equal(grads2[k], grads[k])
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, d0)


# -- every backend: float32 in, float32 out, numpy's numbers ---------------------------------------
def _copy_params(src, dst, backend):
    for k, v in src.params.items():
        dst.params[k] = backend.asarray(v)
    for k, v in src.buffers.items():
        dst.buffers[k] = backend.asarray(v)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("train", [True, False])
def test_layer_on_every_backend_matches_numpy_in_float32(backend, kind, train):
    ref = make_layer(kind, NP32, 4, 3, 0)
    layer = make_layer(kind, backend, 4, 3, 0)
    _copy_params(ref, layer, backend)  # cupy's generator draws other numbers: same params
    x_h = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    x = backend.asarray(x_h)
    out, cache = layer.forward(x, train)
    r_out, r_cache = ref.forward(x_h, train)
    f32 = backend.xp.float32
    assert out.dtype == f32 and out.device == backend.device
    dout_h = np.random.default_rng(2).standard_normal(r_out.shape).astype(np.float32)
    dx, grads = layer.backward(backend.asarray(dout_h), cache)
    r_dx, r_grads = ref.backward(dout_h, r_cache)
    assert dx.dtype == f32 and all(g.dtype == f32 for g in grads.values())
    if kind == "dropout" and train and backend.name == "cupy":
        # the mask comes from cupy's own generator: check its structure instead
        o, xx = backend.to_numpy(out), x_h
        ratio = np.divide(o, xx, out=np.zeros_like(o), where=xx != 0)
        assert np.all(np.isclose(ratio, 0) | np.isclose(ratio, 1 / (1 - layer.p)))
        return
    tol = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(out), r_out, **tol)
    np.testing.assert_allclose(backend.to_numpy(dx), r_dx, **tol)
    for k in r_grads:
        np.testing.assert_allclose(backend.to_numpy(grads[k]), r_grads[k], **tol)
    for k in ref.buffers:
        np.testing.assert_allclose(backend.to_numpy(layer.buffers[k]), ref.buffers[k], **tol)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_make_activation(name):
    layer = make_activation(name, NP32, leaky_slope=0.1)
    assert type(layer).__name__.lower().replace("leakyrelu", "leaky_relu") == name
    if name == "leaky_relu":
        assert layer.slope == 0.1


def test_sigmoid_layer_is_stable_in_float32():
    s = Sigmoid(NP32)
    out, _ = s.forward(np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], np.float32))
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [[0.0, math.exp(-50), 0.5, 1.0, 1.0]], rtol=1e-6, atol=0)
