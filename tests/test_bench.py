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
                "torch_floor_ms", "floor_vs_torch_floor", "torch_floor_ratio",
                "peak_bytes", "model_bytes", "mem_ratio", "gflop", "repeats", "breakdown"):
        assert key in r, key
    assert data["environment"]["malloc_keeps_freed_memory"] in (True, False)
    if r["torch_ms"] is not None:  # PyTorch installed: its floor is timed in the same rounds
        tf = sorted(x["ms_floor"] / x["ms_torch_floor"] for x in r["rounds"])
        assert r["floor_vs_torch_floor"] == pytest.approx(tf[1])
    assert r["config"] == "tiny" and r["repeats"] == 3
    assert r["ms_step"] > 0 and r["floor_ms"] > 0 and r["peak_bytes"] > 0
    ratios = sorted(x["ms_step"] / x["ms_floor"] for x in r["rounds"])
    assert len(ratios) == 3 and r["floor_ratio"] == pytest.approx(ratios[1])  # median of the rounds
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
    """Record every matrix product of one real train_step (each goes through
    ``layers.matmul``) and compare with ``step_gemms``: same shapes, same count."""
    from minigan import layers

    cfg = bench.BenchConfig("t", 6, 3, 2, 5, 2)
    gan = bench.make_gan(cfg, "strict")
    seen = []
    orig = layers.matmul

    def matmul(a, b):
        assert a.ndim == 2 and b.ndim == 2
        seen.append((a.shape[0], a.shape[1], b.shape[1]))
        return orig(a, b)

    monkeypatch.setattr(layers, "matmul", matmul)
    gan.train_step()
    monkeypatch.undo()
    want = []
    for kind, n, a, b in bench.step_gemms(cfg):
        want.append({"fwd": (n, a, b), "dW": (a, n, b), "dx": (n, b, a)}[kind])
    assert sorted(seen) == sorted(want)
    assert bench.step_flops(cfg) == sum(2 * n * k * p for n, k, p in seen)


def test_an_outer_product_is_the_matrix_product(backend):
    """layers.matmul does a (N, 1) @ (1, F) product as a broadcast: the same numbers as @."""
    from minigan import layers

    rng = backend.random(3)
    for a_shape, b_shape in [((7, 1), (1, 5)), ((1, 1), (1, 4)), ((6, 3), (3, 2))]:
        a, b = rng.normal(a_shape), rng.normal(b_shape)
        got = backend.to_numpy(layers.matmul(a, b))
        want = backend.to_numpy(a) @ backend.to_numpy(b)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


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


# -- the speed paths compute what the plain ones do -------------------------------------------
@pytest.mark.parametrize("kind", ["relu", "leaky_relu"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_activation_inplace_paths_match_the_plain_ones(monkeypatch, backend, kind, overwrite):
    """forward_inplace (replaced, or overwritten block by block) and backward_inplace (several
    blocks) give forward's output and backward's dx, and backward accepts either cache."""
    from minigan import layers

    monkeypatch.setattr(layers, "BLOCK_MIN", 8)
    monkeypatch.setattr(layers, "BLOCK_MAX", 8)  # 8 elements a block: several blocks
    monkeypatch.setattr(layers, "INPLACE_MIN", 1 if overwrite else 10**9)
    layer = layers.ReLU(backend) if kind == "relu" else layers.LeakyReLU(backend, 0.2)
    rng = np.random.default_rng(0)
    x_h = rng.standard_normal((7, 3)).astype(np.float32)
    d_h = rng.standard_normal((7, 3)).astype(np.float32)
    out, cache = layer.forward(backend.asarray(x_h.copy()))
    dx, _ = layer.backward(backend.asarray(d_h.copy()), cache)
    out2 = layer.forward_inplace(backend.asarray(x_h.copy()))  # (numpy's asarray does not copy)
    np.testing.assert_array_equal(backend.to_numpy(out2), backend.to_numpy(out))
    for c in (cache, out2):  # the input or the output as the cache
        dx2 = layer.backward_inplace(backend.asarray(d_h.copy()), c)
        np.testing.assert_array_equal(backend.to_numpy(dx2), backend.to_numpy(dx))


def test_mlp_inplace_forward_and_released_backward_match_the_defaults(backend):
    from minigan.networks import MLP, MLPSpec

    net = MLP(MLPSpec((3, 6, 5, 2), "relu"), backend, seed=0)
    x = backend.random(1).normal((9, 3))
    dout = backend.random(2).normal((9, 2))
    out, cache = net.forward(x)
    dx, grads = net.backward(dout, cache)
    out2, cache2 = net.forward(x, inplace=True)
    dx2, grads2 = net.backward(dout, cache2, release=True)
    assert all(c is None for c in cache2)
    for a, b in [(out, out2), (dx, dx2)] + [(grads[k], grads2[k]) for k in grads]:
        np.testing.assert_array_equal(backend.to_numpy(a), backend.to_numpy(b))


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_blocked_optimizer_update_matches_one_block(monkeypatch, name):
    """The rule runs block by block over the flat vector: blocks of 5 elements (cutting
    across parameters) give the same parameters and state as one block."""
    from minigan import optim

    rng = np.random.default_rng(0)
    p0 = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal((7,))}
    grads = [{k: rng.standard_normal(v.shape) for k, v in p0.items()} for _ in range(3)]
    results = []
    for block in (5, 10**9):
        monkeypatch.setattr(optim, "BLOCK", block)
        opt = optim.make_optimizer(name, 0.01, momentum=0.9)
        p = {k: v.copy() for k, v in p0.items()}
        for g in grads:
            opt.step(p, g)
        results.append((p, opt.state_dict()))
    (p1, s1), (p2, s2) = results
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    assert s1.keys() == s2.keys()
    for k in s1:
        np.testing.assert_array_equal(np.asarray(s1[k]), np.asarray(s2[k]))


def test_the_breakdown_splits_a_step_into_products_optimizers_and_the_rest():
    """step_breakdown times the products and the optimizer updates inside real steps: each
    part is positive, they add up to the step, and the hooks are gone afterwards."""
    from minigan import layers, optim

    gan = bench.make_gan(TINY, "numpy")
    before = layers.matmul, optim.Optimizer.step
    b = bench.step_breakdown(gan, 3)
    assert (layers.matmul, optim.Optimizer.step) == before
    assert gan.step == 4  # a warm-up step and 3 timed ones
    for k in ("ms_products", "ms_optimizers", "ms_rest"):
        assert b[k] > 0
    assert b["ms_products"] + b["ms_optimizers"] + b["ms_rest"] == pytest.approx(b["ms_step"])
