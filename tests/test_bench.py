"""The training-step benchmark: it runs and writes its JSON, it times exactly the GEMMs a
step does, and a float32 step never touches float64."""

import json

import numpy as np
import pytest

from minigan import bench
from minigan.backend import get_backend

TINY = bench.CONFIGS["tiny"]


def test_smoke_run_writes_every_field(tmp_path):
    out = tmp_path / "bench.json"
    assert bench.main(["--configs", "tiny", "--repeats", "3", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {"date", "cpu", "backend", "blas", "numpy"} <= set(data["environment"])
    (r,) = data["results"]
    for key in ("ms_step", "gflops", "floor_ms", "floor_ratio", "torch_ms", "speedup_vs_torch",
                "peak_bytes", "model_bytes", "mem_ratio", "gflop", "repeats"):
        assert key in r, key
    assert r["config"] == "tiny" and r["repeats"] == 3
    assert r["ms_step"] > 0 and r["floor_ms"] > 0 and r["peak_bytes"] > 0
    assert r["floor_ratio"] == pytest.approx(r["ms_step"] / r["floor_ms"])
    mb = r["model_bytes"]
    assert mb["total"] == mb["params"] + mb["opt_state"] + mb["activations"]
    # Adam keeps two moments per parameter
    assert mb["opt_state"] == 2 * mb["params"]


def test_custom_config_and_bad_configs():
    c = bench.parse_config("8,2,3,4,1")
    assert (c.batch, c.noise_dim, c.data_dim, c.width, c.layers) == (8, 2, 3, 4, 1)
    for bad in ("huge", "1,2,3", "8,2,0,4,1", "a,b,c,d,e"):
        with pytest.raises(ValueError, match="configs"):
            bench.parse_config(bad)
    with pytest.raises(SystemExit):
        bench.main(["--configs", "huge"])


def test_the_floor_times_exactly_the_matrix_products_of_a_step(monkeypatch):
    """Record every 2-D @ 2-D product of one real train_step (array-api-strict lets us wrap
    ``Array.__matmul__``) and compare with ``step_gemms``: same shapes, same count."""
    from array_api_strict._array_object import Array

    cfg = bench.BenchConfig("t", 6, 3, 2, 5, 2)
    gan = bench.make_gan(cfg, "strict")
    seen = []
    orig = Array.__matmul__

    def matmul(a, b):
        if a.ndim == 2 and b.ndim == 2:
            seen.append((a.shape[0], a.shape[1], b.shape[1]))
        return orig(a, b)

    monkeypatch.setattr(Array, "__matmul__", matmul)
    gan.train_step()
    monkeypatch.undo()
    want = []
    for kind, n, a, b in bench.step_gemms(cfg):
        want.append({"fwd": (n, a, b), "dW": (a, n, b), "dx": (n, b, a)}[kind])
    assert sorted(seen) == sorted(want)
    assert bench.step_flops(cfg) == sum(2 * n * k * p for n, k, p in seen)


def test_a_float32_step_never_makes_float64():
    """strict's no_float64 device refuses any float64 array: a full train_step there (D step,
    fresh G step, both Adam updates, the history row) proves none is made."""
    b = get_backend("strict:no_float64")
    gan = bench.make_gan(TINY, b.spec)
    for _ in range(2):
        row = gan.train_step()
        assert row.dtype == b.xp.float32
    h = gan.history_array()
    assert h.shape == (2, 9) and np.isfinite(h).all()
    for net in (gan.G, gan.D):
        assert all(p.dtype == b.xp.float32 for p in net.params().values())
    for opt in (gan.g_opt, gan.d_opt):
        assert all(a.dtype == b.xp.float32 for d in opt.slots.values() for a in d.values())
