"""The game's own optimizers (minigan/game_updates.py, docs/MATH.md §16): extragradient, optimistic
and consensus updates against their equations, by hand, on the bilinear Dirac-GAN; on a GAN against
a replica stepped by hand through ``GAN.gradients``; consensus's gradient Jᵀv against centred
differences of ½‖v‖²; an exact resume through checkpoint.save/load; the refusals."""

import math

import numpy as np
import pytest

from minigan import checkpoint, game_updates, second_order
from minigan.backend import get_backend
from minigan.gradcheck import rel_error
from minigan.optim import SGD, Adam
from minigan.training import GAN, TrainConfig

B = get_backend("numpy", dtype="float64")
H, LAM = 0.1, 0.7  # the Dirac games' step size and consensus weight
START = (1.0, 0.5)  # (θ, ψ)


class BilinearDirac:
    """The Dirac-GAN with the WGAN losses (docs/MATH.md §13): L_D = ψθ, L_G = −ψθ, so the gradients are
    ∂L_G/∂θ = −ψ, ∂L_D/∂ψ = θ, the field v = (ψ, −θ), J = [[0, 1], [−1, 0]] and Jᵀw = (−w_ψ, w_θ).
    A game_updates.Game written here by hand, with minigan's optimizers."""

    def __init__(self, g_opt, d_opt, start=START):
        self.theta, self.psi = B.asarray([start[0]]), B.asarray([start[1]])
        self.g_opt, self.d_opt = g_opt, d_opt
        self.draws = 0

    def parameters(self):
        return {"theta": self.theta}, {"psi": self.psi}

    def draw(self):
        self.draws += 1

    def gradients(self, batch):
        return {"theta": -self.psi}, {"psi": 1.0 * self.theta}, (float(self.theta[0]), float(self.psi[0]))

    def jacobian_transpose_vector(self, batch, w_G, w_D):
        return {"theta": -w_D["psi"]}, {"psi": 1.0 * w_G["theta"]}

    def project(self):
        """Nothing to project after a move: the Dirac-GAN's D has no weight clipping."""

    def position(self):
        return float(self.theta[0]), float(self.psi[0])


def _iterates(update, opts, steps):
    game = BilinearDirac(*opts)
    out = [game.position()]
    for _ in range(steps):
        update.step(game)
        out.append(game.position())
    return np.array(out), game


def test_extragradient_is_its_equations_on_the_dirac_gan():
    got, game = _iterates(game_updates.Extragradient(), (SGD(H, 0.0), SGD(H, 0.0)), 5)
    th, ps = START
    want = [(th, ps)]
    for _ in range(5):
        th_x, ps_x = th + H * ps, ps - H * th  # the extrapolation θ' = θ − h·∂L_G/∂θ, ψ' = ψ − h·∂L_D/∂ψ
        th, ps = th + H * ps_x, ps - H * th_x  # from θ_t, with the gradients at θ'
        want.append((th, ps))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert game.draws == 10  # two evaluations a step, each on a new batch


def test_optimistic_gradient_is_its_equations_on_the_dirac_gan():
    got, game = _iterates(game_updates.Optimistic(), (SGD(H, 0.0), SGD(H, 0.0)), 6)
    # θ_{t+1} = θ_t − 2h g_t + h g_{t−1}, g_{−1} = 0: for θ, g = −ψ; for ψ, g = θ
    th, ps, g_prev = START[0], START[1], (0.0, 0.0)
    want = [(th, ps)]
    for _ in range(6):
        g = (-ps, th)
        th, ps = th - 2 * H * g[0] + H * g_prev[0], ps - 2 * H * g[1] + H * g_prev[1]
        g_prev = g
        want.append((th, ps))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert game.draws == 6  # one evaluation a step
    # the previous move is optimizer state, u_{t−1} = −h g_{t−1}
    assert float(game.g_opt.slots[game_updates.LAST_MOVE]["theta"][0]) == pytest.approx(-H * g_prev[0])
    assert float(game.d_opt.slots[game_updates.LAST_MOVE]["psi"][0]) == pytest.approx(-H * g_prev[1])


def test_consensus_is_its_equations_on_the_dirac_gan():
    got, _ = _iterates(game_updates.Consensus(LAM), (SGD(H, 0.0), SGD(H, 0.0)), 5)
    th, ps = START
    want = [(th, ps)]
    for _ in range(5):  # g + λ Jᵀv with v = (ψ, −θ), Jᵀv = (θ, ψ): θ ← θ − h(−ψ + λθ), ψ ← ψ − h(θ + λψ)
        th, ps = th - H * (-ps + LAM * th), ps - H * (th + LAM * ps)
        want.append((th, ps))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def _adam_by_hand(lr, b1, b2, eps):
    """Adam's move δ for one scalar parameter, its state in a closure: δ = lr·m̂/(√v̂ + eps)."""
    s = {"m": 0.0, "v": 0.0, "t": 0}

    def delta(g):
        s["t"] += 1
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        return lr * (s["m"] / (1 - b1 ** s["t"])) / (math.sqrt(s["v"] / (1 - b2 ** s["t"])) + eps)

    return delta


def test_extra_adam_moves_the_moments_at_both_evaluations():
    """Gidel et al. 2019's extra-Adam: the moments see g(θ_t) and g(θ'), bias corrections count both."""
    adam = dict(lr=0.05, betas=(0.5, 0.9), eps=1e-8)
    got, _ = _iterates(game_updates.Extragradient(), (Adam(**adam), Adam(**adam)), 4)
    dG, dD = (_adam_by_hand(0.05, 0.5, 0.9, 1e-8) for _ in range(2))
    th, ps = START
    want = [(th, ps)]
    for _ in range(4):
        th_x, ps_x = th - dG(-ps), ps - dD(th)
        th, ps = th - dG(-ps_x), ps - dD(th_x)
        want.append((th, ps))
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


def test_optimistic_adam_is_daskalakis_algorithm_1():
    """θ_{t+1} = θ_t − 2η m̂_t/(√v̂_t + ε) + η m̂_{t−1}/(√v̂_{t−1} + ε) (optimistic Adam, arXiv 1711.00141)."""
    adam = dict(lr=0.05, betas=(0.5, 0.9), eps=1e-8)
    got, _ = _iterates(game_updates.Optimistic(), (Adam(**adam), Adam(**adam)), 5)
    dG, dD = (_adam_by_hand(0.05, 0.5, 0.9, 1e-8) for _ in range(2))
    th, ps, prev = START[0], START[1], (0.0, 0.0)
    want = [(th, ps)]
    for _ in range(5):
        d = (dG(-ps), dD(th))
        th, ps = th - 2 * d[0] + prev[0], ps - 2 * d[1] + prev[1]
        prev = d
        want.append((th, ps))
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


# -- on a GAN ---------------------------------------------------------------------------------------------
F64 = dict(
    g_hidden=(8, 8),
    d_hidden=(8, 8),
    batch_size=16,
    steps=0,
    dtype="float64",
    mode="simultaneous",
    optimizer="sgd",
    momentum=0.0,
    g_lr=0.05,
    d_lr=0.05,
    log_every=1,
)


def _flat(gan):
    return np.concatenate([gan.backend.to_numpy(p).ravel() for ps in gan.parameters() for p in ps.values()])


def _set_flat(gan, theta):
    a = 0
    for ps in gan.parameters():
        for p in ps.values():
            n = math.prod(p.shape)
            p[...] = gan.backend.asarray(theta[a : a + n].reshape(p.shape))
            a += n


def _flat_grads(gan, batch):
    """The gradients at ``batch``, flat in the order of ``_flat`` (the parameters')."""
    return _flat_like(gan, gan.gradients(batch)[:2])


def _flat_like(gan, pair):
    """A (G's, D's) pair of dicts keyed as the parameters, flat in the order of ``_flat``."""
    return np.concatenate(
        [gan.backend.to_numpy(d[k]).ravel() for ps, d in zip(gan.parameters(), pair) for k in ps]
    )


@pytest.mark.parametrize("penalty", [None, "r1"])
def test_extragradient_on_a_gan_is_two_evaluations_from_one_state(penalty):
    gan = GAN(TrainConfig(**F64, penalty=penalty), update="extragradient")
    twin = GAN(TrainConfig(**F64, penalty=penalty))  # same seed: same networks, same draws
    for _ in range(3):
        gan.train_step()
        theta = _flat(twin)
        g = _flat_grads(twin, twin.draw())  # g(θ_t), D's with its penalty
        _set_flat(twin, theta - 0.05 * g)
        g = _flat_grads(twin, twin.draw())  # g(θ') on a new batch
        _set_flat(twin, theta - 0.05 * g)
        np.testing.assert_allclose(_flat(gan), _flat(twin), rtol=1e-13, atol=1e-15)


def test_optimistic_on_a_gan_is_theta_minus_2_eta_g_plus_eta_g_previous():
    gan = GAN(TrainConfig(**F64), update="optimistic")
    twin = GAN(TrainConfig(**F64))
    g_prev = 0.0
    for _ in range(4):
        gan.train_step()
        g = _flat_grads(twin, twin.draw())
        _set_flat(twin, _flat(twin) - 2 * 0.05 * g + 0.05 * g_prev)
        g_prev = g
        np.testing.assert_allclose(_flat(gan), _flat(twin), rtol=1e-13, atol=1e-15)


def test_consensus_on_a_gan_adds_lambda_jt_v():
    gan = GAN(TrainConfig(**F64, penalty=None), update=game_updates.Consensus(0.3))
    twin = GAN(TrainConfig(**F64, penalty=None))
    for _ in range(3):
        gan.train_step()
        z, x = twin.draw()
        g_G, g_D, _ = twin.gradients((z, x))
        v_G, v_D = ({k: -a for k, a in g.items()} for g in (g_G, g_D))
        j_G, j_D = second_order.game_jacobian_transpose_vector(twin.G, twin.D, z, x, v_G, v_D)
        for params, g, j in zip(twin.parameters(), (g_G, g_D), (j_G, j_D)):
            for k, p in params.items():
                p -= 0.05 * (g[k] + 0.3 * j[k])
        np.testing.assert_allclose(_flat(gan), _flat(twin), rtol=1e-13, atol=1e-15)


CONSENSUS_H = 1e-5  # the step of the centred differences of ½‖v‖²


@pytest.mark.parametrize(
    "activation, g_loss", [("tanh", "nonsaturating"), ("sigmoid", "minimax"), ("tanh", "least_squares")]
)
def test_consensus_gradient_is_the_gradient_of_half_the_squared_field(activation, g_loss):
    """Jᵀv = ∇½‖v‖², v = −(∂L_G/∂θg, ∂L_D/∂θd) at one batch, against centred differences of ½‖v‖² in
    every parameter (219), float64. The differences' truncation (h²/6)·∂³ falls 100× for each 10× in h
    (measured 1.3e-7 to 3.7e-7 at h = 1e-3, 1.3e-9 to 3.7e-9 at 1e-4); their rounding ε·½‖v‖²/h grows
    10× (4.7e-11 to 1.4e-10 at 1e-6, 4e-10 to 1.4e-9 at 1e-7): at h = 1e-5 both are near the floor,
    1.5e-11 to 3.6e-11 measured, far below the 1e-6 required."""
    cfg = TrainConfig(**F64, penalty=None, activation=activation, g_loss=g_loss, g_output=None)
    gan = GAN(cfg, update="consensus")
    batch = gan.draw()

    def half_sq(theta):
        _set_flat(gan, theta)
        v = _flat_grads(gan, batch)
        return 0.5 * float(v @ v)

    theta = _flat(gan)
    g_G, g_D, _ = gan.gradients(batch)
    j_G, j_D = gan.jacobian_transpose_vector(batch, *({k: -a for k, a in g.items()} for g in (g_G, g_D)))
    jtv = _flat_like(gan, (j_G, j_D))
    fd = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = CONSENSUS_H
        fd[i] = (half_sq(theta + e) - half_sq(theta - e)) / (2 * CONSENSUS_H)
    _set_flat(gan, theta)
    assert rel_error(jtv, fd) < 1e-6


# -- an exact resume: the previous move is optimizer state, saved with the moments -------------------------
RESUME = dict(g_hidden=(12, 12), d_hidden=(12, 12), batch_size=16, log_every=3, steps=0, mode="simultaneous")


@pytest.mark.parametrize(
    "update, kw",
    [
        ("optimistic", dict()),
        ("optimistic", dict(optimizer="sgd", momentum=0.5, g_lr=0.02, d_lr=0.02)),
        ("extragradient", dict(d_dropout=0.2)),
        ("consensus", dict(penalty=None, g_batch_norm=True)),
    ],
)
def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, update, kw):
    cfg = TrainConfig(**RESUME, **kw, update=update)
    whole = GAN(cfg).train(8)
    half = GAN(cfg).train(4)
    path = checkpoint.save(half, tmp_path / "c.npz")
    if update == "optimistic":
        with np.load(path) as f:
            assert "g_opt/last_move/0.W" in f.files and "d_opt/last_move/0.b" in f.files
    resumed = checkpoint.load(path)  # the update comes back from the config
    assert resumed.config.update == update and resumed.update.name == update
    resumed.train(4)
    np.testing.assert_array_equal(resumed.history_array(), whole.history_array())
    np.testing.assert_array_equal(_flat(resumed), _flat(whole))
    for a, b in ((resumed.g_opt, whole.g_opt), (resumed.d_opt, whole.d_opt)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(np.asarray(sa[k]), np.asarray(sb[k]), err_msg=k)


def test_the_config_records_the_update_given_to_a_gan(tmp_path):
    """A name or one of game_updates' own objects lands in TrainConfig (so checkpoints keep it); the
    consensus weight of a Consensus object too; an update of one's own leaves the config alone."""
    cfg = TrainConfig(**RESUME, penalty=None)
    assert GAN(cfg, update="optimistic").config.update == "optimistic"
    gan = GAN(cfg, update=game_updates.Consensus(0.25))
    assert (gan.config.update, gan.config.consensus_weight) == ("consensus", 0.25)
    assert isinstance(gan.update, game_updates.Consensus) and gan.update.weight == 0.25
    loaded = checkpoint.load(checkpoint.save(gan.train(2), tmp_path / "c.npz"))
    assert loaded.update.config() == {"name": "consensus", "consensus_weight": 0.25}

    class Mine(game_updates.Extragradient):
        name = "mine"

    gan = GAN(cfg, update=Mine())
    assert gan.config.update == "plain" and isinstance(gan.update, Mine)
    assert GAN(cfg, update=None).update.name == "plain" == GAN(cfg).config.update


def test_a_sweep_takes_the_update_as_a_field_of_its_runs(tmp_path):
    """``update`` in [base], ``consensus_weight`` and ``update`` on [axes]: each point's run steps by
    its update, and its checkpoint says so; a point without a meaning is refused before any runs."""
    from minigan.app import sweep

    base = {"g_hidden": [8], "d_hidden": [8], "batch_size": 16, "steps": 4, "log_every": 2}
    base.update(mode="simultaneous", penalty="none", update="consensus")
    run = {"eval_samples": 100, "plots": False, "eval_every": 4, "checkpoint_every": 4}
    spec = sweep.make_spec(base, {"consensus_weight": [0.01, 0.1]}, run, name="lam")
    res = sweep.run_sweep(spec, tmp_path / "lam", use_dask=False, quiet=True, figure=False)
    assert [r["status"] for r in res.rows] == ["done", "done"], res.rows
    for p, lam in zip(spec.points(), (0.01, 0.1)):
        saved = checkpoint.load(tmp_path / "lam" / "runs" / p.name)
        assert saved.step == 4 and saved.update.config() == {"name": "consensus", "consensus_weight": lam}
    del base["update"], base["penalty"]  # R1, the default
    spec = sweep.make_spec(base, {"update": ["plain", "optimistic"]}, run, name="upd")
    assert [p.config["update"] for p in spec.points()] == ["plain", "optimistic"]
    with pytest.raises(sweep.SpecError, match=r"axes.update\[1\]: update: 'consensus' needs penalty=None"):
        sweep.make_spec(base, {"update": ["plain", "consensus"]}, run)


def test_the_updates_run_on_the_plain_formulas_of_array_api_strict():
    """Only the Array API standard: strict runs each update as NumPy does (to float64 rounding)."""
    for update in game_updates.UPDATES[1:]:
        kw = dict(F64, penalty=None, optimizer="adam", g_lr=1e-3, d_lr=1e-3)
        a = GAN(TrainConfig(**kw), update=update).train(3)
        b = GAN(TrainConfig(**kw, backend="strict"), update=update).train(3)
        np.testing.assert_allclose(_flat(b), _flat(a), rtol=1e-9, atol=1e-12, err_msg=update)


# -- refusals -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "update, kw, msg",
    [
        ("extragradient", dict(), "update: 'extragradient' moves both players from one state, so it needs "
         "mode='simultaneous'; got mode='fresh' (TrainConfig() has mode='fresh' by default)"),
        ("optimistic", dict(mode="reuse"), "needs mode='simultaneous'; got mode='reuse'"),
        ("optimistic", dict(mode="simultaneous", k=3), "update: 'optimistic' takes one step of both "
         "players from one state, so it needs k=1; got k=3"),
        ("consensus", dict(mode="simultaneous"), "update: 'consensus' needs penalty=None: R1/R2/GP would "
         "need third derivatives (TrainConfig() has penalty='r1' by default)"),
        ("consensus", dict(mode="simultaneous", penalty="gp"), "needs penalty=None"),
        ("consensus", dict(mode="simultaneous", penalty=None, g_loss="wasserstein"), "needs clip=None"),
        ("consensus", dict(mode="simultaneous", penalty=None, g_loss="hinge"), "a D loss with a second "
         "derivative, one of ('bce', 'least_squares', 'wasserstein'); got 'hinge'"),
        ("consensus", dict(mode="simultaneous", penalty=None, real_target=0.9), "needs real_target=1"),
        ("sideways", dict(), "update: expected one of ('plain', 'extragradient', 'optimistic', "
         "'consensus', 'unrolled'), got 'sideways'"),
    ],
)  # fmt: skip
def test_a_setting_without_a_meaning_is_refused_in_one_line(update, kw, msg):
    with pytest.raises(ValueError) as e:
        GAN(TrainConfig(steps=0, g_hidden=(8,), d_hidden=(8,), **kw), update=update)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_consensus_refuses_a_loss_given_as_a_function():
    def my_loss(l_fake):
        return GAN_LOSS(l_fake)

    from minigan.losses import generator_nonsaturating_loss as GAN_LOSS

    cfg = TrainConfig(steps=0, g_hidden=(8,), d_hidden=(8,), mode="simultaneous", penalty=None)
    with pytest.raises(ValueError, match="needs them by name .* got a function for g_loss"):
        GAN(cfg, g_loss=my_loss, update="consensus")
    GAN(cfg, g_loss=my_loss, update="optimistic")  # a first-order update takes any loss


def test_bad_update_objects_and_weights():
    cfg = TrainConfig(steps=0, g_hidden=(8,), d_hidden=(8,), mode="simultaneous")
    with pytest.raises(TypeError, match="update: expected one of .* or a game_updates.GameUpdate, got int"):
        GAN(cfg, update=3)
    with pytest.raises(ValueError, match="consensus_weight: expected a positive finite weight"):
        game_updates.Consensus(-1.0)
    assert game_updates.make_update("consensus", consensus_weight=2.5).config() == {
        "name": "consensus",
        "consensus_weight": 2.5,
    }
    assert repr(game_updates.Consensus(2.5)) == "Consensus(consensus_weight=2.5)"
    assert GAN(cfg).update.name == "plain"  # the default: Algorithm 1 by mode and k


def test_the_smooth_losses_are_second_orders_forms():
    assert set(game_updates.SMOOTH_D_LOSSES) <= set(second_order.D_FORMS)


def test_set_update_is_recorded_so_a_checkpoint_restores_it(tmp_path):
    """An update chosen after construction (``set_update``) is written into the config, so the
    checkpoint saved afterwards loads with it, not with "plain"."""
    cfg = TrainConfig(mode="simultaneous", penalty=None, g_hidden=(8,), d_hidden=(8,), batch_size=16)
    gan = GAN(cfg)
    assert gan.config.update == "plain"
    gan.set_update("optimistic")
    gan.train(2)
    checkpoint.save(gan, tmp_path / "c.npz")
    assert gan.config.update == "optimistic"
    assert checkpoint.load(tmp_path / "c.npz").update.name == "optimistic"
