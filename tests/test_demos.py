"""Smoke tests of the demos: each runs end to end at tiny sizes (--quick), writes its figure,
and returns numbers that obey what its figure claims where that holds at any size
(e.g. V(D, G) ≤ C(G) for every D, Theorem 1's two computations agree)."""

import dataclasses
import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

DEMOS = Path(__file__).resolve().parents[1] / "demos"


@pytest.fixture(scope="module")
def demo():
    sys.path.insert(0, str(DEMOS))
    try:
        yield lambda name: importlib.import_module(name)
    finally:
        sys.path.remove(str(DEMOS))


def run(demo, name, tmp_path, *extra):
    out = tmp_path / name
    with demo("_common").single_thread():  # tiny matrices: extra BLAS threads only cost time
        res = demo(name).main(["--quick", "--out", str(out), *extra])
    return res, out


def check_png(path):
    assert path.exists(), path
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 200_000


def test_demo1_saturation(demo, tmp_path, capsys):
    res, out = run(demo, "demo1_saturation", tmp_path)
    check_png(out / "saturation.png")
    mm, ns = res["results"]["minimax"][0], res["results"]["nonsaturating"][0]
    # same weights and random stream: both runs see the same D(G(z)) at the first G step
    assert mm["D_fake"][0] == pytest.approx(ns["D_fake"][0])
    # D trained ahead rejects the fakes (D < ½), where |∂L/∂l| is D (minimax) vs 1 − D (ns)
    assert mm["D_fake"][0] < 0.5
    assert ns["grad_norm_G"][0] > mm["grad_norm_G"][0]
    assert "non-saturating gradient is" in capsys.readouterr().out


def _trapezoid(f, x):
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(x)))


def _kl_density(a, m):
    """a·log(a/m), 0 where a = 0."""
    return np.where(a > 0, a * np.log(a / m), 0.0)


def test_demo2_figure1(demo, tmp_path):
    res, out = run(demo, "demo2_figure1", tmp_path)
    check_png(out / "figure1.png")
    for s in res["snapshots"]:
        x, p, q = s["x"], s["p_data"], s["p_g"]
        m = 0.5 * (p + q)
        with np.errstate(divide="ignore", invalid="ignore"):
            # JSD = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, by the trapezoid rule (0·log 0 = 0)
            jsd = 0.5 * _trapezoid(_kl_density(p, m), x) + 0.5 * _trapezoid(_kl_density(q, m), x)
        assert s["jsd"] == pytest.approx(jsd, rel=1e-9, abs=1e-12)
        assert s["C"] == pytest.approx(-math.log(4) + 2 * jsd)
        assert s["V"] <= s["C"] + 1e-6  # no D beats D* (Proposition 1)


def test_demo3_optimal_d(demo, tmp_path, capsys):
    res, out = run(demo, "demo3_optimal_d", tmp_path)
    check_png(out / "optimal_d.png")
    for r in res["results"]:
        assert r["max_V"] == pytest.approx(r["C"], abs=1e-3)  # Theorem 1, two computations
        assert r["V"] <= r["max_V"] + 1e-6  # any trained D stays below the maximum
        if r["closed"] is not None:
            assert r["C"] == pytest.approx(r["closed"], abs=1e-3)
    assert "gap C-V" in capsys.readouterr().out


def test_demo4_total_loss(demo, tmp_path):
    res, out = run(demo, "demo4_total_loss", tmp_path)
    check_png(out / "total_loss.png")
    h = res["history"]
    from minigan.training import HISTORY

    L_D, V = h[:, HISTORY.index("L_D")], h[:, HISTORY.index("V")]
    total, ns = h[:, HISTORY.index("total")], h[:, HISTORY.index("L_G_ns")]
    np.testing.assert_allclose(V, -L_D, rtol=1e-5)  # the min-max value is D's loss negated
    np.testing.assert_allclose(total, L_D + ns, rtol=1e-5)
    assert [e["step"] for e in res["evals"]] == [0, 10, 20]  # --quick: 20 steps, an evaluation every 10


def test_demo5_modes(demo, tmp_path):
    res, out = run(demo, "demo5_modes", tmp_path)
    check_png(out / "modes.png")
    mod = demo("demo5_modes")
    assert len(res["rows"]) == len(mod.VARIANTS)
    for (ds, vi), ms in res["by"].items():
        assert {m["modes"] for m in ms} == {
            8 if ds == "ring" else 9
        }  # the data set each run scored on (3×3 grid)
        row = res["rows"][vi]  # the printed table is the mean over these runs
        cell = row[1] if ds == "ring" else row[4]
        assert cell.startswith(f"{np.mean([m['modes_covered'] for m in ms]):.1f}")
    # every mark of the figure in its legend: the samples, a covered mode (+), a missed one (×)
    assert res["keys"] == [
        "G(z): the 2,500 samples of seed 0 that the title scores",
        "a mode covered: a sample within 3σ of it",
        "a mode missed: no sample within 3σ",
    ]


def test_demo6_digits(demo, tmp_path):
    pytest.importorskip("sklearn")
    res, out = run(demo, "demo6_digits", tmp_path)
    check_png(out / "digits.png")
    # every real digit has a nearest *other* image (> 0 away: the exclusion works); the distances are
    # the nearest-neighbour distances, recomputed here by brute force for a few rows of each
    fake, train = res["fake"], res["train"]
    assert np.all(res["d_loo"] > 0)
    assert len(res["d_fake"]) == len(fake) == 1000 and len(res["d_loo"]) == len(train) == 1797
    for i in (0, 1, 500, 999):
        np.testing.assert_allclose(
            res["d_fake"][i], np.min(np.linalg.norm(train - fake[i], axis=1)), rtol=1e-6
        )
    for i in (0, 900, 1796):
        others = np.linalg.norm(np.delete(train, i, axis=0) - train[i], axis=1)
        np.testing.assert_allclose(res["d_loo"][i], np.min(others), rtol=1e-6)


def test_demo7_dirac(demo, tmp_path, capsys):
    res, out = run(demo, "demo7_dirac", tmp_path)
    check_png(out / "dirac.png")
    r = res["results"]
    # the Jacobian at the equilibrium, from minigan's own field, is the paper's (arXiv 1801.04406, §2-§4)
    np.testing.assert_allclose(sorted(r["GAN (minimax)"]["eig"].imag), [-0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(r["GAN (minimax)"]["eig"].real, 0.0, atol=1e-6)
    np.testing.assert_allclose(sorted(r["WGAN (no clipping)"]["eig"].imag), [-1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(r["non-saturating + R1"]["eig"].real, -0.25, atol=1e-6)  # −γ/2, γ = 0.5
    # simultaneous steps on a purely imaginary spectrum move away: |1 + hλ| > 1
    assert r["WGAN (no clipping)"]["radius"]["simultaneous"] > 1.0
    assert r["GAN (minimax)"]["dist"]["simultaneous"] > r["GAN (minimax)"]["dist"]["alternating"]
    assert "eigenvalues of J" in capsys.readouterr().out
    # part 2 (minimax, h = 0.1, f'(0) = a = ½, μ = 0.5, consensus λ = 1): the eigenvalues of each update
    # map at (0, 0), by differences of the library's own steps, are those derived in docs/MATH.md §13.1
    m, h, a = res["methods"], 0.1, 0.5
    for name in ("simultaneous", "alternating", "extragradient", "optimistic", "consensus"):
        assert m[name]["error"] < 1e-9, name
    assert m["simultaneous, momentum"]["error"] < 1e-9 and m["alternating, momentum"]["error"] < 1e-9
    # their spectral radii, written out here: |1 ± iha|, 1, |1 − h²a² ± iha|, √((1 + √(1 − 4h²a²))/2),
    # |1 − hλa² ± iha|; momentum μ ≥ 0 moves away (> 1) both ways
    assert m["simultaneous"]["radius"] == pytest.approx(math.hypot(1, h * a), abs=1e-12)
    assert m["alternating"]["radius"] == pytest.approx(1.0, abs=1e-12)
    assert m["extragradient"]["radius"] == pytest.approx(math.hypot(1 - (h * a) ** 2, h * a), abs=1e-12)
    assert m["optimistic"]["radius"] == pytest.approx(math.sqrt((1 + math.sqrt(1 - 4 * (h * a) ** 2)) / 2))
    assert m["consensus"]["radius"] == pytest.approx(math.hypot(1 - h * a * a, h * a), abs=1e-12)
    assert m["simultaneous, momentum"]["radius"] > 1 and m["alternating, momentum"]["radius"] > 1
    # the trajectories agree: consensus falls fastest, simultaneous steps move out
    dist = [m[k]["dist"] for k in ("consensus", "extragradient", "alternating", "simultaneous")]
    assert dist == sorted(dist)
    assert {"simultaneous Adam", "extra-Adam", "optimistic Adam"} <= set(m)
    # unrolled SGD on D (docs/MATH.md §17.4): the code's eigenvalues are the derived ones, and their
    # radii, written out here from the determinant of each complex pair: |z|² = 1 − (2K − 1)h²a² for the
    # exact gradient, 1 − (K − 1)h²a² with θ_D^K held constant
    for K in (1, 5, 10):
        u = m[f"unrolled, K = {K}"]
        assert u["error"] < 1e-9, K
        assert u["radius"] == pytest.approx(math.sqrt(1 - (2 * K - 1) * (h * a) ** 2), abs=1e-12)
    held = m["unrolled, K = 5, θ_D^K constant"]
    assert held["error"] < 1e-9
    assert held["radius"] == pytest.approx(math.sqrt(1 - 4 * (h * a) ** 2), abs=1e-12)
    check_png(out / "dirac_methods.png")


def test_reproduce_pacgan(demo, tmp_path, capsys):
    res, out = run(demo, "reproduce_pacgan", tmp_path)
    check_png(out / "pacgan.png")
    assert (out / "results.json").exists()
    assert set(res["summary"]) == {"ring", "grid"}
    text = capsys.readouterr().out
    assert "6.3 ± 0.5" in text and "17.3 ± 0.8" in text  # the published GAN row is printed beside ours
    # a run this short is said to be one, on the terminal (and on the figure)
    assert "reduced protocol: 0.02 of 400 epochs, 1 of 10 trials. The red bands are PacGAN's result" in text
    # --status scores the same checkpoints again, training nothing: the run's own final numbers,
    # as trained and refreshed
    status = run(demo, "reproduce_pacgan", tmp_path, "--status")[0]
    assert "| ring | 0 | 1 of 1 |" in capsys.readouterr().out
    for r in res["results"]:
        got = status[f"seed=0,dataset=pacgan_{r['dataset']}"]
        assert got["step"] == r["steps"] == 1
        assert 100 * got["as_trained"]["high_quality"] == r["curve"][-1]["hq"]
        assert got["as_trained"]["modes_covered"] == r["curve"][-1]["modes"]
        assert (got["refreshed"]["modes_covered"], 100 * got["refreshed"]["high_quality"]) == (
            r["refreshed"]["modes"],
            r["refreshed"]["hq"],
        )
    cfg = demo("reproduce_pacgan").pacgan_config("ring", 0)
    assert (cfg.g_hidden, cfg.d_hidden, cfg.d_maxout, cfg.g_batch_norm) == ((400,) * 4, (200,) * 3, 5, True)
    assert (cfg.g_lr, cfg.betas[0], cfg.batch_size, cfg.mode) == (1e-4, 0.8, 100, "simultaneous")


def test_pacgan_summary_is_mean_and_standard_error(demo):
    """Their Table 1 gives mean ± standard error over 10 trials (its caption); ours likewise, by
    hand: values 1, 2, 3 → mean 2, s = 1, s.e. = 1/√3; one trial has no standard error."""
    rp = demo("reproduce_pacgan")
    mean, se, n = rp._mean_se([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3) and se == pytest.approx(1 / math.sqrt(3), rel=1e-12)
    assert math.isnan(rp._mean_se([5.0])[1]) and rp._pm(5.0, float("nan"), 1) == "5.0"
    assert rp._pm(2.0, 1 / math.sqrt(3), 2) == "2.00 ± 0.58"
    # the trials' standard deviation beside it: s = s.e.·√n = 1; their ring modes 0.5·√10 = 1.58
    assert rp._pm_sd(mean, se, n, 2) == "2.00 ± 0.58 (sd 1.00)"
    assert rp._pm_sd(6.3, 0.5, 10, 1) == "6.3 ± 0.5 (sd 1.6)" and rp._pm_sd(5.0, float("nan"), 1, 1) == "5.0"
    # two means 1 apart with standard errors 0.3 and 0.4: their difference has s.e. 0.5, so z = 2
    assert rp._z((2.0, 0.3), (1.0, 0.4)) == pytest.approx(2.0, rel=1e-12)


def test_pacgan_late_median_is_over_the_last_epochs_without_the_final_point(demo):
    """Epoch-end scores at epochs 1-9 (modes e mod 3, % HQ e) and a final point at 10: over the last
    5 epochs the evaluations at 6, 7, 8, 9 count (modes 0, 1, 2, 0 → 0.5; % HQ → 7.5)."""
    rp = demo("reproduce_pacgan")
    curve = [{"epoch": e, "modes": e % 3, "hq": float(e), "kl": None} for e in range(1, 10)]
    curve.append({"epoch": 10, "modes": 99, "hq": 99.0, "kl": 0.1})
    assert rp._late_median(curve, 5) == {"modes": 0.5, "hq": 7.5, "n": 4}
    assert rp._late_median(curve[-1:], 5) is None and rp._late_median([], 5) is None


def test_pacgan_monitoring_refresh_moves_only_the_running_statistics(demo):
    """Their epoch-end monitoring pass replayed, as Blocks keeps the statistics: each batch moves
    the first batch norm's population mean by 0.05 towards the batch mean of z @ W + b, and its
    divisor by 0.05 towards sqrt(biased variance + ε) (both computed here by hand); the layer then
    divides by exactly that divisor, and nothing else of the GAN changes."""
    rp = demo("reproduce_pacgan")
    from minigan.layers import BatchNorm
    from minigan.training import GAN

    cfg = dataclasses.replace(
        rp.pacgan_config("ring", 0, train_size=1000), g_hidden=(8, 8), d_hidden=(4,), dtype="float64"
    )
    gan = GAN(cfg)
    gan.train(3)
    params = {k: np.array(v) for k, v in gan.G.params().items()}
    bn = [layer for layer in gan.G.layers if isinstance(layer, BatchNorm)]
    W, b = (np.array(a) for a in (gan.G.layers[0].params["W"], gan.G.layers[0].params["b"]))
    mean = np.array(bn[0].buffers["running_mean"])
    div = np.sqrt(np.array(bn[0].buffers["running_var"]) * 0.99 + bn[0].eps)
    rng = gan.backend.random(7)
    for _ in range(2):
        x = np.array(rng.normal((100, 2))) @ W + b
        mean = 0.95 * mean + 0.05 * x.mean(axis=0)
        div = 0.95 * div + 0.05 * np.sqrt(x.var(axis=0) + bn[0].eps)  # numpy's var: the biased one
    step = gan.step
    rp.monitoring_refresh(gan, batches=2, seed=7)
    np.testing.assert_allclose(bn[0].buffers["running_mean"], mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.sqrt(bn[0].buffers["running_var"] + bn[0].eps), div, rtol=1e-12)
    assert gan.step == step
    for k, v in gan.G.params().items():
        np.testing.assert_array_equal(v, params[k], err_msg=k)


def test_demo8_game(demo, tmp_path):
    res, out = run(demo, "demo8_game", tmp_path)
    for name in ("game_minimax.png", "game_nonsaturating.png", "game_diagnostics.png"):
        check_png(out / name)
    for g in ("minimax", "nonsaturating"):
        assert (out / f"game_{g}.gif").read_bytes()[:6] == b"GIF89a"
        assert (out / f"evals_{g}.csv").exists()
        # --quick: 60 steps, diagnostics every max(log_every 10, 60 // 12) = 10 steps
        assert list(res["runs"][g]["evals"][:, 0]) == [10, 20, 30, 40, 50, 60]
    assert (out / "diagnostics.json").exists()


def test_make_figures_accounts_for_every_figure_of_the_docs(demo, capsys):
    """Every file of docs/figures/ is made by one job of demos/make_figures.py or listed, with its
    reason, as not made there; every job names the command of the docs that makes it."""
    mf = demo("make_figures")
    made = [f for job in mf.jobs(2) for f in job.figures]
    assert len(made) == len(set(made))
    on_disk = {p.name for p in mf.DOCS.iterdir()}
    assert set(made) | set(mf.NOT_MADE) == on_disk
    assert not set(made) & set(mf.NOT_MADE)
    mf.main(["--list"])
    text = capsys.readouterr().out
    assert "pacgan.png: PacGAN's Table 1 protocol" in text and "train: train_animation.gif" in text
    for job in mf.jobs(2):
        assert job.command[0] == sys.executable and all(src for src, _ in job.copies)
