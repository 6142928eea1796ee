"""The fused CuPy kernels (minigan.fused) compute what the generic code computes.

On a CPU the kernel *bodies* run with NumPy (fused.run_source): the same text the GPU compiles,
against the generic Array API code, in float32 and float64. On a GPU the kernels themselves
run, with MINIGAN_FUSED=1, against the generic code on the same CuPy arrays.
"""

import numpy as np
import pytest

from minigan import fused, losses
from minigan.backend import BackendUnavailable, get_backend
from minigan.optim import Adam

EXTREME = [-1e4, -88.0, -20.0, -1.0, -1e-8, -0.0, 0.0, 1e-8, 1.0, 20.0, 88.0, 1e4]


def _logits(dtype, n=200, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0, 5, n), EXTREME]).astype(dtype)


def _adam_inputs(dtype, n=300, seed=1):
    rng = np.random.default_rng(seed)
    g = (rng.normal(0, 1e-2, n)).astype(dtype)
    m = (rng.normal(0, 1e-3, n)).astype(dtype)
    v = np.abs(rng.normal(0, 1e-4, n)).astype(dtype)
    return g, m, v


def _generic_adam(g, m, v, t=7):
    opt = Adam(lr=1e-3, betas=(0.5, 0.999))
    opt.t = t
    g, m, v = g.copy(), m.copy(), v.copy()
    delta = opt.direction(g, {"m": m, "v": v})
    sc2 = np.sqrt(1.0 - opt.b2**t)
    return delta, m, v, (opt.b1, opt.b2, opt.eps * sc2, opt.lr * sc2 / (1.0 - opt.b1**t))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_softplus_sigmoid_kernel_body_is_the_generic_formula(dtype):
    """The kernel's text, run with NumPy, gives the generic softplus_sigmoid bit for bit (the
    same operations), also at ±1e4 and ±0; and 0 (not NaN) at l = −∞."""
    l = _logits(dtype)
    out = fused.run_source(fused.SOFTPLUS_SIGMOID_SOURCE, l=l)
    sp, sg = losses.softplus_sigmoid(l)
    assert out["sp"].dtype == dtype and out["sg"].dtype == dtype
    np.testing.assert_array_equal(out["sp"], sp)
    np.testing.assert_array_equal(out["sg"], sg)
    inf = fused.run_source(fused.SOFTPLUS_SIGMOID_SOURCE, l=np.array([-np.inf, np.inf], dtype=dtype))
    assert inf["sp"].tolist() == [0.0, np.inf] and inf["sg"].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_adam_kernel_body_is_the_generic_update(dtype):
    """The kernel's text, run with NumPy, gives Adam.direction's moments and move (the same
    operations in the same order: equal, not just close)."""
    g, m, v = _adam_inputs(dtype)
    delta, m1, v1, (b1, b2, eps_c, scale) = _generic_adam(g, m, v)
    t = np.dtype(dtype).type
    out = fused.run_source(fused.ADAM_SOURCE, g=g.copy(), m=m.copy(), v=v.copy(),
                           b1=t(b1), b2=t(b2), eps_c=t(eps_c), scale=t(scale))
    for name, want in (("m", m1), ("v", v1), ("g", delta)):
        assert out[name].dtype == dtype
        np.testing.assert_array_equal(out[name], want, err_msg=name)


def test_fused_is_off_unless_asked_and_on_a_gpu(monkeypatch):
    x = np.zeros(3, dtype=np.float32)
    monkeypatch.delenv("MINIGAN_FUSED", raising=False)
    assert not fused.enabled(x)
    monkeypatch.setenv("MINIGAN_FUSED", "1")
    assert not fused.enabled(x)  # a NumPy array: never


def _cupy():
    try:
        return get_backend("cupy").xp
    except BackendUnavailable as e:
        pytest.skip(f"cupy: {e}")


def test_cupy_fused_kernels_match_the_generic_code(monkeypatch):
    """On a GPU: the compiled kernels against the generic code on the same CuPy arrays
    (float32; a few ulps apart at most, as the GPU may contract a·b + c into one FMA)."""
    cp = _cupy()
    l = cp.asarray(_logits(np.float32))
    monkeypatch.setenv("MINIGAN_FUSED", "0")
    sp0, sg0 = losses.softplus_sigmoid(l)
    monkeypatch.setenv("MINIGAN_FUSED", "1")
    assert fused.enabled(l)
    sp1, sg1 = losses.softplus_sigmoid(l)
    np.testing.assert_allclose(cp.asnumpy(sp1), cp.asnumpy(sp0), rtol=4e-7, atol=0)
    np.testing.assert_allclose(cp.asnumpy(sg1), cp.asnumpy(sg0), rtol=4e-7, atol=1e-30)

    g, m, v = (cp.asarray(a) for a in _adam_inputs(np.float32))
    outs = []
    for flag in ("0", "1"):
        monkeypatch.setenv("MINIGAN_FUSED", flag)
        opt = Adam(lr=1e-3, betas=(0.5, 0.999))
        opt.t = 7
        gg, mm, vv = g.copy(), m.copy(), v.copy()
        d = opt.direction(gg, {"m": mm, "v": vv})
        outs.append([cp.asnumpy(a) for a in (d, mm, vv)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=0)


def test_cupy_training_with_fused_kernels_follows_the_generic_run(monkeypatch):
    """On a GPU: 20 steps with MINIGAN_FUSED=1 stay within float32 noise of the generic run."""
    _cupy()
    from minigan.training import GAN, TrainConfig

    runs = []
    for flag in ("0", "1"):
        monkeypatch.setenv("MINIGAN_FUSED", flag)
        gan = GAN(TrainConfig(backend="cupy", steps=20, seed=3, log_every=10))
        gan.train()
        runs.append(gan.history_array())
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-3, atol=1e-5)
