"""Gradient penalties and the hand-written double backward (docs/MATH.md §12): against finite
differences (property tests, float64), against closed forms, on every backend, and in training."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigan import gradcheck as gc
from minigan import penalties as P
from minigan.backend import get_backend
from minigan.config import TrainConfig
from minigan.networks import MLP, MLPSpec
from minigan.training import GAN

B64 = get_backend("numpy", dtype="float64")
SPECS = {
    "linear": lambda h: MLPSpec((2, 1)),
    "relu": lambda h: MLPSpec((2, *h, 1), "relu"),
    "leaky_relu": lambda h: MLPSpec((2, *h, 1), "leaky_relu"),
    "tanh": lambda h: MLPSpec((2, *h, 1), "tanh"),
    "sigmoid": lambda h: MLPSpec((2, *h, 1), "sigmoid"),
    "maxout": lambda h: MLPSpec((2, *h, 1), maxout_pieces=3),
    "dropout": lambda h: MLPSpec((2, *h, 1), "tanh", dropout=0.3),
}


# -- the property: the analytic gradients are the derivatives of the value ------------------------------
@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(P.PENALTIES),
    d=st.sampled_from(sorted(SPECS)),
    seed=st.integers(0, 10_000),
    n=st.integers(1, 5),
    hidden=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    weight=st.floats(0.1, 20.0),
)
def test_penalty_gradients_match_finite_differences(kind, d, seed, n, hidden, weight):
    """For every penalty and every penalizable layer: ∂P/∂θ_D, ∂P/∂x_real, ∂P/∂x_fake within 1e-6 of
    centred differences in float64 (draws near a ReLU/maxout kink, or where the differences' own error
    exceeds 1e-6, e.g. a tiny penalty, are rejected, not passed)."""
    D = gc.generic_point(MLP(SPECS[d](tuple(hidden)), B64, seed=seed), seed)
    g = np.random.default_rng(seed)
    xr, xf = (B64.asarray(g.standard_normal((n, 2)), dtype=B64.float_dtype) for _ in range(2))
    eps = B64.asarray(g.uniform(size=(n, 1)), dtype=B64.float_dtype)
    assume(gc.kink_margin(D, P.penalized_points(kind, xr, xf, eps)) > gc.KINK_MARGIN)
    try:
        errors = gc.check_penalty(kind, weight, D, xr, xf, eps)
    except gc.KinkCrossed:
        assume(False)
    assume(errors.worst_accuracy() <= 1e-6)  # differences that cannot resolve 1e-6 decide nothing
    assert max(errors.values()) <= 1e-6, errors


def test_the_check_fails_on_a_wrong_double_backward(monkeypatch):
    """Dropping tanh's ∂/∂x term (the one a first-order reading misses) is caught, and named."""
    D = gc.generic_point(MLP(MLPSpec((2, 4, 1), "tanh"), B64, seed=0), 0)
    xr = B64.asarray(np.random.default_rng(0).standard_normal((3, 2)), dtype=B64.float_dtype)
    assert max(gc.check_penalty("r1", 10.0, D, xr, xr).values()) < 1e-8
    wrong = lambda layer, dout, cache, v: P.tanh_double_backward(layer, dout, cache, v)[:1] + (None, {})
    monkeypatch.setitem(P.DOUBLE_BACKWARD, P.Tanh, wrong)
    errors = gc.check_penalty("r1", 10.0, D, xr, xr)
    assert errors["0.W"] > 1e-3 and errors["x_real"] > 1e-3


# -- closed forms ------------------------------------------------------------------------------------
def _linear_D(w, b=0.3):
    D = MLP(MLPSpec((len(w), 1)), B64)
    D.set_param("0.W", B64.asarray(np.array(w, dtype=np.float64)[:, None], dtype=B64.float_dtype))
    D.set_param("0.b", B64.asarray(np.array([b]), dtype=B64.float_dtype))
    return D


def test_a_linear_D_has_its_weight_vector_as_input_gradient():
    """l = w·x + b, so ∇ₓl = w for every sample (derived by hand, docs/MATH.md §12.8):
    R1 = (γ/2)‖w‖², ∂R1/∂w = γw;  GP = λ(‖w‖ − 1)², ∂GP/∂w = 2λ(‖w‖ − 1)w/‖w‖; ∂/∂b = ∂/∂x = 0.
    w = (3, 4): ‖w‖ = 5, R1 = 125 (γ = 10), GP = 160 (λ = 10)."""
    D = _linear_D([3.0, 4.0])
    x = B64.asarray(np.random.default_rng(1).standard_normal((6, 2)), dtype=B64.float_dtype)
    eps = B64.asarray(np.full((6, 1), 0.25), dtype=B64.float_dtype)
    for kind, value, dw in (
        ("r1", 125.0, [30.0, 40.0]),
        ("r2", 125.0, [30.0, 40.0]),
        ("gp", 160.0, [48.0, 64.0]),
    ):
        p, grads, dxr, dxf = P.penalty(kind, 10.0, D, x, -x, eps)
        assert float(p) == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(grads["0.W"][:, 0], dw, rtol=1e-12)
        assert float(grads["0.b"][0]) == 0.0 and not np.any(dxr) and not np.any(dxf)


def test_one_tanh_unit_in_closed_form():
    """l = a·tanh(u·x + c): ∇ₓl = a(1 − t²)u, t = tanh(u·x + c); R1 = (γ/2)·mean a²(1 − t²)²‖u‖²,
    ∂R1/∂a = γ·mean a(1 − t²)²‖u‖² (hand-derived; the chain-rule form docs/MATH.md §12.4 generalises)."""
    D = MLP(MLPSpec((2, 1, 1), "tanh"), B64)
    u, c, a = np.array([0.7, -1.1]), 0.2, 1.9
    D.set_param("0.W", np.array(u)[:, None]), D.set_param("0.b", np.array([c]))
    D.set_param("2.W", np.array([[a]])), D.set_param("2.b", np.array([0.5]))
    x = np.random.default_rng(2).standard_normal((5, 2))
    t = np.tanh(x @ u + c)
    p, grads, dx, _ = P.penalty("r1", 2.0, D, x, x)
    assert float(p) == pytest.approx(np.mean(a * a * (1 - t * t) ** 2) * (u @ u), rel=1e-12)
    assert float(grads["2.W"][0, 0]) == pytest.approx(
        2.0 * np.mean(a * (1 - t * t) ** 2) * (u @ u), rel=1e-12
    )
    assert float(grads["2.b"][0]) == 0.0


def test_unit_norm_form_at_zero_gradient_is_finite():
    """‖g‖ = 0 is GP's kink; the subgradient taken there is 0 (no 0/0)."""
    g = B64.zeros((3, 2))
    value, dg = P.unit_norm_form(g, 10.0)
    assert float(value) == pytest.approx(10.0) and not np.any(dg) and np.all(np.isfinite(dg))


# -- every backend, float32 -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", P.PENALTIES)
def test_penalties_run_on_every_backend_in_its_dtype(backend, kind):
    """The same numbers as numpy float64 (float32 rounding), on every device, in the backend's dtype."""
    spec = MLPSpec((2, 8, 8, 1), "tanh", maxout_pieces=None)
    D, D64 = MLP(spec, backend, seed=3), MLP(spec, B64, seed=3)
    for name, p in D.params().items():
        D64.set_param(name, B64.asarray(backend.to_numpy(p), dtype=B64.float_dtype))
    g = np.random.default_rng(4)
    host = [g.standard_normal((5, 2)), g.standard_normal((5, 2)), g.uniform(size=(5, 1))]
    value, grads, dxr, dxf = P.penalty(
        kind, 10.0, D, *(backend.asarray(h, dtype=backend.float_dtype) for h in host)
    )
    v64, g64, _, _ = P.penalty(kind, 10.0, D64, *(B64.asarray(h, dtype=B64.float_dtype) for h in host))
    assert value.dtype == backend.float_dtype and all(a.dtype == backend.float_dtype for a in grads.values())
    assert float(backend.to_numpy(value)) == pytest.approx(float(v64), rel=1e-4)
    for name in g64:
        np.testing.assert_allclose(backend.to_numpy(grads[name]), g64[name], rtol=1e-3, atol=1e-4)


# -- bad input ---------------------------------------------------------------------------------------------
def test_batch_norm_in_a_penalized_D_is_refused():
    D = MLP(MLPSpec((2, 4, 1), batch_norm=True), B64)
    x = B64.zeros((4, 2))
    with pytest.raises(ValueError, match=r"^D: layer 1 is BatchNorm; a gradient penalty needs each logit"):
        P.penalty("r1", 1.0, D, x, x)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda D, x: P.penalty("r3", 1.0, D, x, x), r"^penalty: expected one of"),
        (lambda D, x: P.penalty("r1", 0.0, D, x, x), r"^weight: expected a positive"),
        (lambda D, x: P.penalty("gp", 1.0, D, x, x), r"^eps: the gp penalty needs"),
        (lambda D, x: P.Penalty("gp", 1.0), r"^rng: the gp penalty"),
        (lambda D, x: P.Penalty("r1", -1.0), r"^weight: expected a positive"),
        (lambda D, x: TrainConfig(penalty="R1"), r"^penalty: expected None or one of"),
        (lambda D, x: TrainConfig(gamma=0), r"^gamma: expected a positive number"),
        (lambda D, x: TrainConfig(gp_weight=math.inf), r"^gp_weight: expected a positive number"),
    ],
)
def test_bad_penalty_input_is_one_clear_line(call, match):
    with pytest.raises(ValueError, match=match):
        call(MLP(MLPSpec((2, 3, 1)), B64), B64.zeros((2, 2)))


# -- in training -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["fresh", "simultaneous"])
def test_a_penalized_discriminator_step_descends_L_D_plus_P(mode):
    """With SGD (lr η) the discriminator's update is exactly −η·(∂L_D/∂θ + ∂P/∂θ), both on the step's
    own batch, and the history's L_D is L_D + P."""
    kw = dict(
        steps=1,
        batch_size=16,
        optimizer="sgd",
        momentum=0.0,
        d_lr=0.1,
        g_hidden=(8,),
        d_hidden=(8,),
        activation="tanh",
        dtype="float64",
        penalty="r1",
        gamma=3.0,
        mode=mode,
        lr_decay=1.0,
    )
    gan, ref = GAN(TrainConfig(**kw)), GAN(TrainConfig(**{**kw, "penalty": None}))
    penalty, batches = gan.d_penalty, []

    def watched(D, x_real, x_fake):  # the penalty as the step calls it, its batch kept
        batches.append(np.array(x_real, copy=True))
        return penalty(D, x_real, x_fake)

    gan.d_penalty = watched
    before = {k: np.array(v) for k, v in gan.D.params().items()}
    gan.train_step(), ref.train_step()
    [x_real] = batches
    ref_delta = {k: np.array(v) - before[k] for k, v in ref.D.params().items()}  # −η ∂L_D/∂θ (same draws)
    D0 = MLP(gan.D.spec, gan.backend)
    for k, v in before.items():
        D0.set_param(k, v)
    p, pg, _, _ = P.penalty("r1", 3.0, D0, x_real, x_real)
    for k, v in gan.D.params().items():
        np.testing.assert_allclose(np.array(v) - before[k], ref_delta[k] - 0.1 * pg[k], rtol=1e-9, atol=1e-12)
    h, h_ref = gan.history_array(), ref.history_array()
    assert h[0, 0] == pytest.approx(h_ref[0, 0] + float(p), rel=1e-12)
    assert penalty.values() == pytest.approx([float(p)], rel=1e-12)


def test_wgan_gp_turns_clipping_off_and_trains():
    c = TrainConfig(
        g_loss="wasserstein", penalty="gp", steps=20, batch_size=32, g_hidden=(16,), d_hidden=(16,)
    )
    assert c.clip is None and TrainConfig(g_loss="wasserstein").clip == 0.01
    gan = GAN(c).train()
    assert repr(gan.d_penalty) == "Penalty('gp', 10)" and len(gan.d_penalty.values()) == 20
    assert np.all(np.isfinite(gan.history_array()))


def test_the_command_line_builds_the_penalty(monkeypatch):
    from minigan.app import train as cli

    monkeypatch.delenv("MINIGAN_BACKEND", raising=False)
    gan, _ = cli._new_run(cli.build_parser().parse_args(["--penalty", "r1", "--gamma", "2", "--steps", "1"]))
    assert (gan.config.penalty, gan.config.gamma) == ("r1", 2.0) and repr(gan.d_penalty) == "Penalty('r1', 2)"
    gan, _ = cli._new_run(
        cli.build_parser().parse_args(
            ["--g-loss", "wasserstein", "--penalty", "gp", "--gp-weight", "5", "--steps", "1"]
        )
    )
    assert gan.config.clip is None and repr(gan.d_penalty) == "Penalty('gp', 5)"
    assert cli.main(["--penalty", "r3", "--steps", "1"]) == 2
    # the default run carries R1 at γ = 0.03; --penalty none is the plain game
    gan, _ = cli._new_run(cli.build_parser().parse_args(["--steps", "1"]))
    assert (gan.config.penalty, gan.config.gamma) == ("r1", 0.03) and repr(
        gan.d_penalty
    ) == "Penalty('r1', 0.03)"
    gan, _ = cli._new_run(cli.build_parser().parse_args(["--penalty", "none", "--steps", "1"]))
    assert gan.config.penalty is None and gan.d_penalty is None


def test_resume_keeps_the_penalty_the_run_had(tmp_path):
    """--resume refuses --penalty none on a run trained with R1, and takes it on a run without one."""
    from minigan.app import train as cli

    base = ["--steps", "2", "--log-every", "1", "--lr-decay", "1", "--no-plots", "-q"]
    assert cli.main([*base, "--out", str(tmp_path / "r1")]) == 0
    assert cli.main([*base, "--penalty", "none", "--out", str(tmp_path / "plain")]) == 0
    more = ["--steps", "3", "--no-plots", "-q", "--penalty", "none", "--resume"]
    assert cli.main([*more, str(tmp_path / "r1" / "checkpoint.npz")]) == 2
    assert cli.main([*more, str(tmp_path / "plain" / "checkpoint.npz")]) == 0
