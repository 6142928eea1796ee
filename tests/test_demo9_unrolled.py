"""Demo 9 (Metz et al.'s Figure 2, unrolled GANs) and the sweep of every game optimizer: the demo's
quick path end to end, its check of the ring's means, its orthogonal initialization, and the
sweep spec docs/sweeps/game_optimizers.toml."""

import importlib
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "demos" / "demo9_unrolled.py"
SPEC = ROOT / "docs" / "sweeps" / "game_optimizers.toml"


@pytest.fixture(scope="module")
def demo9():
    sys.path.insert(0, str(ROOT / "demos"))
    try:
        yield importlib.import_module("demo9_unrolled")
    finally:
        sys.path.remove(str(ROOT / "demos"))


def _run(tmp_path, *args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _png(path):
    assert path.exists(), path
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 200_000


def test_quick_run_trains_the_standard_and_unrolled_gans(tmp_path):
    r = _run(tmp_path, "--quick", "--out", "out")
    assert r.returncode == 0, r.stderr
    _png(tmp_path / "out" / "unrolled_ring.png")
    assert "8 distinct modes" in r.stdout
    table = r.stdout[r.stdout.index("PacGAN's metrics") : r.stdout.index("all runs")]
    # --quick: 40 steps, a snapshot every 20 -> steps 0, 20, 40 for each of the three methods
    for method in ("standard GAN", "unrolled K=1", "unrolled K=5"):
        steps = [line.split()[-4] for line in table.splitlines() if line.lstrip().startswith(method)]
        assert steps[:3] == ["0", "20", "40"], table
    assert "paper App. A" in r.stdout and "Deviations from the paper" in r.stdout
    # --replot reads OUT/results.npz back: the same table, nothing trained
    again = _run(tmp_path, "--replot", "--out", "out")
    assert again.returncode == 0, again.stderr
    assert table in again.stdout


def test_a_bad_option_exits_2_in_one_line(tmp_path):
    r = _run(tmp_path, "--ks", "1,x")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].endswith("--ks: expected comma-separated integers, got '1,x'")


def test_a_seven_mode_ring_is_refused(demo9):
    # the notebook's ring: np.linspace(0, 2π, 8) puts its first and last mean at angle 0 and 2π
    a = np.linspace(0, 2 * np.pi, 8)
    means = np.stack([np.sin(a), np.cos(a)], axis=1)
    with pytest.raises(ValueError, match=r"means 0 and 7 are .* apart, not more than 10 std = 0.1"):
        demo9.check_distinct_means(means, 0.01)


def test_minigans_ring_has_eight_distinct_means(demo9):
    from minigan.backend import get_backend
    from minigan.data import make_dataset

    b = get_backend("numpy")
    ring = make_dataset("ring", b, b.random(0))
    # neighbours on a circle of radius 2 with 8 equally spaced means: chord 2·2·sin(π/8)
    assert demo9.check_distinct_means(ring.means, ring.std) == pytest.approx(4 * math.sin(math.pi / 8))


def test_orthogonal_init_with_gain_and_ds_input_scale(demo9):
    from minigan.backend import get_backend

    G, D = demo9.paper_networks(get_backend("numpy"), seed=3)
    assert G.spec.sizes == (256, 128, 128, 2) and D.spec.sizes == (2, 128, 1)
    p = {k: np.asarray(v, dtype=np.float64) for k, v in G.params().items()}
    w0 = p["0.W"]  # (256, 128): orthonormal columns times 0.8
    np.testing.assert_allclose(w0.T @ w0, 0.64 * np.eye(128), atol=1e-5)
    w_out = p["4.W"]  # (128, 2)
    np.testing.assert_allclose(w_out.T @ w_out, 0.64 * np.eye(2), atol=1e-6)
    d0 = np.asarray(D.params()["0.W"], dtype=np.float64)  # (2, 128): orthonormal rows × 0.8 × 1/4
    np.testing.assert_allclose(d0 @ d0.T, 0.04 * np.eye(2), atol=1e-7)
    assert all(not np.any(np.asarray(v)) for k, v in {**G.params(), **D.params()}.items() if k.endswith(".b"))


def test_the_sweep_spec_has_every_game_optimizer():
    from minigan.app.sweep import load_spec

    spec = load_spec(SPEC)
    axes = dict(spec.axes)
    assert axes["dataset"] == ["ring", "grid"] and axes["seed"] == [0, 1, 2]
    methods = {v["name"]: v for v in axes["method"]}
    assert list(methods) == [
        "alternating",
        "simultaneous",
        "extragradient",
        "optimistic",
        "consensus",
        "unrolled-K5",
        "unrolled-K5-minimax",
    ]
    configs = {p.values["method"]: p.config for p in spec.points() if p.values["dataset"] == "ring"}
    assert configs["alternating"]["mode"] == "fresh" and configs["alternating"]["update"] == "plain"
    assert configs["simultaneous"]["mode"] == "simultaneous" and configs["simultaneous"]["update"] == "plain"
    for key in ("extragradient", "optimistic", "consensus", "unrolled-K5", "unrolled-K5-minimax"):
        assert configs[key]["update"] == key.split("-")[0] and configs[key]["mode"] == "simultaneous"
    for key in ("unrolled-K5", "unrolled-K5-minimax"):
        assert configs[key]["unroll_steps"] == 5 and configs[key]["unroll_constant"] is False
    assert configs["unrolled-K5-minimax"]["g_loss"] == "minimax"
    assert {c["g_loss"] for k, c in configs.items() if k != "unrolled-K5-minimax"} == {"nonsaturating"}
    for c in configs.values():
        assert c["penalty"] is None and c["lr_decay"] == 1.0 and c["k"] == 1


def test_quick_sweep_draws_its_figure(tmp_path):
    r = _run(tmp_path, "--quick", "--sweep", "sweep", "--out", "out")
    assert r.returncode == 0, r.stderr
    _png(tmp_path / "out" / "game_optimizers.png")
    lines = [line.split() for line in r.stdout.splitlines()]
    rows = [t for t in lines if len(t) > 2 and t[1] in ("ring", "grid") and t[2] == "1/1"]
    assert len(rows) == 14, r.stdout  # 7 methods × 2 data sets, each run done
