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
    with pytest.raises(TypeError, match=r"x: expected an array of shape \(N, 2\), got list"):
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
    with pytest.raises(ValueError, match=r"l_real: expected logits of shape \(m,\) or \(m, 1\) with m >= 1, got \(4, 2\)"):
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
    with pytest.raises(ValueError, match=r"backend: expected one of \('numpy', 'cupy', 'strict'\), got 'jax'"):
        get_backend("jax")
    with pytest.raises(ValueError, match=r"activation: expected one of \('relu', 'leaky_relu', 'tanh', 'sigmoid'\), got 'gelu'"):
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
@pytest.mark.parametrize("sizes,match", [
    ((2, 0, 1), r"sizes\[1\]: expected a positive integer width, got 0"),
    ((2, 4, -1), r"sizes\[2\]: expected a positive integer width, got -1"),
    ((2.0, 4, 1), r"sizes\[0\]: expected a positive integer width, got 2.0"),
    ((True, 4, 1), r"sizes\[0\]: expected a positive integer width, got True"),
    ((2,), r"sizes: expected at least \(in, out\), got \(2,\)"),
])
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


# -- the gradient checker's own arguments ---------------------------------------------------------------------
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
