"""minigan.theory against closed forms (Goodfellow et al. 2014, Proposition 1 and Theorem 1).

Golden values and where they come from:
- p_g = p_data: D* ≡ ½ and C(G) = −log 4 (Theorem 1, the global minimum);
- disjoint supports: JSD = log 2, so C(G) = −log 4 + 2 log 2 = 0;
- U[0, 1] vs U[s, 1 + s], 0 ≤ s ≤ 1: on the overlap p = q (no contribution), on each of
  the two non-overlapping pieces of length s one density is 1 and the other 0, giving
  ½·1·log 2 per unit length: JSD = s·log 2 (derived by hand);
- KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) = log(σ2/σ1) + (σ1² + (μ1 − μ2)²)/(2σ2²) − ½ (textbook).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan import theory
from minigan.theory import LOG2, LOG4, Mixture, Normal, Uniform


def grid_for(*ds, n=20001):
    return theory.common_grid(*ds, n=n, margin=0.5)


def test_identical_densities_give_half_and_minus_log4():
    p = Normal(0.3, 1.2)
    x = grid_for(p)
    pd = p.pdf(x)
    np.testing.assert_allclose(theory.optimal_discriminator(pd, pd), 0.5)
    assert theory.jsd(pd, pd, x) == pytest.approx(0.0, abs=1e-12)
    assert theory.criterion(pd, pd, x) == pytest.approx(-LOG4, abs=1e-6)
    assert theory.max_value(pd, pd, x) == pytest.approx(-LOG4, abs=1e-6)


def test_disjoint_supports_give_zero():
    # Gaussians 60σ apart: the overlap is below float64 resolution
    p, q = Normal(0.0, 1.0), Normal(60.0, 1.0)
    x = grid_for(p, q, n=40001)
    pd, pg = p.pdf(x), q.pdf(x)
    d = theory.optimal_discriminator(pd, pg)
    assert d[np.argmin(abs(x - 0.0))] == pytest.approx(1.0) and d[np.argmin(abs(x - 60.0))] == pytest.approx(
        0.0
    )
    assert theory.jsd(pd, pg, x) == pytest.approx(LOG2, abs=1e-6)
    assert theory.criterion(pd, pg, x) == pytest.approx(0.0, abs=1e-6)
    assert theory.max_value(pd, pg, x) == pytest.approx(0.0, abs=1e-6)


def test_disjoint_uniforms_give_zero_up_to_the_edge_error():
    p, q = Uniform(0, 1), Uniform(2, 3)
    x = np.linspace(-1, 4, 50001)  # h = 1e-4: the trapezoid rule errs by O(h) at each jump
    pd, pg = p.pdf(x), q.pdf(x)
    assert theory.criterion(pd, pg, x) == pytest.approx(0.0, abs=5e-4)
    assert theory.max_value(pd, pg, x) == pytest.approx(0.0, abs=5e-4)
    # D* is 1 on p_data's support, 0 on p_g's, ½ (undefined) where both vanish
    d = theory.optimal_discriminator(pd, pg)
    assert set(np.unique(d)) == {0.0, 0.5, 1.0}


@pytest.mark.parametrize("s", [0.0, 0.25, 0.5, 1.0])
def test_shifted_uniforms_have_jsd_s_log2(s):
    p, q = Uniform(0, 1), Uniform(s, 1 + s)
    x = np.linspace(-1, 3, 40001)
    pd, pg = p.pdf(x), q.pdf(x)
    assert theory.jsd(pd, pg, x) == pytest.approx(s * LOG2, abs=5e-4)
    assert theory.criterion(pd, pg, x) == pytest.approx(-LOG4 + 2 * s * LOG2, abs=1e-3)


@settings(max_examples=15, deadline=None)
@given(mu=st.floats(-3, 3), s1=st.floats(0.3, 3), s2=st.floats(0.3, 3))
def test_max_value_equals_theorem_1(mu, s1, s2):
    """∫ p_data log D* + p_g log(1 − D*) (computed directly) = −log 4 + 2·JSD: Theorem 1's algebra."""
    p, q = Normal(0, s1), Normal(mu, s2)
    x = grid_for(p, q, n=8001)
    pd, pg = p.pdf(x), q.pdf(x)
    c = theory.criterion(pd, pg, x)
    assert theory.max_value(pd, pg, x) == pytest.approx(c, abs=1e-7)
    assert -LOG4 - 1e-9 <= c <= 1e-9


@settings(max_examples=15, deadline=None)
@given(eps=st.floats(0.01, 0.4), seed=st.integers(0, 1000))
def test_any_other_discriminator_has_lower_value(eps, seed):
    """Proposition 1: D* maximises V, so a perturbed D scores below max_value."""
    p, q = Normal(0, 1), Mixture([Normal(-1, 0.5), Normal(2, 1)])
    x = grid_for(p, q, n=4001)
    pd, pg = p.pdf(x), q.pdf(x)
    d = theory.optimal_discriminator(pd, pg)
    noise = np.random.default_rng(seed).uniform(-eps, eps, size=x.shape)
    d2 = np.clip(d + noise, 1e-6, 1 - 1e-6)
    assert theory.value(d2, pd, pg, x) < theory.max_value(pd, pg, x)
    assert theory.value(d, pd, pg, x) == pytest.approx(theory.max_value(pd, pg, x), abs=1e-9)


def test_constant_half_discriminator_has_value_minus_log4():
    """V(½, G) = log ½ + log ½ = −log 4 for any p_data, p_g (each integrates to 1)."""
    p, q = Normal(0, 1), Normal(3, 0.5)
    x = grid_for(p, q)
    assert theory.value(np.full(x.shape, 0.5), p.pdf(x), q.pdf(x), x) == pytest.approx(-LOG4, abs=1e-6)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 1), (0, 1, 0, 2), (-1, 0.5, 2, 1.5)])
def test_kl_of_gaussians(m1, s1, m2, s2):
    p, q = Normal(m1, s1), Normal(m2, s2)
    x = grid_for(p, q)
    expected = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert theory.kl_divergence(p.pdf(x), q.pdf(x), x) == pytest.approx(expected, rel=1e-6)


def test_kl_is_infinite_without_support():
    x = np.linspace(-1, 3, 401)
    assert theory.kl_divergence(Uniform(0, 2).pdf(x), Uniform(0, 1).pdf(x), x) == math.inf


def test_densities_integrate_to_one_and_samplers_match():
    rng = np.random.default_rng(0)
    for d in (Normal(1, 2), Uniform(-1, 3), Mixture([Normal(-2, 0.5), Uniform(1, 2)], [1, 3])):
        x = theory.common_grid(d, n=40001, margin=1.0)
        assert theory.integrate(d.pdf(x), x) == pytest.approx(1.0, abs=1e-3)
        s = d.sample(200_000, rng)
        mean = theory.integrate(x * d.pdf(x), x)
        assert s.mean() == pytest.approx(mean, abs=0.02)


def test_kde_recovers_a_normal():
    rng = np.random.default_rng(1)
    p = Normal(2, 0.5)
    x = np.linspace(-1, 5, 601)
    est = theory.gaussian_kde(p.sample(20_000, rng), x)
    assert theory.integrate(est, x) == pytest.approx(1.0, abs=1e-3)
    assert np.max(np.abs(est - p.pdf(x))) < 0.05 * p.pdf(x).max()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: theory.jsd([1, 1], [1, 1], [0.0]), "x: expected a 1-D grid"),
        (lambda: theory.jsd([1, 1], [1, 1], [1.0, 0.0]), "strictly increasing"),
        (lambda: theory.jsd([1, 1, 1], [1, 1], [0.0, 1.0]), "p: expected density values of shape"),
        (
            lambda: theory.optimal_discriminator([1.0, -1.0], [1.0, 1.0]),
            "p_data: expected finite, non-negative",
        ),
        (lambda: theory.value([0.5, 2.0], [1, 1], [1, 1], [0.0, 1.0]), "d: expected discriminator values"),
        (lambda: Normal(0, 0), "std"),
        (lambda: Uniform(1, 1), "high"),
        (lambda: theory.gaussian_kde([1.0], [0.0]), "samples"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
