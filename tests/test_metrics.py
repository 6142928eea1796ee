"""Metrics on constructed samples whose answer is known by construction."""

import math

import numpy as np
import pytest

from minigan import metrics
from minigan.training import GAN, TrainConfig

RING = np.array([[math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)] for i in range(8)])
STD = 0.01  # PacGAN's ring (Lin et al. 2018)


def test_every_mode_hit_exactly_gives_8_of_8_and_100_percent():
    x = RING[np.arange(2400) % 8]
    m = metrics.mixture_metrics(x, RING, STD)
    assert m["modes_covered"] == 8 and m["modes"] == 8
    assert m["high_quality"] == 1.0
    assert m["kl"] == pytest.approx(0.0, abs=1e-12)  # a uniform histogram is the target itself
    assert m["counts"].tolist() == [300] * 8


def test_samples_at_one_mode_cover_one_mode_with_kl_log_k():
    x = RING[[3] * 500] + 0.5 * STD
    m = metrics.mixture_metrics(x, RING, STD)
    assert m["modes_covered"] == 1 and m["high_quality"] == 1.0
    # KL(δ_3 ‖ U_8) = 1·log(1 / (1/8)) = log 8
    assert m["kl"] == pytest.approx(math.log(8))
    assert m["counts"][3] == 500


def test_two_of_eight_modes_evenly_give_kl_log_4():
    x = RING[[0, 5] * 100]
    m = metrics.mixture_metrics(x, RING, STD)
    assert m["modes_covered"] == 2
    assert m["kl"] == pytest.approx(math.log(4))  # 2 · ½ log(½ · 8)


def test_far_samples_are_never_high_quality():
    x = 10.0 * RING  # radius 10, far from every mode of the unit ring
    m = metrics.mixture_metrics(x, RING, STD)
    assert m["modes_covered"] == 0 and m["high_quality"] == 0.0
    assert math.isnan(m["kl"])
    assert m["counts"].sum() == 0


def test_the_three_std_boundary():
    # one sample 2.9σ from mode 0, one 3.1σ from mode 1 (radially outward)
    x = np.stack([RING[0] * (1 + 2.9 * STD), RING[1] * (1 + 3.1 * STD)])
    m = metrics.mixture_metrics(x, RING, STD)
    assert m["counts"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    assert m["high_quality"] == 0.5


def test_per_mode_std_is_a_mahalanobis_distance():
    means = np.array([[0.0, 0.0], [1.0, 0.0]])
    # x = 0.4 is 4σ from mode 0 (σ=0.1) but 2σ from mode 1 (σ=0.3): nearest by Mahalanobis is mode 1
    k, d = metrics.assign_modes(np.array([[0.4, 0.0]]), means, np.array([0.1, 0.3]))
    assert k.tolist() == [1] and d[0] == pytest.approx(2.0)


def test_true_mixture_samples_are_high_quality_at_the_chi_rate():
    rng = np.random.default_rng(0)
    means = np.array([[a, b] for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)], dtype=float)
    x = means[rng.integers(0, 25, 20000)] + 0.05 * rng.standard_normal((20000, 2))
    m = metrics.mixture_metrics(x, means, 0.05)
    assert m["modes_covered"] == 25
    # ‖ε‖/σ is chi with 2 degrees of freedom: P(< 3) = 1 − exp(−9/2) = 0.98889; 5 binomial SDs
    p = 1 - math.exp(-4.5)
    assert abs(m["high_quality"] - p) < 5 * math.sqrt(p * (1 - p) / 20000)
    assert m["kl"] < 0.01


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((5, 3)), "samples"),
        (np.zeros((0, 2)), "samples"),
        (np.full((2, 2), np.nan), "samples"),
    ],
)
def test_mixture_metrics_rejects_bad_samples(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.mixture_metrics(bad, RING, STD)


def test_mixture_metrics_rejects_bad_std_and_threshold():
    with pytest.raises(ValueError, match="std"):
        metrics.mixture_metrics(RING, RING, -1.0)
    with pytest.raises(ValueError, match="std"):
        metrics.mixture_metrics(RING, RING, np.ones(3))
    with pytest.raises(ValueError, match="threshold"):
        metrics.mixture_metrics(RING, RING, STD, threshold=0)


def test_js_divergence_bounds():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(1000)
    assert metrics.js_divergence_1d(a, a) == pytest.approx(0.0, abs=1e-15)
    # disjoint supports: JS = log 2 exactly (Goodfellow et al. 2014, Theorem 1's bound)
    assert metrics.js_divergence_1d(a, a + 100.0) == pytest.approx(math.log(2))
    b = rng.standard_normal(700) + 0.5
    assert metrics.js_divergence_1d(a, b, bins=20) == pytest.approx(metrics.js_divergence_1d(b, a, bins=20))
    with pytest.raises(ValueError, match="bins"):
        metrics.js_divergence_1d(a, b, bins=0)


def test_wasserstein1_of_a_shift_is_the_shift():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(500)
    assert metrics.wasserstein1_1d(a, a + 0.75) == pytest.approx(0.75)
    assert metrics.wasserstein1_1d(a, a) == 0.0
    # point masses at 0 (weight 1) vs {0, 1} (weights ½): W1 = ½
    assert metrics.wasserstein1_1d([0.0], [0.0, 1.0]) == pytest.approx(0.5)


def test_wasserstein1_matches_scipy_on_unequal_sizes():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(300), rng.normal(1.0, 2.0, 170)
    assert metrics.wasserstein1_1d(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)


def test_sliced_wasserstein():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((300, 8))
    shift = np.full(8, 0.5)
    assert metrics.sliced_wasserstein1(a, a) == 0.0
    sw = metrics.sliced_wasserstein1(a, a + shift, projections=16)
    # a translation by c moves each projection by |θ·c| <= ‖c‖
    assert 0.0 < sw <= np.linalg.norm(shift) + 1e-12
    with pytest.raises(ValueError, match="fake"):
        metrics.sliced_wasserstein1(a, a[:, :3])


def _energy_by_hand(a, b, unbiased=False):
    """2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ from every pair difference, without metrics' algebra."""
    a, b = np.asarray(a, float).reshape(len(a), -1), np.asarray(b, float).reshape(len(b), -1)

    def pairs(u, v):
        return np.linalg.norm(u[:, None, :] - v[None, :, :], axis=2)

    xx, yy = pairs(a, a), pairs(b, b)
    if unbiased:
        return (
            2 * pairs(a, b).mean() - xx.sum() / (len(a) * (len(a) - 1)) - yy.sum() / (len(b) * (len(b) - 1))
        )
    return 2 * pairs(a, b).mean() - xx.mean() - yy.mean()


def test_energy_distance_on_examples_worked_by_hand():
    # X = {0}, Y = {1}: 2·1 − 0 − 0
    assert metrics.energy_distance([0.0], [1.0]) == 2.0
    # X = {(0, 0)}, Y = {(3, 4)}: 2·5 (a 3-4-5 triangle)
    assert metrics.energy_distance([[0.0, 0.0]], [[3.0, 4.0]]) == pytest.approx(10.0, rel=1e-15)
    # X = {0, 2}, Y = {1, 1}: E|X−Y| = 1; V-statistic E|X−X'| = (0 + 2 + 2 + 0)/4 = 1, E|Y−Y'| = 0,
    # so E = 2 − 1 − 0 = 1; the U-statistic averages X's pairs over i != j only: (2 + 2)/2 = 2, E = 0
    assert metrics.energy_distance([0.0, 2.0], [1.0, 1.0]) == 1.0
    assert metrics.energy_distance([0.0, 2.0], [1.0, 1.0], unbiased=True) == 0.0
    with pytest.raises(ValueError, match="unbiased"):
        metrics.energy_distance([0.0], [1.0, 2.0], unbiased=True)
    with pytest.raises(ValueError, match="fake"):
        metrics.energy_distance(np.zeros((3, 2)), np.zeros((3, 3)))


def test_energy_distance_is_the_square_of_scipys_in_1d():
    """scipy.stats.energy_distance returns D = (2E|X−Y| − E|X−X'| − E|Y−Y'|)^(1/2) of the two
    empirical distributions (its docs), i.e. the square root of our V-statistic."""
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(300), rng.normal(1.0, 2.0, 170)
    assert metrics.energy_distance(a, b) == pytest.approx(stats.energy_distance(a, b) ** 2, rel=1e-10)


def test_energy_distance_against_every_pair_in_several_dimensions():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((120, 5)) + 100.0  # far from the origin: the centring keeps the Gram form exact
    b = rng.standard_normal((90, 5)) * 1.5 + 100.2
    for unbiased in (False, True):
        assert metrics.energy_distance(a, b, unbiased) == pytest.approx(
            _energy_by_hand(a, b, unbiased), rel=1e-9
        )
    assert metrics.energy_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # blocks of 7 rows give the same pair means as one block
    c = a - a.mean(axis=0)
    assert metrics._mean_pair_distance(c, c, chunk=7 * len(c)) == pytest.approx(
        metrics._mean_pair_distance(c, c), rel=1e-12
    )


def test_energy_test_p_values():
    rng = np.random.default_rng(7)
    a, same, shifted = (
        rng.standard_normal((80, 2)),
        rng.standard_normal((60, 2)),
        rng.standard_normal((60, 2)) + 1.0,
    )
    t = metrics.energy_test(a, shifted, permutations=99, seed=0)
    assert t["energy"] == pytest.approx(metrics.energy_distance(a, shifted), rel=1e-10)
    assert t["p_value"] == 1 / 100  # a shift of one std: no split of the pool comes close
    assert metrics.energy_test(a, same, permutations=99, seed=0)["p_value"] > 0.05
    with pytest.raises(ValueError, match="permutations"):
        metrics.energy_test(a, same, permutations=0)


SMALL = dict(g_hidden=(16,), d_hidden=(16,), batch_size=32, steps=3)


def test_evaluate_ring_does_not_touch_the_run_stream():
    gan = GAN(TrainConfig(dataset="ring", **SMALL)).train()
    before = gan.rng.state()
    m = metrics.evaluate(gan, n=500, seed=7)
    assert gan.rng.state() == before
    assert set(m) >= {"modes_covered", "high_quality", "kl", "counts", "n", "step"}
    assert m["n"] == 500 and m["step"] == 3
    assert metrics.evaluate(gan, n=500, seed=7)["counts"].tolist() == m["counts"].tolist()  # reproducible
    assert "modes" in metrics.format_metrics(m)


def test_evaluate_gaussian_and_digits():
    gan = GAN(TrainConfig(dataset="gaussian", noise_dim=1, **SMALL))
    m = metrics.evaluate(gan, n=300)
    assert 0.0 <= m["js"] <= math.log(2) and m["w1"] > 0
    assert "JS" in metrics.format_metrics(m)
    pytest.importorskip("sklearn")
    gan = GAN(TrainConfig(dataset="digits", g_output="tanh", noise_dim=4, **SMALL))
    m = metrics.evaluate(gan, n=100)
    assert m["sliced_w1"] > 0 and "sliced W1" in metrics.format_metrics(m)
    assert m["energy"] > 0 and "energy" in metrics.format_metrics(m)


def test_evaluate_scores_a_file_against_its_held_out_rows(tmp_path):
    """For a file, the energy distance is the U-statistic against the held-out rows themselves (not
    draws from them), on the standardized scale; the p-value is energy_test's on those rows."""
    x = np.random.default_rng(8).normal([5.0, -3.0, 100.0], [1.0, 0.1, 20.0], size=(120, 3))
    np.savetxt(tmp_path / "d.csv", x, delimiter=",")
    gan = GAN(
        TrainConfig(
            dataset="file",
            data_params={"path": str(tmp_path / "d.csv"), "holdout": 0.25},
            noise_dim=3,
            **SMALL,
        )
    ).train()
    m = metrics.evaluate(gan, n=300, seed=5)
    held = gan.data.held_out
    assert held.shape == (30, 3)
    fake = gan.data.encode(gan.sample(300, seed=5))
    assert m["energy"] == pytest.approx(
        metrics.energy_distance(gan.data.encode(held), fake, unbiased=True), rel=1e-12
    )
    assert m["energy_p"] == metrics.energy_test(gan.data.encode(held), fake, seed=5)["p_value"]
    assert m["energy_p"] == 1 / 200  # 3 steps of training: the samples are nothing like the data
    assert "energy" in metrics.format_metrics(m) and "(p 0.005)" in metrics.format_metrics(m)


def test_evaluate_rejects_bad_n():
    gan = GAN(TrainConfig(dataset="ring", **SMALL))
    with pytest.raises(ValueError, match="n"):
        metrics.evaluate(gan, n=1)
