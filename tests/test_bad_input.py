"""Bad input: each mistake gives a ValueError/TypeError that names the argument and says
what was expected (never a broadcasting error or a NaN three calls later)."""

import math

import numpy as np
import pytest

from minigan import losses as L
from minigan.backend import get_backend
from minigan.layers import BatchNorm, Dropout, LeakyReLU, Linear, Maxout, init_weight, make_activation
from minigan.networks import MLP, MLPSpec

NP32 = get_backend("numpy")


# -- model inputs --------------------------------------------------------------------------------------
def test_mlp_input_of_the_wrong_width(backend):
    net = MLP(MLPSpec((2, 4, 1)), backend, seed=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\) with N >= 1, got \(5, 3\)"):
        net.forward(backend.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\)"):
        net.forward(backend.zeros((2,)))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\) with N >= 1, got \(0, 2\)"):
        net.forward(backend.zeros((0, 2)))


def test_mlp_input_of_an_integer_dtype(backend):
    net = MLP(MLPSpec((2, 4, 1)), backend, seed=0)
    with pytest.raises(TypeError, match="x: expected dtype .*float32.* got .*int"):
        net.forward(backend.asarray(np.ones((3, 2), dtype=np.int32)))


def test_float64_into_a_float32_model():
    net = MLP(MLPSpec((2, 4, 1)), NP32, seed=0)
    with pytest.raises(TypeError, match=r"x: expected dtype .*float32.* \(the model's\), got float64"):
        net.forward(np.ones((3, 2)))


def test_mlp_input_that_is_not_an_array():
    net = MLP(MLPSpec((2, 4, 1)), NP32, seed=0)
    with pytest.raises(
        TypeError, match=r"x: expected an array of shape \(N, 2\) on the model's backend \(numpy\), got list"
    ):
        net.forward([[1.0, 2.0]])


def test_set_param_of_the_wrong_shape_or_dtype():
    net = MLP(MLPSpec((2, 4, 1)), NP32, seed=0)
    with pytest.raises(ValueError, match=r"0.W: expected shape \(2, 4\) and dtype float32, got \(4, 2\)"):
        net.set_param("0.W", np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="0.W: expected .*dtype float32, got .*float64"):
        net.set_param("0.W", np.zeros((2, 4)))


def test_unknown_parameter_name():
    """An unknown name is a failed look-up: KeyError (a LookupError) naming `name` and listing the names."""
    net = MLP(MLPSpec((2, 4, 1)), NP32, seed=0)
    with pytest.raises(KeyError, match=r"name: no param called '7.W'; have \['0.W', '0.b', '2.W', '2.b'\]"):
        net.set_param("7.W", np.zeros((2, 4), np.float32))
    with pytest.raises(KeyError, match="name: no buffer called '0.running_mean'"):
        net.set_buffer("0.running_mean", np.zeros(4, np.float32))


def test_batchnorm_training_batch_of_one():
    bn = BatchNorm(3, NP32)
    with pytest.raises(ValueError, match="x: BatchNorm in training needs a batch of at least 2, got 1"):
        bn.forward(np.ones((1, 3), np.float32), train=True)


def test_spec_is_not_an_mlpspec():
    with pytest.raises(TypeError, match="spec: expected an MLPSpec, got dict"):
        MLP({"sizes": (2, 1)}, NP32)


# -- a layer called on its own (its public forward checks; an MLP checks its input once) -------------------
LAYERS = {
    "linear": lambda b: Linear(2, 3, b, b.random(0)),
    "maxout": lambda b: Maxout(2, 3, 2, b, b.random(0)),
    "batchnorm": lambda b: BatchNorm(2, b),
    "relu": lambda b: make_activation("relu", b),
    "tanh": lambda b: make_activation("tanh", b),
    "dropout": lambda b: Dropout(0.5, b, b.random(0)),
}


@pytest.mark.parametrize("kind", list(LAYERS))
def test_layer_input_that_is_not_an_array(kind):
    with pytest.raises(
        TypeError,
        match=r"x: expected an array of shape \(N, (2|features)\) on the layer's backend "
        r"\(numpy\), got list",
    ):
        LAYERS[kind](NP32).forward([[1.0, 2.0]])


@pytest.mark.parametrize("kind", list(LAYERS))
def test_layer_input_of_another_dtype_is_refused_not_upcast(backend, kind):
    """int32 (and float64, where the device has it) into a float32 layer: a TypeError, where numpy
    would silently compute in float64."""
    layer = LAYERS[kind](backend)
    with pytest.raises(TypeError, match="x: expected dtype float32 \\(the layer's\\), got int32"):
        layer.forward(backend.asarray(np.ones((3, 2), np.int32)))
    if backend.spec != "strict:no_float64":
        with pytest.raises(TypeError, match="x: expected dtype float32 \\(the layer's\\), got float64"):
            layer.forward(backend.asarray(np.ones((3, 2)), dtype=backend.xp.float64))


def test_layer_input_of_another_backend():
    strict = get_backend("strict")
    with pytest.raises(
        TypeError, match=r"x: expected an array .* on the layer's backend \(array_api_strict\), got ndarray"
    ):
        Linear(2, 3, strict, strict.random(0)).forward(np.ones((3, 2), np.float32))


@pytest.mark.parametrize("kind", ["linear", "maxout", "batchnorm"])
def test_layer_input_of_the_wrong_width(backend, kind):
    """Not numpy's matmul error: the layer's own width, named."""
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\) with N >= 1, got \(4, 3\)"):
        LAYERS[kind](backend).forward(backend.zeros((4, 3)))


def test_activation_input_that_is_not_2d():
    with pytest.raises(ValueError, match=r"x: expected shape \(N, features\) with N >= 1, got \(3,\)"):
        make_activation("relu", NP32).forward(np.ones(3, np.float32))


def test_mlp_backward_with_the_cache_of_another_network(backend):
    """G and D of the README, both 2 -> 8 -> 2 or 1: D's cache has G's length and G's first input
    shape, and used to give G gradients computed from D's activations."""
    G = MLP(MLPSpec((2, 8, 2)), backend, seed=0)
    D = MLP(MLPSpec((2, 8, 1)), backend, seed=1)
    z = backend.random(2).normal((4, 2))
    _, g_cache = G.forward(z)
    _, d_cache = D.forward(z)
    dout = backend.zeros((4, 2))
    with pytest.raises(
        ValueError, match="cache: expected the cache of this network's forward, got one of another network"
    ):
        G.backward(dout, d_cache)
    with pytest.raises(ValueError, match="cache: expected the cache of this network's forward, got list"):
        G.backward(dout, list(g_cache))
    with pytest.raises(ValueError, match=r"dout: expected shape \(N, 2\) with N >= 1, got \(4, 1\)"):
        G.backward(backend.zeros((4, 1)), g_cache)
    with pytest.raises(ValueError, match=r"dout: expected 4 rows \(the forward's batch\), got 3"):
        G.backward(backend.zeros((3, 2)), g_cache)
    G.backward(dout, g_cache, release=True)
    with pytest.raises(ValueError, match="cache: already used by a backward with release=True"):
        G.backward(dout, g_cache)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_set_param_that_is_not_finite(backend, bad):
    net = MLP(MLPSpec((2, 4, 1)), backend, seed=0)
    before = backend.to_numpy(net.params()["0.W"]).copy()
    value = backend.asarray(np.where(np.eye(2, 4) > 0, bad, 0.0).astype(np.float32))
    with pytest.raises(ValueError, match="0.W: contains NaN or inf; expected finite values"):
        net.set_param("0.W", value)
    np.testing.assert_array_equal(backend.to_numpy(net.params()["0.W"]), before)  # unchanged
    with pytest.raises(TypeError, match=r"0.W: expected an array of shape \(2, 4\), got list"):
        net.set_param("0.W", [[0.0] * 4] * 2)


# -- optimizers ---------------------------------------------------------------------------------------------
def _params_and_grads(backend):
    params = {"0.W": backend.zeros((2, 3)), "0.b": backend.zeros((3,))}
    return params, {k: backend.ones(tuple(v.shape)) for k, v in params.items()}


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_optimizer_step_without_a_gradient_for_a_parameter(backend, name):
    """Not silently skipped: a parameter left out of grads would never train."""
    from minigan.optim import make_optimizer

    params, grads = _params_and_grads(backend)
    del grads["0.b"]
    opt = make_optimizer(name, 0.1)
    with pytest.raises(
        ValueError, match=r"grads: expected a gradient for every parameter, none for \['0.b'\]"
    ):
        opt.step(params, grads)
    assert opt.t == 0 and float(backend.xp.sum(params["0.W"] * params["0.W"])) == 0.0  # nothing moved


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_optimizer_step_with_a_gradient_of_the_wrong_shape_or_dtype(backend, name):
    from minigan.optim import make_optimizer

    params, grads = _params_and_grads(backend)
    grads["0.W"] = backend.ones((3, 3))
    with pytest.raises(
        ValueError,
        match=r"grads\['0.W'\]: expected shape \(2, 3\) and dtype .*float32 \(the "
        r"parameter's\), got \(3, 3\)",
    ):
        make_optimizer(name, 0.1).step(params, grads)
    params, grads = _params_and_grads(backend)
    grads["0.b"] = [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match=r"grads\['0.b'\]: expected an array, got list"):
        make_optimizer(name, 0.1).step(params, grads)
    if backend.spec != "strict:no_float64":
        params, grads = _params_and_grads(backend)
        grads["0.b"] = backend.ones((3,), dtype="float64")
        with pytest.raises(
            ValueError, match=r"grads\['0.b'\]: expected .* dtype .*float32 .* got \(3,\) and .*float64"
        ):
            make_optimizer(name, 0.1).step(params, grads)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(betas=(0.5,)), r"betas: expected two numbers \(β1, β2\) in \[0, 1\), got \(0.5,\)"),
        (dict(betas=0.9), r"betas: expected two numbers .* got 0.9"),
        (dict(betas=(0.5, 0.9, 0.99)), r"betas: expected two numbers"),
        (dict(betas=(1.0, 0.999)), r"betas\[0\]: expected a number in \[0, 1\), got 1.0"),
        (dict(betas=(0.5, -0.1)), r"betas\[1\]: expected a number in \[0, 1\), got -0.1"),
        (dict(betas=(math.nan, 0.9)), r"betas\[0\]: expected a number in \[0, 1\), got nan"),
        (dict(betas=("0.5", 0.9)), r"betas\[0\]: expected a number in \[0, 1\), got '0.5'"),
        (dict(eps=math.nan), r"eps: expected a positive finite number, got nan"),
        (dict(eps=-1e-8), r"eps: expected a positive finite number, got -1e-08"),
    ],
)
def test_adam_hyper_parameters(kw, match):
    from minigan.optim import Adam

    with pytest.raises(ValueError, match=match):
        Adam(1e-3, **kw)


def test_rmsprop_and_sgd_hyper_parameters():
    from minigan.optim import SGD, RMSProp

    with pytest.raises(ValueError, match="eps: expected a positive finite number, got 0"):
        RMSProp(1e-3, eps=0)
    with pytest.raises(ValueError, match=r"alpha: expected a number in \[0, 1\), got 1"):
        RMSProp(1e-3, alpha=1)
    with pytest.raises(ValueError, match=r"momentum: expected a number in \[0, 1\), got nan"):
        SGD(0.1, momentum=math.nan)


# -- the GAN and its metrics --------------------------------------------------------------------------------
def test_gan_sample_and_train_counts():
    from minigan.training import GAN, TrainConfig

    gan = GAN(TrainConfig(steps=1, g_hidden=(8,), d_hidden=(8,), batch_size=8))
    for n in (-1, 0, 2.5, True, "10"):
        with pytest.raises(ValueError, match=f"n: expected a positive integer number of samples, got {n!r}"):
            gan.sample(n)
    for steps in (-5, 1.5, False):
        with pytest.raises(
            ValueError, match=f"steps: expected a non-negative integer number of steps, got {steps!r}"
        ):
            gan.train(steps)
    with pytest.raises(TypeError, match="callback: expected a function of the GAN or None, got int"):
        gan.train(1, callback=3)
    assert gan.step == 0 and gan.history == []  # nothing ran
    assert gan.train(0).step == 0


@pytest.mark.parametrize(
    "m,got", [({}, r"keys \[\]"), ({"n": 10, "step": 3}, r"keys \['n', 'step'\]"), (None, "NoneType")]
)
def test_format_metrics_of_something_else(m, got):
    from minigan.metrics import format_metrics

    with pytest.raises(
        ValueError,
        match=r"m: expected the metrics of evaluate\(\) \(with modes_covered, js or "
        r"sliced_w1\), got " + got,
    ):
        format_metrics(m)


# -- loss inputs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_inf_logits(backend, bad):
    good = backend.zeros((3, 1))
    worse = backend.asarray(np.array([[0.0], [bad], [1.0]], np.float32))
    with pytest.raises(ValueError, match="l_fake: contains NaN or inf"):
        L.discriminator_loss(good, worse)
    with pytest.raises(ValueError, match="l_real: contains NaN or inf"):
        L.value_function(worse, good)
    for g in L.GENERATOR_LOSSES.values():
        with pytest.raises(ValueError, match="l_fake: contains NaN or inf"):
            g(worse)


@pytest.mark.parametrize("name", list(L.DISCRIMINATOR_LOSSES))
def test_logits_of_the_wrong_shape(backend, name):
    fn = L.DISCRIMINATOR_LOSSES[name]
    ok = backend.zeros((4, 1))
    with pytest.raises(
        ValueError, match=r"l_real: expected logits of shape \(m,\) or \(m, 1\) with m >= 1, got \(4, 2\)"
    ):
        fn(backend.zeros((4, 2)), ok)
    with pytest.raises(ValueError, match=r"l_fake: expected logits of shape .* got \(0,\)"):
        fn(ok, backend.zeros((0,)))
    with pytest.raises(ValueError, match=r"l_fake: .* got \(2, 1, 1\)"):
        fn(ok, backend.zeros((2, 1, 1)))


def test_integer_logits(backend):
    ints = backend.asarray(np.ones((3,), dtype=np.int32))
    with pytest.raises(TypeError, match="l_fake: expected a real floating dtype, got .*int32"):
        L.generator_nonsaturating_loss(ints)
    with pytest.raises(TypeError, match="l_real: expected a real floating dtype"):
        L.discriminator_loss(ints, backend.zeros((3,)))


def test_logits_of_mixed_dtypes():
    with pytest.raises(TypeError, match="l_fake: expected the dtype of l_real \\(float32\\), got float64"):
        L.total_loss(np.zeros(3, np.float32), np.zeros(3))


def test_logits_that_are_not_arrays():
    with pytest.raises(TypeError, match="l_fake: expected an array of logits, got list"):
        L.generator_minimax_loss([0.0, 1.0])


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.5])
def test_label_smoothing_target_out_of_range(alpha):
    with pytest.raises(ValueError, match="real_target: expected 0 < real_target <= 1"):
        L.discriminator_loss(np.zeros(2, np.float32), np.zeros(2, np.float32), real_target=alpha)


# -- names ------------------------------------------------------------------------------------------------
def test_unknown_names():
    with pytest.raises(
        ValueError, match=r"backend: expected one of \('numpy', 'cupy', 'strict'\), got 'jax'"
    ):
        get_backend("jax")
    with pytest.raises(
        ValueError,
        match=r"activation: expected one of \('relu', 'leaky_relu', 'tanh', 'sigmoid'\), got 'gelu'",
    ):
        make_activation("gelu", NP32)
    with pytest.raises(ValueError, match="activation: .* got 'swish'"):
        MLPSpec((2, 3, 1), activation="swish")
    with pytest.raises(ValueError, match=r"output: expected one of \(None, 'tanh', 'sigmoid'\), got 'relu'"):
        MLPSpec((2, 3, 1), output="relu")
    with pytest.raises(ValueError, match="init: expected one of .* got 'lecun'"):
        MLPSpec((2, 3, 1), init="lecun")
    with pytest.raises(ValueError, match="init: expected one of .* got 'orthogonal'"):
        init_weight(NP32, NP32.random(0), 2, 2, "orthogonal")
    with pytest.raises(ValueError, match="g_loss: expected one of .* got 'softmax'"):
        L.get_generator_loss("softmax")
    with pytest.raises(ValueError, match="d_loss: expected one of .* got 'wgan-gp'"):
        L.get_discriminator_loss("wgan-gp")


# -- sizes and hyper-parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sizes,match",
    [
        ((2, 0, 1), r"sizes\[1\]: expected a positive integer width, got 0"),
        ((2, 4, -1), r"sizes\[2\]: expected a positive integer width, got -1"),
        ((2.0, 4, 1), r"sizes\[0\]: expected a positive integer width, got 2.0"),
        ((True, 4, 1), r"sizes\[0\]: expected a positive integer width, got True"),
        ((2,), r"sizes: expected at least \(in, out\), got \(2,\)"),
    ],
)
def test_bad_sizes(sizes, match):
    with pytest.raises(ValueError, match=match):
        MLPSpec(sizes)


def test_non_positive_layer_sizes():
    r = NP32.random(0)
    with pytest.raises(ValueError, match="in_features: expected a positive integer, got 0"):
        Linear(0, 3, NP32, r)
    with pytest.raises(ValueError, match="out_features: expected a positive integer, got -2"):
        Linear(3, -2, NP32, r)
    with pytest.raises(ValueError, match="pieces: expected a positive integer, got 0"):
        Maxout(3, 2, 0, NP32, r)
    with pytest.raises(ValueError, match="units: expected a positive integer, got 0"):
        Maxout(3, 0, 2, NP32, r)
    with pytest.raises(ValueError, match="features: expected a positive integer, got 0"):
        BatchNorm(0, NP32)
    with pytest.raises(ValueError, match="maxout_pieces: expected None or a positive integer, got 0"):
        MLPSpec((2, 3, 1), maxout_pieces=0)


def test_probabilities_and_slopes_out_of_range():
    with pytest.raises(ValueError, match="p: expected a dropout probability 0 <= p < 1, got 1.0"):
        Dropout(1.0, NP32, NP32.random(0))
    with pytest.raises(ValueError, match="dropout: expected 0 <= dropout < 1, got -0.1"):
        MLPSpec((2, 3, 1), dropout=-0.1)
    with pytest.raises(ValueError, match="slope: expected 0 <= slope < 1, got -0.2"):
        LeakyReLU(NP32, -0.2)


# -- the gradient checker's own arguments -------------------------------------------------------------------
def test_gradcheck_bad_arguments():
    from minigan import gradcheck as gc

    with pytest.raises(ValueError, match=r"b: expected the shape of a \(2,\), got \(3,\)"):
        gc.rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="h: expected a positive step, got 0"):
        gc.numerical_gradient(lambda v: 0.0, np.zeros(2), h=0)
    with pytest.raises(ValueError, match="depth: expected a positive integer, got 0"):
        gc.run_all("numpy", depth=0)
    with pytest.raises(ValueError, match=r"logits: expected \(l_real, l_fake\) or \(l_fake,\), got 3 arrays"):
        gc.check_loss(L.total_loss, np.zeros(2), np.zeros(2), np.zeros(2))
    with pytest.raises(TypeError, match="backend: expected a Backend, got str"):
        gc.require_float64("numpy")


def test_numpy_integers_are_integers_and_bools_are_not():
    """Every integer setting takes NumPy's integers as it takes Python's (one rule, minigan._checks),
    and refuses a bool."""
    from minigan import metrics, theory
    from minigan.data import make_dataset

    i = np.int64
    ring = make_dataset("ring", NP32, NP32.random(0), modes=i(4))
    assert ring.sample(i(3)).shape == (3, 2) and ring.reference(i(2)).shape == (2, 2)
    assert MLP(MLPSpec((i(2), i(3), 1), maxout_pieces=i(2)), NP32).spec.sizes == (2, 3, 1)
    assert Linear(i(2), i(3), NP32, NP32.random(0)).forward(np.ones((1, 2), np.float32))[0].shape == (1, 3)
    a, b = np.random.default_rng(0).normal(size=(2, 30))
    assert metrics.js_divergence_1d(a, b, bins=i(5)) >= 0.0
    assert metrics.sliced_wasserstein1(a[:, None], b[:, None], projections=i(3)) >= 0.0
    assert theory.common_grid(theory.Normal(0.0, 1.0), n=i(5)).shape == (5,)
    with pytest.raises(ValueError, match=r"^bins: expected a positive integer, got True"):
        metrics.js_divergence_1d(a, b, bins=True)
    with pytest.raises(ValueError, match=r"^m: expected a positive number of samples, got False"):
        ring.sample(False)
