"""The engine room computes the plain formulas.

Every fast path of ``minigan.engine`` (NumpyOps, CupyOps) against the plain ``Ops`` on the same
arrays: bit for bit where the operations are the same, else within 1e-6 relative in float32 and
1e-12 in float64, on every backend (for strict, its ops are the plain ones). The CuPy kernels'
bodies run here with NumPy (``engine.run_source``); the compiled kernels run where a GPU is.
"""

import numpy as np
import pytest

from minigan import engine, losses
from minigan.app import bench
from minigan.backend import BackendUnavailable, get_backend
from minigan.engine import numpy_ops
from minigan.networks import MLP, MLPSpec
from minigan.optim import Adam, make_optimizer
from minigan.training import GAN, TrainConfig

TOL = {"float32": dict(rtol=1e-6, atol=1e-7), "float64": dict(rtol=1e-12, atol=1e-15)}
EXTREME = [-1e4, -88.0, -20.0, -1.0, -1e-8, -0.0, 0.0, 1e-8, 1.0, 20.0, 88.0, 1e4]


def _dt(backend):
    return "float64" if backend.float_dtype == backend.xp.float64 else "float32"


def _pair(backend):
    """(the backend's ops, the plain ops on the same namespace)."""
    return backend.ops, engine.Ops(backend.xp)


def _same(backend, a, b, exact):
    a, b = backend.to_numpy(a), backend.to_numpy(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, **TOL[_dt(backend)])


def test_each_backend_has_its_engine():
    assert type(get_backend("numpy").ops) is engine.NumpyOps
    assert type(get_backend("strict").ops) is engine.Ops
    b = get_backend("strict:device1")
    assert engine.ops_for(b.zeros((2,))) is b.ops
    assert type(engine.ops_for(np.zeros(2))) is engine.NumpyOps


@pytest.mark.parametrize("f64", [False, True])
def test_products_and_the_bias_gradient(backend, f64):
    if f64 and backend.spec == "strict:no_float64":
        pytest.skip("no float64 on this device")
    b = get_backend(backend.spec, dtype="float64") if f64 else backend
    fast, plain = _pair(b)
    rng = b.random(3)
    for a_shape, w_shape in [((7, 1), (1, 5)), ((1, 1), (1, 4)), ((6, 3), (3, 2)), ((40, 33), (33, 17))]:
        x, W, bias = rng.normal(a_shape), rng.normal(w_shape), rng.normal((w_shape[1],))
        # an outer product as a broadcast is one multiply per entry, as the product is: exact
        _same(b, fast.matmul(x, W), plain.matmul(x, W), exact=a_shape[1] == 1 or b.name != "numpy")
        _same(
            b, fast.affine(x, W, bias), plain.affine(x, W, bias), exact=a_shape[1] == 1 or b.name != "numpy"
        )
        d = rng.normal((a_shape[0], w_shape[1]))
        _same(b, fast.sum_rows(d), plain.sum_rows(d), exact=b.name != "numpy")  # GEMV: another order


@pytest.mark.parametrize("slope", [0.0, 0.2, 0.01])
def test_relu_gradients(backend, slope):
    fast, plain = _pair(backend)
    rng = backend.random(4)
    y = rng.normal((9, 6))
    y = backend.xp.where(y > 0.5, 0.0, y)  # zeros too: [0 > 0] = 0
    dout = rng.normal((9, 6))
    # ReLU: dout·1 and dout·0 are exact; a leaky slope's 1 = slope + (1 − slope) may round
    _same(backend, fast.relu_grad(dout, y, slope), plain.relu_grad(dout, y, slope), exact=slope == 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_softplus_sigmoid_kernel_body_is_the_plain_formula(dtype):
    """The CuPy kernel's text, run with NumPy, gives Ops.softplus_sigmoid bit for bit (the same
    operations), also at ±1e4 and ±0; and 0 (not NaN) at l = −∞."""
    rng = np.random.default_rng(0)
    l = np.concatenate([rng.normal(0, 5, 200), EXTREME]).astype(dtype)
    out = engine.run_source(engine.SOFTPLUS_SIGMOID_SOURCE, l=l)
    sp, sg = engine.Ops(np).softplus_sigmoid(l)
    assert out["sp"].dtype == dtype and out["sg"].dtype == dtype
    np.testing.assert_array_equal(out["sp"], sp)
    np.testing.assert_array_equal(out["sg"], sg)
    inf = engine.run_source(engine.SOFTPLUS_SIGMOID_SOURCE, l=np.array([-np.inf, np.inf], dtype=dtype))
    assert inf["sp"].tolist() == [0.0, np.inf] and inf["sg"].tolist() == [0.0, 1.0]


def _adam_inputs(dtype, n=300, seed=1):
    rng = np.random.default_rng(seed)
    g = rng.normal(0, 1e-2, n).astype(dtype)
    m = rng.normal(0, 1e-3, n).astype(dtype)
    v = np.abs(rng.normal(0, 1e-4, n)).astype(dtype)
    return g, m, v


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_in_place_and_its_kernel_body_are_adams_formula(dtype):
    """engine.adam_inplace and the CuPy kernel's text (run with NumPy) give Adam.direction's
    moments and move bit for bit: the same operations in the same order."""
    g, m, v = _adam_inputs(dtype)
    opt = Adam(lr=1e-3, betas=(0.5, 0.999))
    opt.t = 7
    state = {"m": m.copy(), "v": v.copy()}
    delta = opt.direction(g.copy(), state)
    g2, m2, v2 = g.copy(), m.copy(), v.copy()
    engine.adam_inplace(opt, g2, m2, v2)
    t = np.dtype(dtype).type
    names = ("b1", "omb1", "b2", "omb2", "c1", "c2", "lr", "eps")
    scalars = dict(zip(names, (t(c) for c in engine.adam_scalars(opt))))
    out = engine.run_source(engine.ADAM_SOURCE, g=g.copy(), m=m.copy(), v=v.copy(), **scalars)
    for got in ((g2, m2, v2), (out["g"], out["m"], out["v"])):
        for a, want, name in zip(got, (delta, state["m"], state["v"]), ("delta", "m", "v")):
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, want, err_msg=name)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
@pytest.mark.parametrize("block", [5, 1 << 16])
def test_the_flat_update_is_the_per_parameter_rule(monkeypatch, backend, name, block):
    """apply_updates of each backend's engine (NumPy: one flat vector, here in blocks of 5 that
    cut across parameters) against the plain per-parameter loop, over three steps: the same
    parameters, state and Σ g², in float32 and float64."""
    monkeypatch.setattr(numpy_ops, "BLOCK", block)  # where NumpyOps reads it
    both = (
        [backend]
        if backend.spec == "strict:no_float64"
        else [backend, get_backend(backend.spec, dtype="float64")]
    )
    for b in both:
        fast, plain = _pair(b)
        rng = b.random(5)
        p0 = {"0.W": rng.normal((3, 4)), "0.b": rng.normal((4,)), "1.W": rng.normal((4, 1))}
        grads = [{k: rng.normal(tuple(v.shape)) * 0.1 for k, v in p0.items()} for _ in range(3)]
        out = []
        for ops in (fast, plain):
            opt = make_optimizer(name, 0.01, momentum=0.9)
            opt.ops = ops
            p = {k: b.xp.asarray(v, copy=True) for k, v in p0.items()}
            for g in grads:
                opt.step(p, g)
            out.append((p, opt.state_dict(), opt.grad_sq))
        (p1, s1, q1), (p2, s2, q2) = out
        assert s1.keys() == s2.keys()
        for k in p1:
            _same(b, p1[k], p2[k], exact=False)
        for k in s1:
            if k != "t":
                _same(b, s1[k], s2[k], exact=False)
        _same(b, q1, q2, exact=False)


def _gan(ops, mode):
    """A float64 GAN on numpy whose nets and optimizers use ``ops``."""
    b = get_backend("numpy", dtype="float64")
    b.ops = ops
    rng = b.random(0)
    cfg = TrainConfig(
        dataset="ring",
        g_hidden=(16, 16),
        d_hidden=(16, 16),
        batch_size=32,
        mode=mode,
        dtype="float64",
        lr_decay=1.0,
        seed=0,
    )
    opts = [make_optimizer("adam", 1e-3), make_optimizer("adam", 1e-3)]
    for o in opts:
        o.ops = ops
    G = MLP(MLPSpec((2, 16, 16, 2), activation="leaky_relu"), b, rng=rng)
    D = MLP(MLPSpec((2, 16, 16, 1), maxout_pieces=3), b, rng=rng)
    return GAN(cfg, G=G, D=D, g_opt=opts[0], d_opt=opts[1])


@pytest.mark.parametrize("mode", ["fresh", "simultaneous"])
def test_training_with_the_fast_engine_follows_the_plain_formulas(mode):
    """Ten float64 training steps with NumpyOps and with the plain Ops: the same history and
    parameters to 1e-10 (the whole chain: products, masks, bias gradients, flat Adam)."""
    runs = [_gan(ops, mode).train(10) for ops in (engine.NumpyOps(), engine.Ops(np))]
    np.testing.assert_allclose(runs[0].history_array(), runs[1].history_array(), rtol=1e-10, atol=1e-12)
    for net in ("G", "D"):
        pa, pb = getattr(runs[0], net).params(), getattr(runs[1], net).params()
        for k in pa:
            np.testing.assert_allclose(pa[k], pb[k], rtol=1e-10, atol=1e-12, err_msg=f"{net} {k}")


def test_a_timing_engine_changes_nothing():
    """bench.TimedOps passes every value through: a GAN built with it trains to the same numbers."""
    cfg = bench.CONFIGS["tiny"]
    a = bench.make_gan(cfg, "numpy").train(3)
    t = bench.TimedOps(get_backend("numpy").ops, lambda: None)
    b = bench.make_gan(cfg, "numpy", ops=t).train(3)
    np.testing.assert_array_equal(a.history_array(), b.history_array())
    assert t.products > 0 and t.updates > 0


# -- the GPU ---------------------------------------------------------------------------------
def _cupy(fused):
    try:
        return get_backend("cupy", fused=fused)
    except BackendUnavailable as e:
        pytest.skip(f"cupy: {e}")


def test_cupy_fused_kernels_match_the_plain_formulas():
    """On a GPU: the compiled kernels against the plain formulas on the same CuPy arrays
    (float32; a few ulps apart at most, as the GPU may contract a·b + c into one FMA)."""
    b = _cupy(fused=True)
    cp, fused, plain = b.xp, b.ops, engine.Ops(b.xp)
    rng = np.random.default_rng(0)
    l = cp.asarray(np.concatenate([rng.normal(0, 5, 200), EXTREME]).astype(np.float32))
    for got, want in zip(fused.softplus_sigmoid(l), plain.softplus_sigmoid(l)):
        np.testing.assert_allclose(cp.asnumpy(got), cp.asnumpy(want), rtol=4e-7, atol=1e-30)
    g, m, v = (cp.asarray(a) for a in _adam_inputs(np.float32))
    opt = Adam(lr=1e-3, betas=(0.5, 0.999))
    opt.t = 7
    outs = []
    for adam in (fused._adam_fused, engine.adam_inplace):
        gg, mm, vv = g.copy(), m.copy(), v.copy()
        adam(opt, gg, mm, vv)
        outs.append([cp.asnumpy(a) for a in (gg, mm, vv)])
    for a, c in zip(*outs):
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=0)


def test_cupy_training_with_fused_kernels_follows_the_plain_run():
    """On a GPU: 20 steps with the fused kernels stay within float32 noise of the run without."""
    runs = []
    for fused in (False, True):
        b = _cupy(fused)
        gan = GAN(
            TrainConfig(backend="cupy", steps=20, seed=3, log_every=10),
            G=MLP(MLPSpec((2, 128, 128, 128, 2)), b, seed=1),
            D=MLP(MLPSpec((2, 128, 128, 1)), b, seed=2),
        )
        for o in (gan.g_opt, gan.d_opt):
            o.ops = b.ops
        gan.train()
        runs.append(gan.history_array())
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-3, atol=1e-5)


def test_losses_use_the_engine_of_their_arrays():
    """losses.softplus_sigmoid is the engine's formula on the logits' backend."""
    b = get_backend("strict:device1")
    l = b.asarray([-3.0, 0.0, 2.0], dtype=b.float_dtype)
    sp, sg = losses.softplus_sigmoid(l)
    assert sp.device == b.device
    np.testing.assert_allclose(b.to_numpy(sg), 1 / (1 + np.exp(-np.array([-3.0, 0.0, 2.0]))), rtol=1e-6)
    np.testing.assert_allclose(b.to_numpy(sp), np.log1p(np.exp([-3.0, 0.0, 2.0])), rtol=1e-6)


# -- reusing the arrays a network pass made (NumPy) --------------------------------------------
def test_in_a_pass_the_engine_overwrites_only_what_the_pass_made(monkeypatch):
    """Inside network_pass(), ReLU's forward works over a pre-activation the pass's own product
    made (large arrays: here every array, INPLACE_MIN = 1) and its backward over a gradient the
    pass made, with the plain formulas' values; an array from outside the pass, or any array
    after the pass, is never written."""
    monkeypatch.setattr(numpy_ops, "INPLACE_MIN", 1)
    ops, plain = engine.NumpyOps(), engine.Ops(np)
    rng = np.random.default_rng(0)
    x, W, b = (rng.standard_normal(s).astype(np.float32) for s in ((9, 4), (4, 70), (70,)))
    y0, d = plain.relu(plain.affine(x, W, b)), rng.standard_normal((9, 70)).astype(np.float32)
    with ops.network_pass():
        z = ops.affine(x, W, b)
        y = ops.relu(z)
        assert y is z  # over the pre-activation
        np.testing.assert_array_equal(y, y0)
        dz = ops.matmul(d, np.eye(70, dtype=np.float32))
        g = ops.relu_grad(dz, y)
        assert g is dz
        np.testing.assert_array_equal(g, plain.relu_grad(d, y0))
        mine = d.copy()
        assert ops.relu_grad(mine, y) is not mine and np.array_equal(mine, d)  # not the pass's: kept
        assert ops.relu(x) is not x
    z2 = ops.affine(x, W, b)  # outside any pass: a new array each time
    assert ops.relu(z2) is not z2
    with ops.network_pass():
        assert ops.relu(z) is not z  # made by an earlier pass: forgotten when it ended


def test_a_network_pass_never_changes_its_inputs_or_returned_arrays(monkeypatch, backend):
    """MLP.forward/backward (one pass each) leave x, dout, the output and the caches as the plain
    engine computes them, with in-place work on for every array size."""
    monkeypatch.setattr(numpy_ops, "INPLACE_MIN", 1)
    for act in ("relu", "leaky_relu"):
        net = MLP(MLPSpec((3, 8, 8, 2), activation=act), backend, seed=0)
        x, dout = backend.random(1).normal((5, 3)), backend.random(2).normal((5, 2))
        x0, d0 = backend.to_numpy(x).copy(), backend.to_numpy(dout).copy()
        out, cache = net.forward(x)
        dx, grads = net.backward(dout, cache)
        np.testing.assert_array_equal(backend.to_numpy(x), x0)
        np.testing.assert_array_equal(backend.to_numpy(dout), d0)
        b2 = get_backend(backend.spec)
        b2.ops = engine.Ops(backend.xp)
        ref = MLP(MLPSpec((3, 8, 8, 2), activation=act), b2, seed=0)
        out2, cache2 = ref.forward(x)
        dx2, grads2 = ref.backward(dout, cache2)
        _same(backend, out, out2, exact=act == "relu")
        _same(backend, dx, dx2, exact=False)
        for k in grads:
            _same(backend, grads[k], grads2[k], exact=False)


@pytest.mark.parametrize("pieces", [1, 2, 5, 130])
def test_maxout_max_winner_and_scatter(backend, pieces):
    """NumpyOps.maxout (a chain of maximum, the winner counted in int8; argmax beyond 127 pieces)
    and maxout_grad (a scatter) against the plain max/argmax/one-hot, exactly (the same values are
    picked): on random pieces and on ties, where the first winning piece takes the gradient, as
    argmax picks it; then a cache cut to rows 2..4 routes those rows' gradients alike."""
    fast, plain = _pair(backend)
    xp, rng = backend.xp, backend.random(5)
    z = rng.normal((7, 4, pieces))
    zn = backend.to_numpy(z).copy()
    zn[0, :, :] = 0.5  # every piece ties: piece 0 wins
    if pieces > 2:
        zn[1, 0, 1:] = 2.0  # pieces 1.. tie above piece 0: piece 1 wins
    z = backend.asarray(zn)
    (out_f, win_f), (out_p, win_p) = fast.maxout(z), plain.maxout(z)
    _same(backend, out_f, out_p, exact=True)
    np.testing.assert_array_equal(backend.to_numpy(out_p), zn.max(axis=-1))  # the max, by numpy
    dout = rng.normal((7, 4))
    g_f, g_p = fast.maxout_grad(dout, win_f, pieces), plain.maxout_grad(dout, win_p, pieces)
    _same(backend, g_f, g_p, exact=True)
    expect = np.zeros((7, 4, pieces), dtype=zn.dtype)  # by hand: dout at argmax (numpy's first winner)
    idx = zn.argmax(axis=-1)
    for n in range(7):
        for j in range(4):
            expect[n, j, idx[n, j]] = backend.to_numpy(dout)[n, j]
    np.testing.assert_array_equal(backend.to_numpy(g_p), expect.reshape(7, 4 * pieces))
    w = rng.normal((7, 4, pieces))
    _same(backend, fast.maxout_pick(w, win_f), plain.maxout_pick(w, win_p), exact=True)
    np.testing.assert_array_equal(
        backend.to_numpy(plain.maxout_pick(w, win_p)),
        np.take_along_axis(backend.to_numpy(w), idx[..., None], -1)[..., 0],
    )
    assert xp.isdtype(out_f.dtype, "real floating") and out_f.dtype == z.dtype
    if isinstance(fast, engine.NumpyOps):
        np.testing.assert_array_equal(np.asarray(win_f), idx)  # the winner is the piece's index
    g_rows = fast.maxout_grad(dout[2:5, :], win_f[2:5, :], pieces)  # another shape: its own unit starts
    _same(backend, g_rows, g_p[2:5, :], exact=True)


def test_numpy_flushes_subnormal_optimizer_state_every_flush_every_steps():
    """NumpyOps sets the optimizer state's subnormal numbers to 0 at every FLUSH_EVERY-th step and
    only then: a first moment stuck at the smallest subnormal (0.8 · 1 ulp rounds back to 1 ulp,
    checked here) is 0 after that step; normal numbers are untouched; the plain ops never flush."""
    ulp = np.float32(np.finfo(np.float32).smallest_subnormal)
    assert np.float32(0.8) * ulp == ulp  # why it sticks: the decay rounds back to where it was
    tiny = np.finfo(np.float32).tiny
    for ops, flushes in ((engine.NumpyOps(), True), (engine.Ops(np), False)):
        opt = make_optimizer("adam", 1e-3, betas=(0.8, 0.999))
        opt.ops = ops
        p = {"W": np.ones((4, 3), dtype=np.float32)}
        zero = {"W": np.zeros((4, 3), dtype=np.float32)}
        opt.step(p, zero)
        m = opt.slots["m"]["W"]
        m[0, 0], m[0, 1], m[0, 2] = ulp, -3 * ulp, 2 * tiny  # two subnormal, one normal
        opt.t = engine.FLUSH_EVERY - 2
        opt.step(p, zero)  # step FLUSH_EVERY - 1: no flush
        assert opt.slots["m"]["W"][0, 0] == ulp
        opt.step(p, zero)  # step FLUSH_EVERY
        m = opt.slots["m"]["W"]
        if flushes:
            decayed = np.float32(0.8) * (
                np.float32(0.8) * np.float32(2 * tiny)
            )  # two steps of β1·m, still normal
            assert (m[0, 0], m[0, 1]) == (0.0, 0.0) and m[0, 2] == decayed
        else:
            assert m[0, 0] == ulp and m[0, 1] == -2 * ulp  # -3 → -2.4 → -2 ulp, then 0.8·2 rounds back to 2
