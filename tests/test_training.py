"""The training step: each generator-update mode does what it says, checked against
gradients computed independently on a replica (same seed: same networks, same draws)."""

import math

import numpy as np
import pytest

from minigan import losses
from minigan.backend import get_backend
from minigan.training import (
    GAN,
    HISTORY,
    MODES,
    DivergenceError,
    TrainConfig,
    equilibrium_values,
    history_row,
    input_gradient,
)

SMALL = dict(g_hidden=(12, 12), d_hidden=(12, 12), batch_size=16, steps=0, penalty=None)
F64 = dict(SMALL, dtype="float64", optimizer="sgd", momentum=0.0, g_lr=0.05, d_lr=0.05)


def _record_grads(gan):
    """Wrap both optimizers' step to record the gradients they receive (NumPy copies)."""
    rec = {"G": [], "D": []}
    for key, opt in (("G", gan.g_opt), ("D", gan.d_opt)):
        orig = opt.step

        def step(params, grads, orig=orig, key=key, **kw):
            rec[key].append({k: np.array(gan.backend.to_numpy(v), copy=True) for k, v in grads.items()})
            return orig(params, grads, **kw)

        opt.step = step
    return rec


def _d_grads(D, x, fake):
    """∂L_D/∂θd from two separate D passes (real, fake): the BCE of docs/MATH.md §2."""
    l_r, c_r = D.forward(x)
    l_f, c_f = D.forward(fake)
    _, dl_r, dl_f = losses.discriminator_loss(l_r, l_f)
    _, g_r = D.backward(dl_r, c_r, need_dx=False)
    _, g_f = D.backward(dl_f, c_f, need_dx=False)
    return {k: np.asarray(g_r[k] + g_f[k]) for k in g_r}


def _g_grads(G, D, z):
    """∂L_G^ns/∂θg at z, through D (its input gradient only)."""
    fake, c_g = G.forward(z)
    l_f, c_d = D.forward(fake)
    _, dl = losses.generator_nonsaturating_loss(l_f)
    dx, _ = D.backward(dl, c_d, need_grads=False)
    _, g = G.backward(dx, c_g, need_dx=False)
    return {k: np.asarray(v) for k, v in g.items()}


def _assert_grads_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-10, atol=1e-13, err_msg=k)


def _differs(a, b):
    return any(not np.allclose(a[k], b[k], rtol=1e-6, atol=1e-9) for k in a)


def _step_and_replica(mode, **kw):
    """One step of a GAN in ``mode``, and an untouched replica that has drawn that step's z, x."""
    cfg = TrainConfig(mode=mode, **{**F64, **kw})
    gan, rep = GAN(cfg), GAN(cfg)
    rec = _record_grads(gan)
    gan.train_step()
    # the step's draws, in the step's order: z (m, noise_dim), then x (m, dim)
    z = rep.rng.normal((cfg.batch_size, cfg.noise_dim))
    x = rep.data.sample(cfg.batch_size)
    return gan, rep, rec, z, x


def test_simultaneous_uses_the_gradients_of_the_pre_update_networks():
    gan, rep, rec, z, x = _step_and_replica("simultaneous")
    fake = rep.G.forward(z)[0]
    _assert_grads_equal(rec["D"][0], _d_grads(rep.D, x, fake))
    _assert_grads_equal(rec["G"][0], _g_grads(rep.G, rep.D, z))  # rep.D: D before its update
    # ... and not those through the updated D (the test could tell them apart)
    assert _differs(rec["G"][0], _g_grads(rep.G, gan.D, z))
    assert gan.rng.state() == rep.rng.state()  # no further draws


def test_reuse_passes_the_same_generated_batch_through_the_updated_d():
    gan, rep, rec, z, x = _step_and_replica("reuse")
    _assert_grads_equal(rec["D"][0], _d_grads(rep.D, x, rep.G.forward(z)[0]))
    _assert_grads_equal(rec["G"][0], _g_grads(rep.G, gan.D, z))  # gan.D: D after its update
    assert _differs(rec["G"][0], _g_grads(rep.G, rep.D, z))
    assert gan.rng.state() == rep.rng.state()  # reuse draws no new noise


def test_fresh_draws_new_noise_for_the_updated_d():
    gan, rep, rec, z, x = _step_and_replica("fresh")
    _assert_grads_equal(rec["D"][0], _d_grads(rep.D, x, rep.G.forward(z)[0]))
    z2 = rep.rng.normal((16, 2))  # the paper's Algorithm 1: sample a new minibatch of noise
    _assert_grads_equal(rec["G"][0], _g_grads(rep.G, gan.D, z2))
    assert _differs(rec["G"][0], _g_grads(rep.G, gan.D, z))  # not the D step's noise
    assert gan.rng.state() == rep.rng.state()


@pytest.mark.parametrize("mode", MODES)
def test_k_discriminator_steps_per_generator_step(mode):
    gan = GAN(TrainConfig(mode=mode, k=3, **SMALL))
    rec = _record_grads(gan)
    gan.train(2)
    assert len(rec["D"]) == 6 and len(rec["G"]) == 2 and gan.step == 2


def test_history_row_is_consistent():
    # simultaneous: L_G is measured on the step-4 batch like every other column
    # (fresh/reuse measure L_G on the generator-update pass instead)
    gan = GAN(TrainConfig(**SMALL, mode="simultaneous", log_every=1))
    gan.train(3)
    h = gan.history_array()
    assert h.shape == (3, len(HISTORY))
    col = {name: h[:, i] for i, name in enumerate(HISTORY)}
    np.testing.assert_allclose(col["V"], -col["L_D"], rtol=1e-6)  # V = −L_D (docs/MATH.md §2)
    np.testing.assert_allclose(col["total"], col["L_D"] + col["L_G_ns"], rtol=1e-6)
    np.testing.assert_allclose(col["L_G"], col["L_G_ns"], rtol=1e-6)  # g_loss = nonsaturating
    assert ((0 < col["D_real"]) & (col["D_real"] < 1)).all() and (col["grad_norm_G"] > 0).all()


def test_equilibrium_values_are_those_of_d_equal_one_half():
    # docs/MATH.md §4: at D ≡ ½, L_D = log 4, L_G^ns = log 2, V = −log 4, total = 3 log 2
    eq = equilibrium_values()
    assert eq["L_D"] == pytest.approx(math.log(4)) and eq["V"] == pytest.approx(-math.log(4))
    assert eq["L_G_ns"] == pytest.approx(math.log(2)) and eq["total"] == pytest.approx(3 * math.log(2))
    zero = np.zeros((4, 1))
    assert float(losses.discriminator_loss(zero, zero)[0]) == pytest.approx(eq["L_D"])


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_runs_on_every_backend(backend, mode):
    gan = GAN(
        TrainConfig(
            mode=mode,
            backend=backend.spec,
            g_batch_norm=True,
            d_dropout=0.1,
            g_hidden=(8,),
            d_hidden=(8,),
            batch_size=8,
            log_every=2,
            steps=0,
        )
    )
    gan.train(3)
    if backend.name == "strict":  # everything stayed on the (simulated) device
        assert all(p.device == backend.device for p in [*gan.G.params().values(), *gan.D.params().values()])
    h = gan.history_array()
    assert h.shape == (3, len(HISTORY)) and np.isfinite(h).all()
    assert gan.sample(5).shape == (5, 2)


@pytest.mark.parametrize("g_loss", ["minimax", "least_squares", "hinge", "wasserstein"])
def test_other_loss_forms_train(g_loss):
    opt = dict(optimizer="rmsprop", g_lr=5e-4, d_lr=5e-4) if g_loss == "wasserstein" else {}
    gan = GAN(TrainConfig(g_loss=g_loss, **SMALL, **opt))
    gan.train(3)
    assert np.isfinite(gan.history_array()).all()
    if g_loss == "wasserstein":
        c = gan.config.clip
        assert c == 0.01  # Arjovsky et al. 2017's default
        assert all(float(np.abs(p).max()) <= c for p in gan.D.params().values())


def test_label_smoothing_changes_only_the_real_target():
    a = GAN(TrainConfig(**F64, mode="simultaneous"))
    b = GAN(TrainConfig(**F64, mode="simultaneous", real_target=0.9))
    ra, rb = _record_grads(a), _record_grads(b)
    a.train_step(), b.train_step()
    _assert_grads_equal(ra["G"][0], rb["G"][0])  # G's loss does not see α (Salimans et al. 2016)
    assert _differs(ra["D"][0], rb["D"][0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow warnings on the way to inf
def test_divergence_names_the_step_and_the_quantity():
    gan = GAN(TrainConfig(**SMALL, optimizer="sgd", momentum=0.0, g_lr=1e30, d_lr=1e30, log_every=1))
    with pytest.raises(DivergenceError, match=r"step \d+: \w+ is (nan|inf|-inf)") as e:
        gan.train(50)
    bad_step = gan.step
    assert f"step {bad_step}:" in str(e.value)
    assert any(name in str(e.value) for name in HISTORY)
    assert len(gan.history) == bad_step - 1  # the good rows are kept


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_found_inside_a_logging_window():
    gan = GAN(TrainConfig(**SMALL, log_every=10))
    gan.train(4)  # rows 1..4 pending
    w = gan.D.params()["0.W"]
    gan.D.set_param("0.W", w * np.float32(np.nan), check=False)  # a NaN made on purpose
    with pytest.raises(DivergenceError, match=r"step 5: L_D is nan"):
        gan.train(3)  # steps 5-7, flushed at the end of train()
    assert len(gan.history) == 4


@pytest.mark.parametrize(
    "field, value",
    [
        ("mode", "alternating"),
        ("k", 0),
        ("batch_size", -1),
        ("noise_dim", 2.0),
        ("steps", True),
        ("log_every", 0),
        ("real_target", 1.5),
        ("real_target", 0.0),
        ("clip", -0.01),
        ("g_loss", "kl"),
    ],
)
def test_bad_config_values(field, value):
    with pytest.raises(ValueError, match=field if field != "g_loss" else "loss"):
        TrainConfig(**{field: value})


def test_bad_config_combinations():
    with pytest.raises(ValueError, match="real_target"):
        TrainConfig(g_loss="hinge", real_target=0.9)
    with pytest.raises(ValueError, match="unknown keys"):
        TrainConfig.from_dict({"lr": 0.1})
    with pytest.raises(ValueError, match="optimizer"):
        GAN(TrainConfig(optimizer="adagrad", **SMALL))
    with pytest.raises(ValueError, match="dataset"):
        GAN(TrainConfig(dataset="spiral", **SMALL))


def test_config_round_trip():
    cfg = TrainConfig(g_hidden=(3, 4), betas=(0.8, 0.9), data_params={"std": 0.01})
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    cfg = TrainConfig(update="consensus", consensus_weight=0.5, mode="simultaneous", penalty=None)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.build_update().config() == {"name": "consensus", "consensus_weight": 0.5}


def test_a_config_from_before_the_updates_takes_their_defaults():
    old = TrainConfig().to_dict()
    del old["update"], old["consensus_weight"]
    cfg = TrainConfig.from_dict(old)
    assert (cfg.update, cfg.consensus_weight) == ("plain", 0.03) and cfg.build_update().name == "plain"


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(update="bogus"), "update: expected one of ('plain', 'extragradient', 'optimistic', "
         "'consensus', 'unrolled'), got 'bogus'"),
        (dict(update=None), "update: expected one of"),
        (dict(update="extragradient"), "update: 'extragradient' moves both players from one state, so it "
         "needs mode='simultaneous'; got mode='fresh'"),
        (dict(update="optimistic", mode="simultaneous", k=2), "update: 'optimistic' takes one step of both "
         "players from one state, so it needs k=1; got k=2"),
        (dict(update="consensus", mode="simultaneous"), "update: 'consensus' needs penalty=None: R1/R2/GP "
         "would need third derivatives (TrainConfig() has penalty='r1' by default)"),
        (dict(update="consensus", mode="simultaneous", penalty=None, g_loss="hinge"), "update: 'consensus' "
         "needs a D loss with a second derivative"),
        (dict(update="consensus", mode="simultaneous", penalty=None, g_loss="wasserstein"), "update: "
         "'consensus' needs clip=None"),
        (dict(consensus_weight=0), "consensus_weight: expected a positive finite weight λ of ½‖v‖², got 0"),
        (dict(consensus_weight=-1.0), "consensus_weight: expected a positive finite weight"),
        (dict(consensus_weight=float("nan")), "consensus_weight: expected a positive finite weight"),
        (dict(consensus_weight="0.1"), "consensus_weight: expected a positive finite weight"),
    ],
)  # fmt: skip
def test_an_update_without_a_meaning_is_refused_by_the_config(kw, msg):
    with pytest.raises(ValueError) as e:
        TrainConfig(**kw)
    assert msg in str(e.value) and "\n" not in str(e.value)


# -- a GAN built from parts ----------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_train_step_is_the_articles_steps(mode):
    """train_step in each mode is exactly the public steps called by hand (same random stream):
    fresh = discriminator_step + generator_step; reuse = the same with the step-4 fakes kept;
    simultaneous = simultaneous_step."""
    cfg = TrainConfig(**SMALL, mode=mode)
    a, b = GAN(cfg), GAN(cfg)
    for _ in range(3):
        a.train_step()
        if mode == "simultaneous":
            b.simultaneous_step()
        else:
            _, _, fakes = b.discriminator_step(keep_fakes=mode == "reuse")
            assert (fakes is None) == (mode == "fresh")
            b.generator_step(fakes)
    for net in ("G", "D"):
        pa, pb = getattr(a, net).params(), getattr(b, net).params()
        for k in pa:
            np.testing.assert_array_equal(pa[k], pb[k], err_msg=f"{net} {k}")


def test_a_gan_from_your_own_parts():
    """G, D, data as an array, optimizers and a loss function given: the GAN uses them (not the
    config's), infers the noise dimension from G, and trains."""
    from minigan import discriminator, generator
    from minigan.optim import SGD

    b = get_backend("numpy")
    x = np.random.default_rng(0).normal(3.0, 0.5, size=(500, 3))
    G = generator(noise_dim=5, data_dim=3, hidden=(8,), backend=b)
    D = discriminator(data_dim=3, hidden=(8,), backend=b)
    calls = []

    def g_loss(l_fake):
        calls.append(l_fake.shape)
        return losses.generator_nonsaturating_loss(l_fake, check=False)

    d_opt = SGD(0.01, momentum=0.0)
    gan = GAN(TrainConfig(batch_size=16, log_every=5), G=G, D=D, data=x, d_opt=d_opt, g_loss=g_loss)
    assert gan.G is G and gan.D is D and gan.d_opt is d_opt and gan.noise_dim == 5 and gan.data.dim == 3
    gan.train(5)
    assert calls == [(16, 1)] * 5
    assert gan.sample(7).shape == (7, 3) and gan.history_array().shape == (5, len(HISTORY))
    assert gan.data.sample(4).dtype == np.float32


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(data=np.zeros(5)), "data: expected an (N, dim) array"),
        (dict(data=np.array([[0.0, np.nan]])), "data: NaN or inf in row 1, column 2"),
        (dict(data=np.array([["a", "b"]])), "data: expected real numbers"),
        (dict(G="G"), "G: expected an MLP"),
        (dict(d_opt="adam"), "d_opt: expected an optim.Optimizer"),
    ],
)
def test_bad_parts_get_one_clear_line(kw, msg):
    with pytest.raises((ValueError, TypeError)) as e:
        GAN(TrainConfig(**SMALL), **kw)
    assert msg in str(e.value)


def test_parts_that_do_not_fit_are_refused():
    from minigan import discriminator, generator

    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="G: its output has 3 features, the data 2"):
        GAN(TrainConfig(**SMALL), G=generator(data_dim=3), data=x)
    with pytest.raises(ValueError, match=r"D: expected sizes \(2, ..., 1\)"):
        GAN(TrainConfig(**SMALL), D=discriminator(data_dim=3), data=x)
    with pytest.raises(ValueError, match="D: built on strict"):
        GAN(TrainConfig(**SMALL), G=generator(backend="numpy"), D=discriminator(backend="strict"))


def test_the_redesign_left_the_training_math_as_it_was():
    """100 float64 steps of the ring GAN (G and D 128-128, Adam, fresh) end on the history row
    that minigan computed at commit f1b16e7, before the engine room and the GAN from parts
    (printed by that version with the same config): the same numbers to 1e-12, so the new layout
    changed where the arithmetic lives, not what it is. (In float32 the two differ by rounding,
    which a GAN run amplifies.)"""
    gan = GAN(
        TrainConfig(
            dataset="ring",
            g_hidden=(128, 128),
            lr_decay=1.0,
            seed=0,
            log_every=50,
            dtype="float64",
            penalty=None,
        )
    )
    gan.train(100)
    want = [
        1.2558860420112916,
        0.8275910038523592,
        0.7397146112160773,
        -1.2558860420112916,
        1.995600653227369,
        0.5637634243277357,
        0.48468391925318344,
        1.4315208630146141,
        1.0655075662774176,
    ]
    np.testing.assert_allclose(gan.history_array()[-1], want, rtol=1e-12)


@pytest.mark.parametrize(
    "g_loss", ["nonsaturating", "minimax", "least_squares", "maximum_likelihood", "hinge", "wasserstein"]
)
def test_sgds_default_learning_rate_does_not_diverge_on_the_default_run(g_loss):
    """SGD's old default (0.05) diverged within the first 11 steps of the default run on seeds 0, 2
    and 3; its default now (optim.default_lr: 0.02, and per loss where its curvature or gradient asks
    for less, docs/MATH.md §9.1) trains with each loss form: 150 steps stay finite on seeds 0-3. At
    0.02, least squares diverged at step 2, maximum likelihood by step 10, hinge at step 10 on seed 2.
    (The whole 6000-step nonsaturating run at 0.02 reached 6-7/8 modes, 82-90 % high quality.)"""
    for seed in range(4):
        gan = GAN(TrainConfig(optimizer="sgd", g_loss=g_loss, seed=seed, steps=500))
        with np.errstate(over="ignore", invalid="ignore"):
            gan.train(150)
        assert np.isfinite(gan.history_array()).all(), seed


def _simultaneous_step_and_its_pass(seed, **d_spec):
    """One simultaneous float64 step of a GAN whose D is MLPSpec((2, 12, 12, 1), **d_spec), the G
    gradient it used, and, from an untouched replica, that step's joint pass over [x; G(z)]:
    (recorded G grads, replica, z, G's cache, D's logits, D's cache)."""
    from minigan.networks import MLP, MLPSpec

    b = get_backend("numpy", dtype="float64")
    gans = []
    for _ in range(2):
        rng = b.random(seed)
        G = MLP(MLPSpec((2, 12, 12, 2)), b, rng=rng)
        D = MLP(MLPSpec((2, 12, 12, 1), **d_spec), b, rng=rng)
        gans.append(GAN(TrainConfig(mode="simultaneous", **F64), G=G, D=D, rng=rng))
    gan, rep = gans
    rec = _record_grads(gan)
    gan.train_step()
    z = rep.rng.normal((16, 2))
    x = rep.data.sample(16)
    fake, c_g = rep.G.forward(z)
    out, c_d = rep.D.forward(
        b.xp.concat([x, fake])
    )  # the step's own pass (dropout: its mask over all 2m rows)
    return rec["G"][0], rep, z, c_g, out, c_d


@pytest.mark.parametrize("d_spec", [dict(maxout_pieces=3), dict(activation="leaky_relu", dropout=0.3)])
def test_simultaneous_g_gradient_runs_back_through_the_fake_rows_alone(d_spec):
    """In the simultaneous step ∂L_G/∂l_r = 0, so the backward through D runs on the fake rows of
    the cache alone (MLP.cache_rows): the same G gradient as a D pass over the fakes by themselves,
    for maxout (whose winners the engine keeps) and dropout (whose mask it cuts) alike."""
    got, rep, z, c_g, out, c_d = _simultaneous_step_and_its_pass(4, **d_spec)
    fake_cache = rep.D.cache_rows(c_d, slice(16, None))
    _, dl = losses.generator_nonsaturating_loss(out[16:])
    dx, _ = rep.D.backward(dl, fake_cache, need_grads=False)
    _, want = rep.G.backward(dx, c_g, need_dx=False)
    _assert_grads_equal(got, want)
    if "dropout" not in d_spec:  # without a random mask, a pass over the fakes alone is the same
        _assert_grads_equal(got, _g_grads(rep.G, rep.D, z))


def test_a_discriminator_with_batch_norm_takes_every_row_back():
    """Batch norm ties a pass's rows together (its statistics): D's cache cannot be cut to the fake
    rows (cache_rows gives None), and the simultaneous step's G gradient is the one through the
    joint pass over [x; G(z)], the real rows carrying ∂L_G/∂l_r = 0."""
    got, rep, z, c_g, out, c_d = _simultaneous_step_and_its_pass(5, batch_norm=True)
    assert rep.D.cache_rows(c_d, slice(16, None)) is None
    _, dl = losses.generator_nonsaturating_loss(out[16:])
    dx, _ = rep.D.backward(np.concatenate([np.zeros_like(dl), dl]), c_d, need_grads=False)
    _, want = rep.G.backward(dx[16:], c_g, need_dx=False)
    _assert_grads_equal(got, want)
    assert _differs(got, _g_grads(rep.G, rep.D, z))  # a pass over the fakes alone is another thing


def test_the_history_row_is_its_formulas():
    """history_row's means from one softplus/sigmoid pass over [−l_r; −l_f; l_r; l_f] are the
    article's quantities computed one by one."""
    rng = np.random.default_rng(1)
    logits, m = rng.normal(0.0, 3.0, (2 * 7, 1)), 7
    l_r, l_f = logits[:m, 0], logits[m:, 0]
    sp = lambda u: np.logaddexp(0.0, u)
    sigma = lambda u: 1.0 / (1.0 + np.exp(-u))
    row = history_row(logits, np.float64(0.25), np.float64(0.5), np.float64(9.0), np.float64(16.0))
    bce_d, ns = sp(-l_r).mean() + sp(l_f).mean(), sp(-l_f).mean()
    want = [0.25, 0.5, ns, -bce_d, bce_d + ns, sigma(l_r).mean(), sigma(l_f).mean(), 3.0, 4.0]
    np.testing.assert_allclose(row, want, rtol=1e-13)


@pytest.mark.parametrize("d_spec", [dict(maxout_pieces=3), dict(batch_norm=True)])
def test_input_gradient_of_the_fake_rows_of_a_joint_pass(d_spec):
    """input_gradient on the last m rows of a pass over 2m rows: ∂L/∂x of those rows, as a full
    backward whose other rows carry 0 (cut to the m rows where D allows it, batch norm not); the
    cache it ran over is released."""
    from minigan.networks import MLP, MLPSpec

    b = get_backend("numpy", dtype="float64")
    D = MLP(MLPSpec((2, 9, 9, 1), **d_spec), b, seed=2)
    x = b.random(3).normal((12, 2))
    dl = b.random(4).normal((6, 1))
    _, cache = D.forward(x)
    want, _ = D.backward(np.concatenate([np.zeros_like(dl), dl]), cache, need_grads=False)
    got = input_gradient(D, dl, cache)
    assert got.shape == (6, 2)
    np.testing.assert_allclose(got, want[6:], rtol=1e-12, atol=1e-15)
    assert (cache[0] is None) == ("batch_norm" in d_spec)  # the full cache was released, or a cut of it


def test_sample_and_train_take_numpy_integers():
    gan = GAN(TrainConfig(**SMALL))
    gan.train(np.int64(2))
    assert gan.step == 2 and gan.sample(np.int64(5)).shape == (5, 2)
    with pytest.raises(ValueError, match=r"^n: expected a positive integer number of samples, got True"):
        gan.sample(True)
    with pytest.raises(ValueError, match=r"^steps: expected a non-negative integer number of steps, got 2.0"):
        gan.train(2.0)
