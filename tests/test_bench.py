"""The training-step benchmark: it runs and writes its JSON, it times exactly the GEMMs a
step does, and a float32 step never touches float64."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigan.app import bench
from minigan.backend import get_backend

TINY = bench.CONFIGS["tiny"]
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_smoke_run_writes_every_field(tmp_path):
    out = tmp_path / "bench.json"
    assert bench.main(["--configs", "tiny", "--repeats", "3", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {"date", "cpu", "backend", "blas", "numpy"} <= set(data["environment"])
    (r,) = data["results"]
    for key in (
        "ms_step",
        "gflops",
        "floor_ms",
        "floor_ratio",
        "torch_ms",
        "speedup_vs_torch",
        "torch_floor_ms",
        "floor_vs_torch_floor",
        "torch_floor_ratio",
        "peak_bytes",
        "model_bytes",
        "mem_ratio",
        "gflop",
        "repeats",
        "breakdown",
    ):
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
    for bad in (
        "huge",
        "1,2,3",
        "8,2,0,4,1",
        "a,b,c,d,e",
        "1e23,2,2,2,2",
        "8,2,3,4,65",
        f"{2**20 + 1},2,2,2,2",
    ):
        with pytest.raises(ValueError, match="configs"):
            bench.parse_config(bad)
    with pytest.raises(ValueError, match="GiB"):  # each field allowed, the whole too big to hold
        bench.parse_config("65536,2,2,65536,3")
    assert bench.estimated_bytes(bench.parse_config("4096,64,64,1024,3")) < bench.MAX_BYTES
    for repeats in (0, 10**23, 2.5):
        with pytest.raises(ValueError, match="repeats"):
            bench.bench_config(TINY, repeats=repeats, use_torch=False)
    with pytest.raises(SystemExit):
        bench.main(["--configs", "huge"])


class _Recorder(bench.TimedOps):
    """A timing engine that also records the (N, K, F) shape of every matrix product."""

    def __init__(self, ops):
        super().__init__(ops, lambda: None)
        self.seen = []

    def matmul(self, a, b):
        assert a.ndim == 2 and b.ndim == 2
        self.seen.append((a.shape[0], a.shape[1], b.shape[1]))
        return super().matmul(a, b)

    def affine(self, x, W, b):
        self.seen.append((x.shape[0], x.shape[1], W.shape[1]))
        return super().affine(x, W, b)


def test_the_floor_times_exactly_the_matrix_products_of_a_step():
    """Record every matrix product of one real train_step (each goes through the engine's
    ``matmul`` or ``affine``) and compare with ``step_gemms``: same shapes, same count."""
    cfg = bench.BenchConfig("t", 6, 3, 2, 5, 2)
    rec = _Recorder(get_backend("strict").ops)
    gan = bench.make_gan(cfg, "strict", ops=rec)
    gan.train_step()
    want = []
    for kind, n, a, b in bench.step_gemms(cfg):
        want.append({"fwd": (n, a, b), "dW": (a, n, b), "dx": (n, b, a)}[kind])
    assert sorted(rec.seen) == sorted(want)
    assert bench.step_flops(cfg) == sum(2 * n * k * p for n, k, p in rec.seen)
    assert rec.updates > 0  # both optimizers went through the engine given


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


def test_a_released_backward_matches_the_default(backend):
    """backward(release=True) empties the cache as it goes and computes the same gradients."""
    from minigan.networks import MLP, MLPSpec

    net = MLP(MLPSpec((3, 6, 5, 2), "relu"), backend, seed=0)
    x = backend.random(1).normal((9, 3))
    dout = backend.random(2).normal((9, 2))
    out, cache = net.forward(x)
    dx, grads = net.backward(dout, cache)
    out2, cache2 = net.forward(x)
    dx2, grads2 = net.backward(dout, cache2, release=True)
    assert all(c is None for c in cache2)
    for a, b in [(out, out2), (dx, dx2)] + [(grads[k], grads2[k]) for k in grads]:
        np.testing.assert_array_equal(backend.to_numpy(a), backend.to_numpy(b))


def test_the_breakdown_splits_a_step_into_products_optimizers_and_the_rest():
    """step_breakdown times the products and the optimizer updates inside real steps, on a GAN of
    its own built with a timing engine: each part is positive, they add up to the step, and
    nothing outside that GAN is touched (numpy arrays still get the plain NumpyOps)."""
    from minigan import engine

    b = bench.step_breakdown(TINY, "numpy", 3)
    assert type(engine.ops_for(np.zeros(1))) is engine.NumpyOps
    for k in ("ms_products", "ms_optimizers", "ms_rest"):
        assert b[k] > 0
    assert b["ms_products"] + b["ms_optimizers"] + b["ms_rest"] == pytest.approx(b["ms_step"])


def test_the_pacgan_config_times_the_products_of_its_step():
    """PacGAN's simultaneous step (batch norm, maxout): every matrix product recorded in a real
    step, against ``step_gemms`` for the config."""
    cfg = bench.CONFIGS["pacgan-tiny"]
    rec = _Recorder(get_backend("strict").ops)
    gan = bench.make_gan(cfg, "strict", ops=rec)
    gan.train_step()
    want = [
        {"fwd": (n, a, b), "dW": (a, n, b), "dx": (n, b, a)}[kind] for kind, n, a, b in bench.step_gemms(cfg)
    ]
    assert sorted(rec.seen) == sorted(want)
    assert bench.step_flops(cfg) == sum(2 * n * k * p for n, k, p in rec.seen)


def test_the_pacgan_peer_takes_the_same_step_as_minigan():
    """The PyTorch peer of the ``pacgan`` config is the same computation: on minigan's own batch,
    one simultaneous step by each moves every weight of G and D alike (float32, to 1e-5)."""
    torch = pytest.importorskip("torch")
    cfg = bench.CONFIGS["pacgan-tiny"]
    gan = bench.make_gan(cfg, "numpy", seed=3)
    gan.train(2)  # Adam's moments and batch norm's running statistics away from their start
    seen = {}
    normal, sample = gan.rng.normal, gan.data.sample
    gan.rng.normal = lambda shape: seen.setdefault("z", normal(shape))
    gan.data.sample = lambda m: seen.setdefault("x", sample(m))
    step, _, _ = bench.torch_pacgan_step_fn(
        cfg, gan, "cpu", 1, batch=lambda: (torch.from_numpy(seen["z"]), torch.from_numpy(seen["x"]))
    )
    # the peer starts from minigan's weights and a fresh Adam: minigan takes its step with a fresh
    # Adam too, so after it m = (1 − β1)·g holds minigan's gradient of every parameter
    gan.g_opt, gan.d_opt = gan.config.build_optimizer("g"), gan.config.build_optimizer("d")
    gan.train_step()
    step()
    for net, opt, tnet in zip((gan.G, gan.D), (gan.g_opt, gan.d_opt), step.nets):
        names = list(net.params())  # "i.W", "i.b", "i.gamma", "i.beta" in layer order, as torch's
        grads = [opt.slots["m"][k] / (1 - opt.b1) for k in names]
        params = [net.params()[k] for k in names]
        theirs = list(tnet.parameters())
        assert len(names) == len(theirs)
        scale = max(
            float(np.abs(g).max()) for g in grads
        )  # a bias before batch norm has gradient 0 (rounding)
        assert scale > 0
        for k, g, p, t in zip(names, grads, params, theirs):
            tg, tp = t.grad.numpy(), t.detach().numpy()
            tg, tp = (tg.T, tp.T) if tg.ndim == 2 else (tg, tp)
            np.testing.assert_allclose(g, tg, rtol=1e-4, atol=1e-5 * scale, err_msg=k)
            np.testing.assert_allclose(p, tp, rtol=1e-5, atol=1e-6, err_msg=k)


def test_the_bench_names_a_forced_blas_kernel(monkeypatch):
    """With OPENBLAS_CORETYPE set, the bench says so and names the kernel the CPU would pick (read
    in a child Python without it); without it, no warning and no child."""
    pytest.importorskip("threadpoolctl")
    for k in bench.FORCING_VARS:
        monkeypatch.delenv(k, raising=False)
    assert bench.native_blas_kernel() is None
    env = {"openblas_env": {"OPENBLAS_CORETYPE": None}, "blas": {"architecture": "SkylakeX"}}
    assert bench.kernel_warning(env) is None
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    native = bench.native_blas_kernel()
    if bench.blas_info() is None or bench.blas_info()["internal_api"] != "openblas":
        pytest.skip("numpy's BLAS is not OpenBLAS")
    assert isinstance(native, str) and native
    env = {
        "openblas_env": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": None},
        "blas": {"architecture": "Haswell"},
        "blas_native_kernel": native,
    }
    line = bench.kernel_warning(env)
    assert (
        line.startswith("warning: OPENBLAS_CORETYPE=Haswell forces") and f"this CPU's own is {native}" in line
    )


def _bench_cli(args, cwd, *module):
    env = {**os.environ, "COLUMNS": "300"}  # argparse's help unwrapped
    cmd = [sys.executable, "-m", *(module or ("minigan", "bench")), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--threads", "1e23"], "argument --threads: expected an integer in [1, 1,024], got '1e23'"),
        (["--threads", "1" + "0" * 23], "argument --threads: expected an integer in [1, 1,024]"),
        (["--repeats", "1e23"], "argument --repeats: expected an integer in [1, 100,000], got '1e23'"),
        (["--repeats", "1" + "0" * 23], "argument --repeats: expected an integer in [1, 100,000]"),
        (
            ["--configs", "1e23,2,2,2,2"],
            "'m,noise,data,width,layers' (positive integers, each at most 1,048,576",
        ),
        (["--configs", "1" + "0" * 23 + ",2,2,2,2"], "m: expected an integer in [1, 1,048,576]"),
        (["--configs", "small+65536,2,2,65536,3"], "needs about 288.0 GiB"),
        (["--backend", "tpu"], "backend: expected one of"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_code_2(tmp_path, args, says):
    r = _bench_cli([*args, "--no-torch"], tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("minigan bench: error: ") and says in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_an_output_that_cannot_be_written_is_exit_code_3_before_the_run(tmp_path):
    """--json in a folder that cannot be made (under a file, or /proc): one line naming the file,
    exit 3, and nothing timed first."""
    (tmp_path / "a-file").write_text("")
    # under a file; a folder itself; a folder where nothing can be made
    paths = [(tmp_path / "a-file" / "out.json", errno.ENOTDIR), (tmp_path, errno.EISDIR)]
    if os.path.isdir("/proc/self"):
        paths.append((Path("/proc/x.json"), errno.ENOENT))
    for path, code in paths:
        r = _bench_cli(["--json", str(path), "--configs", "tiny", "--repeats", "1", "--no-torch"], tmp_path)
        assert r.returncode == 3, r.stderr
        assert r.stderr == f"minigan bench: error: --json: cannot write {path} ({os.strerror(code)})\n"
        assert r.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


@pytest.mark.parametrize("module", [("minigan", "bench"), ("minigan.bench",), ("minigan.app.bench",)])
def test_every_way_in_lists_every_config_in_its_help(tmp_path, module):
    r = _bench_cli(["--help"], tmp_path, *module)
    assert r.returncode == 0 and r.stderr == ""
    help_configs = r.stdout.split("\n  --configs CONFIGS", 1)[1].split("\n  --repeats", 1)[0]
    assert all(name in help_configs for name in bench.CONFIGS), help_configs


def test_the_benchmark_scripts_say_what_they_need_in_one_line(tmp_path):
    """gemm_shapes.py without PyTorch (a ``torch`` that cannot be imported comes first on the path)
    names it and the command that installs its CPU build; the summaries without their input
    files say which and where; each exits 2 without a traceback."""
    fake = tmp_path / "no-torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no torch here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}
    runs = [
        (
            [BENCHMARKS / "gemm_shapes.py"],
            env,
            "gemm_shapes.py: error: needs PyTorch, which is not installed "
            "(the CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
        ),
        (
            [BENCHMARKS / "ab_summary.py", tmp_path / "empty"],
            None,
            f"no bench_*.json in {tmp_path / 'empty'}",
        ),
        ([BENCHMARKS / "kernels_summary.py", tmp_path / "empty"], None, "no bench_*.json in"),
        (
            [BENCHMARKS / "pacgan_step.py", "--rounds", "0"],
            None,
            "--rounds: expected an integer in [1, 1000]",
        ),
    ]
    for args, run_env, says in runs:
        r = subprocess.run(
            [sys.executable, *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=run_env,
            timeout=300,
        )
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        assert len([line for line in r.stderr.splitlines() if "error:" in line]) == 1, r.stderr
