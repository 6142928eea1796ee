"""A saved run used without training it: minigan.load, minigan sample, minigan eval, the command's
conventions; checkpoints that record their networks, so a GAN from your own parts saves and loads."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minigan
from minigan import checkpoint, discriminator, generator
from minigan.training import GAN, TrainConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = dict(g_hidden=(12, 12), d_hidden=(12, 12), batch_size=16, log_every=5, steps=0)


def _run(*args):
    """``python -m minigan ARGS`` as a user runs it, from this checkout."""
    return subprocess.run([sys.executable, "-m", "minigan", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    gan = GAN(TrainConfig(**SMALL)).train(10)
    checkpoint.save(gan, d / "checkpoint.npz")
    return d, gan


def test_load_samples_and_discriminates_like_the_gan(run_dir):
    d, gan = run_dir
    saved = minigan.load(d)  # a run folder, or the file itself
    assert saved.step == 10 and saved.minigan_version == minigan.__version__
    assert saved.G.spec == gan.G.spec and saved.D.spec == gan.D.spec
    np.testing.assert_array_equal(saved.sample(7, seed=3), gan.sample(7, seed=3))
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(saved.discriminate(x), gan.discriminate(x))
    assert saved.sample(4).shape == (4, 2) and np.array_equal(saved.sample(4, seed=1), saved.sample(4, seed=1))
    with pytest.raises(ValueError, match=r"x: expected an array of shape \(N, 2\)"):
        saved.discriminate(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="n: expected a positive number"):
        saved.sample(0)


def test_a_gan_from_your_own_parts_saves_and_resumes(tmp_path):
    """The checkpoint records each network's MLPSpec, so nets the config did not build load as they
    were; data given in Python must be given again to resume (one clear line otherwise), and then
    the resumed run equals the uninterrupted one."""
    x = np.random.default_rng(1).normal(size=(300, 3))

    def make():
        return GAN(TrainConfig(**SMALL), data=x, G=generator(noise_dim=4, data_dim=3, hidden=(9,)),
                   D=discriminator(data_dim=3, hidden=(7, 5)))

    whole = make().train(8)
    path = checkpoint.save(make().train(4), tmp_path / "c.npz")
    with pytest.raises(ValueError, match=r"data given in Python .* checkpoint.load\(path, data=...\)"):
        checkpoint.load(path)
    resumed = checkpoint.load(path, data=x)
    assert resumed.G.spec.sizes == (4, 9, 3) and resumed.D.spec.sizes == (3, 7, 5, 1)
    resumed.train(4)
    np.testing.assert_array_equal(resumed.history_array(), whole.history_array())
    assert minigan.load(path).data is None  # nothing to evaluate against: eval says so


def test_sample_and_eval_commands(run_dir, tmp_path):
    d, gan = run_dir
    r = _run("sample", str(d), "-n", "50", "--out", str(tmp_path / "s.npy"), "--seed", "2")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), gan.sample(50, seed=2))
    r = _run("sample", str(d / "checkpoint.npz"), "-n", "6", "--out", str(tmp_path / "s.csv"))
    assert r.returncode == 0 and np.loadtxt(tmp_path / "s.csv", delimiter=",").shape == (6, 2)
    r = _run("eval", str(d), "--json", "-n", "500")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    from minigan.metrics import evaluate

    want = evaluate(gan, n=500)
    assert got["modes_covered"] == want["modes_covered"] and got["high_quality"] == pytest.approx(want["high_quality"])
    assert got["step"] == 10
    r = _run("eval", str(d))
    assert r.returncode == 0 and "modes" in r.stdout and "SavedGAN(ring, step 10" in r.stdout


@pytest.mark.parametrize("args, code, line", [
    ((), 2, "usage: minigan COMMAND"),
    (("frobnicate",), 2, "minigan: unknown command 'frobnicate'"),
    (("sample", "no/such/run", "-n", "3", "--out", "x.npy"), 2, "minigan sample: error: RUN: no checkpoint at no/such/run"),
    (("sample", "README.md", "-n", "3", "--out", "x.npy"), 2, "minigan sample: error: RUN: checkpoint README.md: not an .npz"),
    (("sample", "x", "-n", "0", "--out", "x.npy"), 2, "argument -n: expected a positive integer, got '0'"),
    (("sample", "x", "-n", "3", "--out", "x.txt"), 2, "--out: expected a .npy or .csv file name"),
])
def test_command_errors_are_one_line_with_an_exit_code(args, code, line):
    r = _run(*args)
    assert r.returncode == code
    assert line in r.stderr and "Traceback" not in r.stderr


def test_version_and_help():
    r = _run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"minigan {minigan.__version__}"
    r = _run("--help")
    assert r.returncode == 0 and all(c in r.stdout for c in ("train", "sample", "eval", "gradcheck", "bench"))
