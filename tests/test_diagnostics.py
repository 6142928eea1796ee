"""minigan/diagnostics.py: each warning fires on a run made to fail that way, and no warning
fires on the default run (``GAN(TrainConfig())``, run once here: about 15 s on 2 cores)."""

import numpy as np
import pytest

from minigan import metrics
from minigan.app.diagnostics import Diagnostics
from minigan.training import GAN, HISTORY, TrainConfig

SMALL = dict(
    g_hidden=(32, 32), d_hidden=(32, 32), batch_size=64, log_every=25, penalty=None
)  # the plain game


def diagnose(gan, every=100, n=500):
    printed = []
    diag = Diagnostics(gan, every, n=n, say=printed.append)
    with np.errstate(over="ignore", invalid="ignore"):
        gan.train(callback=diag)
    return diag, printed


def test_saturation_minimax_with_d_far_ahead():
    """k = 5 D steps at 1e-2 against a G at 1e-5: D wins, L_D → 0 and D(G(z)) → 0."""
    cfg = dict(steps=600, k=5, d_lr=1e-2, g_lr=1e-5, **SMALL)
    diag, printed = diagnose(GAN(TrainConfig(g_loss="minimax", **cfg)))
    assert "saturation" in diag.warnings
    step, msg = diag.warnings["saturation"]
    assert printed.count(f"warning: step {step}: {msg}") == 1  # printed once, with its step
    # the same run under the non-saturating loss: D may win, but G's gradient does not vanish
    diag, _ = diagnose(GAN(TrainConfig(g_loss="nonsaturating", **cfg)))
    assert "saturation" not in diag.warnings


def test_exploding_gradient_norms_with_a_huge_learning_rate():
    gan = GAN(TrainConfig(steps=200, optimizer="sgd", g_lr=0.5, d_lr=0.5, momentum=0.9, **SMALL))
    diag, _ = diagnose(gan)
    assert "exploding" in diag.warnings and diag.warnings["exploding"][0] <= 100


def test_modes_dropping_without_the_learning_rate_decay():
    """Adam at 1e-2, constant: the samples orbit the modes and coverage falls from its peak."""
    gan = GAN(TrainConfig(steps=1200, lr_decay=1.0, g_lr=1e-2, d_lr=1e-2, **{**SMALL, "log_every": 50}))
    diag, _ = diagnose(gan)
    assert "mode_drop" in diag.warnings
    covered = [r[1] for r in diag.rows]
    step = diag.warnings["mode_drop"][0]
    i = [r[0] for r in diag.rows].index(step)
    assert covered[i] < max(covered[: i - 1]) and covered[i - 1] < max(covered[: i - 1])


def test_d_stalled_when_d_stays_at_one_half_far_from_the_data():
    """D's last layer zeroed and its learning rate ~0: D ≡ ½ whatever G does; G starts far from the ring."""
    gan = GAN(TrainConfig(steps=300, d_lr=1e-12, **SMALL))
    last = len(gan.D.layers) - 1
    for name, p in gan.D.params().items():
        if name.startswith(f"{last}."):
            gan.D.set_param(name, gan.xp.zeros_like(p))
    diag, _ = diagnose(gan)
    assert "d_stalled" in diag.warnings and diag.warnings["d_stalled"][0] == 100  # held at 100 and 200


def _small_table_gan(tmp_path, rows=178, dim=13):
    """A GAN on a file of ``rows`` skewed, correlated (log-normal) rows, the size of scikit-learn's wine
    table, 10 % held out: 18 reference rows, 160 training rows."""
    from minigan.backend import get_backend
    from minigan.data import FileDataset

    rng = np.random.default_rng(0)
    x = np.exp(rng.standard_normal((rows, dim)) @ (0.4 * rng.standard_normal((dim, dim))))
    np.save(tmp_path / "table.npy", x)
    b = get_backend("numpy")
    r = b.random(0)
    data = FileDataset(b, r, str(tmp_path / "table.npy"), holdout=0.1)
    return GAN(TrainConfig(steps=1, **SMALL), data=data, rng=r)


def test_d_stalled_is_not_far_at_the_equilibrium_on_a_small_held_out_set(tmp_path):
    """p_g = p_data gives D ≡ ½, and its samples — the training rows themselves — lie at the floor:
    the distance 160 rows have from 18 held-out ones, computed here. That is more than half the
    spread (the old threshold, which called a perfect generator far: the README's wine run), but not
    far by the calibrated test; a point mass at the mean (W1 = the spread) still is."""
    gan = _small_table_gan(tmp_path)
    diag = Diagnostics(gan, 100, n=1000)
    data = gan.data
    ref = data.encode(data.held_out[np.random.default_rng(1).integers(0, 18, 1000)])
    rows = gan.backend.to_numpy(data.points).astype(np.float64)
    perfect = metrics.sliced_wasserstein1(ref, rows[np.random.default_rng(2).integers(0, 160, 1000)], seed=3)
    assert perfect > 0.5 * diag.spread  # the old test's verdict on a perfect generator: far
    assert not diag.far(perfect)
    assert diag.far(diag.spread) and diag.far(0.9 * diag.spread)


def test_d_stalled_needs_two_evaluations_in_a_row(tmp_path):
    """D ≈ ½ far from the data at one evaluation is a pause (e.g. early in a run), not a stop: the
    warning needs the next evaluation too, and names the first step of the two."""
    gan = _small_table_gan(tmp_path)
    printed = []
    diag = Diagnostics(gan, 100, n=500, say=printed.append)
    half = np.full((5, len(HISTORY)), 0.5)
    apart = half.copy()
    apart[:, HISTORY.index("D_fake")] = 0.4  # D tells them apart
    far = diag.spread
    for step, recent in ((100, half), (200, apart), (300, half)):
        diag.rows.append([step, far])
        diag._check_evaluation(step, recent)
    assert diag.warnings == {} and printed == []
    diag.rows.append([400, far])
    diag._check_evaluation(400, half)
    assert diag.warnings["d_stalled"][0] == 300 and len(printed) == 1


def test_evaluations_are_pacgans_metrics_on_fixed_noise():
    gan = GAN(TrainConfig(steps=50, **SMALL))
    diag, _ = diagnose(gan, every=50)
    assert [r[0] for r in diag.rows] == [50]
    m = metrics.mixture_metrics(gan.sample(500, seed=777), gan.data.means, gan.data.std)
    assert diag.rows[0][1:3] == [m["modes_covered"], m["high_quality"]]
    assert gan.history_array().shape == (50, len(HISTORY))


def test_bad_input_is_one_clear_line():
    gan = GAN(TrainConfig(steps=1, **SMALL))
    with pytest.raises(ValueError, match="^every: expected a positive integer, got 0"):
        Diagnostics(gan, 0)


def test_no_warning_on_the_default_run():
    gan = GAN(TrainConfig())
    diag, printed = diagnose(gan, every=500, n=1000)
    assert diag.warnings == {} and printed == []
    assert [r[1] for r in diag.rows][-1] == 8  # and it did learn: all modes at the end


def test_running_median_is_numpys_median_after_every_addition():
    """The exploding check's baseline, kept as two heaps, against np.median of everything so far:
    equal after each batch of additions (odd and even counts, ties, negative numbers, a start
    from existing values)."""
    from minigan.app.diagnostics import _RunningMedian

    rng = np.random.default_rng(3)
    start = rng.normal(size=7)
    r, seen = _RunningMedian(start), list(start)
    assert r.median() == np.median(seen) and len(r) == 7
    for size in (1, 2, 5, 100, 1, 3):
        batch = np.round(rng.normal(size=size), 1)  # rounded: ties
        r.add(batch)
        seen += list(batch)
        assert len(r) == len(seen) and r.median() == np.median(seen)
    empty = _RunningMedian()
    empty.add([2.0, 4.0])
    assert empty.median() == 3.0
