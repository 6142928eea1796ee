"""Optimizers against hand-computed updates (and torch.optim when torch is installed)."""

import math

import numpy as np
import pytest

from minigan import optim

P0 = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])
GRADS = [np.array([[1.0, -2.0, 0.5], [0.1, 0.0, -3.0]]) * s for s in (1.0, -0.5, 2.0, 0.25)]


def _run(backend, opt, steps=None):
    """Apply ``opt`` to P0 with GRADS[:steps] (None: all) on ``backend``; the trajectory as NumPy arrays."""
    p = backend.asarray(P0.copy(), dtype=backend.float_dtype)  # numpy: asarray would alias P0
    params = {"0.W": p}
    out = []
    for g in GRADS[:steps]:
        opt.step(params, {"0.W": backend.asarray(g, dtype=backend.float_dtype)})
        assert params["0.W"] is p  # updated in place: the network's live array
        out.append(backend.to_numpy(p).copy())
    return out


def test_sgd_momentum_by_hand(backend64):
    lr, mu = 0.1, 0.5
    got = _run(backend64, optim.SGD(lr, momentum=mu), 3)
    g1, g2, g3 = GRADS[:3]
    # heavy ball: v ← μv − lr·g;  p ← p + v   (v0 = 0)
    v1 = -lr * g1
    v2 = mu * v1 - lr * g2
    v3 = mu * v2 - lr * g3
    want = [P0 + v1, P0 + v1 + v2, P0 + v1 + v2 + v3]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_plain_sgd_by_hand(backend64):
    got = _run(backend64, optim.SGD(0.2, momentum=0.0), 2)
    np.testing.assert_allclose(got[1], P0 - 0.2 * GRADS[0] - 0.2 * GRADS[1], rtol=1e-14)


def test_adam_first_step_is_lr_times_sign(backend64):
    # t = 1: m̂ = g, v̂ = g², so Δp = −lr·g/(|g| + eps) = −lr·sign(g) (Kingma & Ba 2015, Sec. 2.1)
    got = _run(backend64, optim.Adam(0.01, betas=(0.8, 0.999), eps=1e-8), 1)[0]
    g = GRADS[0]
    want = P0 - 0.01 * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    assert got[1, 1] == P0[1, 1]  # zero gradient: no move


def test_adam_steps_by_formula(backend64):
    lr, b1, b2, eps = 0.01, 0.5, 0.999, 1e-8
    got = _run(backend64, optim.Adam(lr, betas=(b1, b2), eps=eps))
    p, m, v = P0.copy(), np.zeros_like(P0), np.zeros_like(P0)
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(got[t - 1], p, rtol=1e-13, atol=1e-15)


def test_rmsprop_by_formula(backend64):
    lr, a, eps = 0.01, 0.9, 1e-8
    got = _run(backend64, optim.RMSProp(lr, alpha=a, eps=eps))
    p, s = P0.copy(), np.zeros_like(P0)
    for t, g in enumerate(GRADS):
        s = a * s + (1 - a) * g * g
        p = p - lr * g / (np.sqrt(s) + eps)
        np.testing.assert_allclose(got[t], p, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("sgd", dict(momentum=0.7), dict(momentum=0.7)),
        ("adam", dict(betas=(0.8, 0.99), eps=1e-7), dict(betas=(0.8, 0.99), eps=1e-7)),
        ("rmsprop", dict(alpha=0.95, eps=1e-7), dict(alpha=0.95, eps=1e-7)),
    ],
)
def test_against_torch_optim(name, ours, theirs):
    torch = pytest.importorskip("torch")
    from minigan.backend import get_backend

    lr = 0.05
    got = _run(get_backend("numpy", dtype="float64"), optim.make_optimizer(name, lr, **ours))
    w = torch.tensor(P0, dtype=torch.float64, requires_grad=True)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}[name]
    opt = cls([w], lr=lr, **theirs)
    for t, g in enumerate(GRADS):
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        np.testing.assert_allclose(got[t], w.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_state_dict_round_trip_continues_identically(backend, name):
    a = optim.make_optimizer(name, 0.01)
    ref = _run(backend, a)  # 4 uninterrupted steps
    b = optim.make_optimizer(name, 0.01)
    p = backend.asarray(P0.copy(), dtype=backend.float_dtype)  # numpy: asarray would alias P0
    params = {"0.W": p}
    for g in GRADS[:2]:
        b.step(params, {"0.W": backend.asarray(g, dtype=backend.float_dtype)})
    state = {k: (backend.to_numpy(v) if k != "t" else v) for k, v in b.state_dict().items()}
    c = optim.from_config(b.config())
    c.load_state_dict(state, backend)
    assert c.t == 2 and type(c) is type(b)
    for g in GRADS[2:]:
        c.step(params, {"0.W": backend.asarray(g, dtype=backend.float_dtype)})
    np.testing.assert_array_equal(backend.to_numpy(p), ref[-1])


@pytest.mark.parametrize("lr", [0, -1e-3, float("nan"), float("inf"), True, "0.1"])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="lr"):
        optim.make_optimizer("adam", lr)


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(0.1, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="eps"):
        optim.Adam(0.1, eps=0.0)
    with pytest.raises(ValueError, match="alpha"):
        optim.RMSProp(0.1, alpha=-0.1)
    with pytest.raises(ValueError, match="optimizer"):
        optim.make_optimizer("lbfgs", 0.1)


def test_gradient_for_an_unknown_parameter():
    with pytest.raises(KeyError, match="1.W"):
        optim.SGD(0.1).step({"0.W": P0.copy()}, {"1.W": P0})


def test_config_round_trip():
    for opt in (optim.SGD(0.3, 0.6), optim.Adam(1e-4, (0.8, 0.999), 1e-7), optim.RMSProp(5e-5, 0.9)):
        again = optim.from_config(opt.config())
        assert again.config() == opt.config() and math.isfinite(again.lr)


@pytest.mark.parametrize(
    "make",
    [lambda: optim.SGD(0.1, momentum=0.5), lambda: optim.Adam(0.01), lambda: optim.RMSProp(0.01)],
    ids=["sgd", "adam", "rmsprop"],
)
def test_moves_are_the_steps_moves_bit_for_bit(backend, make):
    """``moves(g)`` = −δ, the move ``step`` makes (docs/MATH.md §16.2), with the state advanced as by a step
    and no parameter moved: a twin that steps agrees to the bit, move after move."""
    a, b = make(), make()
    p = backend.asarray(P0.copy(), dtype=backend.float_dtype)
    q = backend.asarray(P0.copy(), dtype=backend.float_dtype)
    for g in GRADS:
        grads = {"0.W": backend.asarray(g, dtype=backend.float_dtype)}
        u = a.moves(grads)
        b.step({"0.W": q}, grads)
        p = p + u["0.W"]
        np.testing.assert_array_equal(backend.to_numpy(p), backend.to_numpy(q))
        assert a.t == b.t and float(a.grad_sq) == float(b.grad_sq)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(np.asarray(backend.to_numpy(sa[k]) if k != "t" else sa[k]),
                                      np.asarray(backend.to_numpy(sb[k]) if k != "t" else sb[k]))  # fmt: skip
