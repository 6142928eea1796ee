"""Loss forms: golden values, hand-computed values, finite-difference gradients (float64
property tests), identities between the forms, stability at logits of ±1e4 and the range at ±3e38."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minigan import losses as L
from minigan.backend import get_backend
from minigan.gradcheck import KINK_MARGIN, THRESHOLD, check_loss, hinge_margin

B64 = get_backend("numpy", dtype="float64")
NP32 = get_backend("numpy")

D_FORMS = {  # name -> (function, keyword arguments)
    "bce": (L.discriminator_loss, {}),
    "bce_smoothed": (L.discriminator_loss, {"real_target": 0.9}),
    "value": (L.value_function, {}),
    "total": (L.total_loss, {}),
    "least_squares": (L.least_squares_d_loss, {}),
    "least_squares_sym": (L.least_squares_d_loss, {"a": -1.0, "b": 1.0}),
    "hinge": (L.hinge_d_loss, {}),
    "wasserstein": (L.wasserstein_d_loss, {}),
}
G_FORMS = {
    "minimax": (L.generator_minimax_loss, {}),
    "nonsaturating": (L.generator_nonsaturating_loss, {}),
    "maximum_likelihood": (L.generator_maximum_likelihood_loss, {}),
    "least_squares": (L.least_squares_g_loss, {}),
    "least_squares_c0": (L.least_squares_g_loss, {"c": 0.0}),
    "hinge": (L.hinge_g_loss, {}),
    "wasserstein": (L.wasserstein_g_loss, {}),
}


def _form(name, lr, lf):
    """Value and gradient(s) of the loss form ``name`` ("g_<form>" for a generator loss)."""
    if name.startswith("g_"):
        fn, kw = G_FORMS[name[2:]]
        return fn(lf, **kw)
    fn, kw = D_FORMS[name]
    return fn(lr, lf, **kw)


def f(x):
    return float(np.asarray(x))


# -- golden values: the equilibrium D ≡ 1/2 ------------------------------------------------------------
def test_equilibrium_values(backend):
    """Source: docs/MATH.md §4, §10.2 / Goodfellow et al. 2014 (Theorem 1: at p_g = p_data, D* ≡ 1/2,
    C(G) = −log 4). At logit 0: L_D = log 4, V = −log 4, L_G^ns = log 2, L_G^mm = −log 2,
    total = L_D + L_G^ns = 3 log 2."""
    zero = backend.zeros((7, 1))
    got = {
        "L_D": L.discriminator_loss(zero, zero)[0],
        "V": L.value_function(zero, zero)[0],
        "ns": L.generator_nonsaturating_loss(zero)[0],
        "mm": L.generator_minimax_loss(zero)[0],
        "total": L.total_loss(zero, zero)[0],
    }
    want = {
        "L_D": math.log(4),
        "V": -math.log(4),
        "ns": math.log(2),
        "mm": -math.log(2),
        "total": 3 * math.log(2),
    }
    for k in want:
        assert got[k].dtype == backend.xp.float32
        assert f(backend.to_numpy(got[k])) == pytest.approx(want[k], rel=1e-6), k
    assert want["total"] == pytest.approx(2.0794, abs=1e-4)  # docs/MATH.md §4 rounded value


def test_saturation_ratio_at_d_of_one_percent():
    """docs/MATH.md §3 / Goodfellow et al. 2014 Sec. 3: at D(G(z)) = 0.01 the minimax gradient is 99×
    weaker than the non-saturating one (σ(l) = 0.01 against 1 − σ(l) = 0.99)."""
    lf = np.array([math.log(0.01 / 0.99)])
    _, g_mm = L.generator_minimax_loss(lf)
    _, g_ns = L.generator_nonsaturating_loss(lf)
    assert g_mm[0] == pytest.approx(-0.01, rel=1e-12)
    assert g_ns[0] == pytest.approx(-0.99, rel=1e-12)
    assert g_ns[0] / g_mm[0] == pytest.approx(99.0, rel=1e-12)


# -- fixed logits, values computed by hand in this test ----------------------------------------------------
LR = [2.0, -1.0, 0.5]
LF = [-3.0, 1.5]


def sp(x):  # softplus, by hand: log(1 + e^x) (the logits here are small, no overflow)
    return math.log1p(math.exp(x))


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def mean(v):
    return sum(v) / len(v)


def hand_values():
    """Each loss at LR, LF straight from its formula in docs/MATH.md §6, with math.log1p/math.exp."""
    a = 0.9
    LD = mean([sp(-l) for l in LR]) + mean([sp(l) for l in LF])
    return {
        "bce": (LD, [-sig(-l) / 3 for l in LR], [sig(l) / 2 for l in LF]),
        "bce_smoothed": (
            mean([a * sp(-l) + (1 - a) * sp(l) for l in LR]) + mean([sp(l) for l in LF]),
            [(sig(l) - a) / 3 for l in LR],
            [sig(l) / 2 for l in LF],
        ),
        "value": (-LD, [sig(-l) / 3 for l in LR], [-sig(l) / 2 for l in LF]),
        "total": (
            LD + mean([sp(-l) for l in LF]),
            [-sig(-l) / 3 for l in LR],
            [(2 * sig(l) - 1) / 2 for l in LF],
        ),
        "least_squares": (
            mean([0.5 * (l - 1) ** 2 for l in LR]) + mean([0.5 * l**2 for l in LF]),
            [(l - 1) / 3 for l in LR],
            [l / 2 for l in LF],
        ),
        "least_squares_sym": (
            mean([0.5 * (l - 1) ** 2 for l in LR]) + mean([0.5 * (l + 1) ** 2 for l in LF]),
            [(l - 1) / 3 for l in LR],
            [(l + 1) / 2 for l in LF],
        ),
        "hinge": (
            mean([max(0.0, 1 - l) for l in LR]) + mean([max(0.0, 1 + l) for l in LF]),
            [-(l < 1) / 3 for l in LR],
            [(l > -1) / 2 for l in LF],
        ),
        "wasserstein": (mean(LF) - mean(LR), [-1 / 3] * 3, [1 / 2] * 2),
        "g_minimax": (-mean([sp(l) for l in LF]), [-sig(l) / 2 for l in LF]),
        "g_nonsaturating": (mean([sp(-l) for l in LF]), [(sig(l) - 1) / 2 for l in LF]),
        "g_maximum_likelihood": (
            -0.5 * mean([math.exp(l) for l in LF]),
            [-0.5 * math.exp(l) / 2 for l in LF],
        ),
        "g_least_squares": (mean([0.5 * (l - 1) ** 2 for l in LF]), [(l - 1) / 2 for l in LF]),
        "g_least_squares_c0": (mean([0.5 * l**2 for l in LF]), [l / 2 for l in LF]),
        "g_hinge": (-mean(LF), [-1 / 2] * 2),
        "g_wasserstein": (-mean(LF), [-1 / 2] * 2),
    }


@pytest.mark.parametrize("name", list(D_FORMS) + ["g_" + k for k in G_FORMS])
def test_fixed_logits_against_hand_computed_values(backend, name):
    """Values and gradients at l_r = (2, −1, 0.5), l_f = (−3, 1.5): this test computes them
    itself from each formula (docs/MATH.md §6) with math.log1p/math.exp; float32 to 2e-6."""
    want = hand_values()[name]
    lr, lf = backend.asarray(np.array(LR, np.float32)), backend.asarray(np.array(LF, np.float32))
    got = _form(name, lr, lf)
    for g, w in zip(got, want):
        assert g.dtype == backend.xp.float32
        np.testing.assert_allclose(backend.to_numpy(g), np.asarray(w, np.float64), rtol=2e-6, atol=1e-7)


def test_label_smoothing_optimum():
    """Salimans et al. 2016: with real target α the real-side optimum is D(x) = α, i.e. the
    gradient vanishes at l_r = logit(α) (and at α = 1 the loss is plain bce)."""
    a = 0.9
    lr = np.array([math.log(a / (1 - a))])
    _, d_r, _ = L.discriminator_loss(lr, np.zeros(1), real_target=a)
    assert abs(d_r[0]) < 1e-15
    lr = np.array([0.3, -2.0])
    for x, y in zip(L.discriminator_loss(lr, lr, real_target=1.0), L.discriminator_loss(lr, lr)):
        np.testing.assert_array_equal(x, y)


# -- property: gradients equal centred finite differences (float64) --------------------------------------
logit_arrays = st.tuples(
    st.integers(1, 8), st.booleans(), st.sampled_from([0.1, 1.0, 4.0, 20.0]), st.integers(0, 2**16)
)


def draw_logits(m, column, scale, seed):
    a = np.random.default_rng(seed).standard_normal((m, 1) if column else (m,)) * scale
    return B64.asarray(a)


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(list(D_FORMS)),
    real=logit_arrays,
    fake=logit_arrays,
    alpha=st.sampled_from([0.5, 0.9, 1.0]),
)
def test_discriminator_side_gradients_match_finite_differences(name, real, fake, alpha):
    """∂/∂l_real and ∂/∂l_fake of every discriminator-side form, for logits of shape (m,) or
    (m, 1) at scales 0.1..20, within 1e-6; hinge logits within KINK_MARGIN of ±1 are not drawn."""
    fn, kw = D_FORMS[name]
    if name == "bce_smoothed":
        kw = {"real_target": alpha}
    lr, lf = draw_logits(*real), draw_logits(*fake)
    if fn is L.hinge_d_loss:
        assume(hinge_margin(lr, lf) > KINK_MARGIN)
    errors = check_loss(fn, lr, lf, **kw)
    assert set(errors) == {"l_real", "l_fake"}
    # e.g. sp(−l_r) + sp(l_f) with l_r = 11: ∂/∂l_r ≈ −2e-5 next to f ≈ 11 cannot be resolved
    # to 1e-6 by any difference of f in float64 (fd_resolution ≈ 1e-5): such draws are kept
    # out, not the tolerance up
    assume(errors.worst_accuracy() <= THRESHOLD)
    assert max(errors.values()) <= THRESHOLD, errors


@settings(max_examples=50, deadline=None)
@given(name=st.sampled_from(list(G_FORMS)), fake=logit_arrays)
def test_generator_side_gradients_match_finite_differences(name, fake):
    fn, kw = G_FORMS[name]
    errors = check_loss(fn, draw_logits(*fake), **kw)
    assume(errors.worst_accuracy() <= THRESHOLD)  # see the test above
    assert errors["l_fake"] <= THRESHOLD, errors


@settings(max_examples=40, deadline=None)
@given(real=logit_arrays, fake=logit_arrays)
def test_identities_between_forms(real, fake):
    """V = −L_D; total = L_D + L_G^ns (values and gradients); hinge G = Wasserstein G;
    ∂L_G^ns/∂l + ∂L_G^mm/∂l = ((σ(l) − 1) − σ(l))/n = −1/n (docs/MATH.md §3 table)."""
    lr, lf = draw_logits(*real), draw_logits(*fake)
    n = lf.shape[0]
    ld = L.discriminator_loss(lr, lf)
    v = L.value_function(lr, lf)
    ns = L.generator_nonsaturating_loss(lf)
    mm = L.generator_minimax_loss(lf)
    tot = L.total_loss(lr, lf)
    for a, b in zip(v, ld):
        np.testing.assert_allclose(a, -b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tot[0], ld[0] + ns[0], rtol=1e-12)
    np.testing.assert_allclose(tot[1], ld[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tot[2], ld[2] + ns[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ns[1] + mm[1], np.full(lf.shape, -1.0 / n), rtol=1e-12)
    for a, b in zip(L.hinge_g_loss(lf), L.wasserstein_g_loss(lf)):
        np.testing.assert_array_equal(a, b)


# -- stability: logits of ±1e4 ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_at_extreme_logits(backend64, dtype):
    """At |l| = 1e4, e^−|l| underflows to 0 in float32 and float64, so the closed forms are exact:
    sp(l) = max(l, 0), σ(l) = [l > 0]. l_r = (1e4, −1e4), l_f = (−1e4, 1e4), m = n = 2."""
    b = backend64 if dtype == "float64" else get_backend(backend64.spec)
    big = 1e4
    lr = b.asarray(np.array([big, -big]), dtype=b.float_dtype)
    lf = b.asarray(np.array([-big, big]), dtype=b.float_dtype)
    step = lambda l: (np.asarray(l) > 0).astype(np.float64)  # noqa: E731
    spx = lambda l: np.maximum(np.asarray(l), 0.0)  # noqa: E731
    hr, hf = np.array([big, -big]), np.array([-big, big])
    LD = spx(-hr).mean() + spx(hf).mean()
    want = {
        "bce": (LD, -step(-hr) / 2, step(hf) / 2),
        "value": (-LD, step(-hr) / 2, -step(hf) / 2),
        "total": (LD + spx(-hf).mean(), -step(-hr) / 2, (2 * step(hf) - 1) / 2),
        "bce_smoothed": (
            (0.9 * spx(-hr) + 0.1 * spx(hr)).mean() + spx(hf).mean(),
            (step(hr) - 0.9) / 2,
            step(hf) / 2,
        ),
        "least_squares": ((0.5 * (hr - 1) ** 2).mean() + (0.5 * hf**2).mean(), (hr - 1) / 2, hf / 2),
        "hinge": (
            np.maximum(1 - hr, 0).mean() + np.maximum(1 + hf, 0).mean(),
            -step(1 - hr) / 2,
            step(hf + 1) / 2,
        ),
        "wasserstein": (hf.mean() - hr.mean(), [-0.5, -0.5], [0.5, 0.5]),
        "g_minimax": (-spx(hf).mean(), -step(hf) / 2),
        "g_nonsaturating": (spx(-hf).mean(), -step(-hf) / 2),
        "g_least_squares": ((0.5 * (hf - 1) ** 2).mean(), (hf - 1) / 2),
        "g_wasserstein": (-hf.mean(), [-0.5, -0.5]),
    }
    for name, w in want.items():
        got = _form(name, lr, lf)
        for g, ww in zip(got, w):
            assert g.dtype == b.float_dtype, name
            h = b.to_numpy(g)
            assert np.all(np.isfinite(h)), name
            np.testing.assert_allclose(h, np.asarray(ww, np.float64), rtol=1e-6, atol=0, err_msg=name)


# -- the range: logits of ±3e38, near float32's largest value (3.4e38) ----------------------------------
BIG = float(np.float32(3e38))  # the float32 nearest 3e38, as the test's logits hold it
OVER = None  # the true value is not a float32 (beyond 3.4e38): the loss must refuse it, one line


def _values_at_big(sr, sf):
    """Each loss's value at l_r = sr·BIG, l_f = sf·BIG (4 samples each), by hand from docs/MATH.md §6 with
    the closed forms that hold there: e^−BIG underflows to 0, so sp(l) = max(l, 0) and σ(l) = [l > 0];
    1 ± BIG = ±BIG (1 is far below BIG's spacing, 2^104); e^BIG and BIG² overflow. A value whose
    magnitude exceeds float32's largest (e.g. sp(−l_r) + sp(l_f) = 2·BIG) is OVER."""
    r, f = sr * BIG, sf * BIG
    spx = lambda l: max(l, 0.0)  # noqa: E731
    fit = lambda v: v if abs(v) <= float(np.finfo(np.float32).max) else OVER  # noqa: E731
    ld = fit(spx(-r) + spx(f))
    return {
        "bce": ld,
        "bce_smoothed": fit(0.9 * spx(-r) + 0.1 * spx(r) + spx(f)),
        "value": None if ld is OVER else -ld,
        "total": fit(spx(-r) + spx(f) + spx(-f)),
        "least_squares": OVER,
        "least_squares_sym": OVER,  # ½(BIG ∓ 1)² ≈ 4.5e76
        "hinge": fit(max(1 - r, 0.0) + max(1 + f, 0.0)),
        "wasserstein": fit(f - r),
        "g_minimax": -spx(f),
        "g_nonsaturating": spx(-f),
        "g_maximum_likelihood": OVER if f > 0 else -0.0,  # −½e^f: e^BIG overflows; e^−BIG = 0
        "g_least_squares": OVER,
        "g_least_squares_c0": OVER,
        "g_hinge": -f,
        "g_wasserstein": -f,
    }


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.parametrize("sr,sf", [(1, 1), (1, -1), (-1, 1), (-1, -1)])
def test_values_at_logits_of_3e38(backend, sr, sf):
    """Each mean is Σ(v/N), so it is finite wherever the value is (Σ v overflowed first: L_D was inf
    and the Wasserstein loss inf − inf = NaN); a value beyond float32 is refused, naming the logits
    (docs/MATH.md §6.6). The gradients are the unchanged closed forms σ/N, ±1/N, (l − t)/N."""
    lr = backend.asarray(np.full((4, 1), sr * BIG, np.float32))
    lf = backend.asarray(np.full((4, 1), sf * BIG, np.float32))
    for name, want in _values_at_big(sr, sf).items():
        if want is OVER:
            names = "l_fake" if name.startswith("g_") else "l_real, l_fake"
            with pytest.raises(
                ValueError,
                match=f"{names}: the loss value overflows .*float32 at these logits; "
                r"expected logits within this form's range \(docs/MATH.md §6.6\)",
            ):
                _form(name, lr, lf)
            continue
        got = _form(name, lr, lf)
        assert float(backend.to_numpy(got[0])) == pytest.approx(want, rel=1e-6, abs=0), name
        for g in got[1:]:
            assert np.all(np.isfinite(backend.to_numpy(g))), name


def test_the_mean_of_large_logits_is_not_their_overflowed_sum():
    """L_G^mm = −mean sp(l_f) at l_f = (3, 2, 1, 3)·1e38: sp(l) = l there (e^−l underflows), so the
    value is −(9e38)/4 = −2.25e38 (summed here in float64); Σ l_f = 9e38 overflows float32."""
    lf = np.array([[3e38], [2e38], [1e38], [3e38]], np.float32)
    want = -sum(float(v) for v in lf[:, 0]) / 4
    value, grad = L.generator_minimax_loss(lf)
    assert float(value) == pytest.approx(want, rel=1e-6)
    np.testing.assert_array_equal(grad, np.full((4, 1), -0.25, np.float32))  # −σ(l_f)/n, σ = 1


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_overflow_unchecked_in_the_training_step_is_inf_not_nan():
    """With check=False (the training step) nothing is refused: the value is ±inf, never NaN, and the
    history's finite test stops the run naming the step (tests/test_training.py)."""
    lr, lf = np.full(4, BIG, np.float32), np.full(4, -BIG, np.float32)
    assert L.wasserstein_d_loss(lr, lf, check=False)[0] == -np.inf
    assert L.discriminator_loss(-lr, -lf, check=False)[0] == np.inf


def test_rejected_fakes_do_not_saturate_the_nonsaturating_loss():
    """Goodfellow et al. 2014 Sec. 3, at l_f = −1e4 in float32: L_G^mm's gradient is 0
    (saturated), L_G^ns's is −1/n (full strength), both finite."""
    lf = np.full((4, 1), -1e4, np.float32)
    assert np.all(L.generator_minimax_loss(lf)[1] == 0.0)
    np.testing.assert_array_equal(L.generator_nonsaturating_loss(lf)[1], np.full((4, 1), -0.25, np.float32))


# -- every backend: float32 kept, numpy's numbers ------------------------------------------------------
@pytest.mark.parametrize("name", list(D_FORMS) + ["g_" + k for k in G_FORMS])
def test_loss_on_every_backend_matches_numpy(backend, name):
    rng = np.random.default_rng(3)
    hr = (rng.standard_normal((6, 1)) * 3).astype(np.float32)
    hf = (rng.standard_normal((5, 1)) * 3).astype(np.float32)
    if name.startswith("g_"):
        fn, kw = G_FORMS[name[2:]]
        got, ref = fn(backend.asarray(hf), **kw), fn(hf, **kw)
    else:
        fn, kw = D_FORMS[name]
        got, ref = fn(backend.asarray(hr), backend.asarray(hf), **kw), fn(hr, hf, **kw)
    for g, r in zip(got, ref):
        assert g.dtype == backend.xp.float32 and tuple(g.shape) == r.shape
        np.testing.assert_allclose(backend.to_numpy(g), r, rtol=1e-6, atol=1e-7)


def test_registries():
    assert set(L.GENERATOR_LOSSES) == {
        "minimax",
        "nonsaturating",
        "maximum_likelihood",
        "least_squares",
        "hinge",
        "wasserstein",
    }
    assert set(L.PAIRED_D_LOSS) == set(L.GENERATOR_LOSSES)
    assert set(L.PAIRED_D_LOSS.values()) <= set(L.DISCRIMINATOR_LOSSES)
    assert L.get_generator_loss("minimax") is L.generator_minimax_loss
    assert L.get_discriminator_loss("bce") is L.discriminator_loss


def test_the_one_rule_for_the_real_target():
    """check_real_target: 0 < α ≤ 1, as a plain float (NumPy scalars too); a bool, a string, 0, NaN
    or anything above 1 gets the one line the loss itself gives."""
    assert L.check_real_target(0.9) == 0.9 and type(L.check_real_target(np.float32(0.5))) is float
    assert L.check_real_target(1) == 1.0
    for bad in (0.0, -0.1, 1.5, float("nan"), True, "0.9", None):
        with pytest.raises(ValueError, match=r"^real_target: expected 0 < real_target <= 1, got "):
            L.check_real_target(bad)
    lr = np.zeros((3, 1))
    with pytest.raises(ValueError, match=r"^real_target: expected 0 < real_target <= 1, got 1.5"):
        L.discriminator_loss(lr, lr, real_target=1.5, check=False)  # checked even in the training step
