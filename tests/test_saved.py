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
    return subprocess.run(
        [sys.executable, "-m", "minigan", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


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
    assert saved.sample(4).shape == (4, 2) and np.array_equal(
        saved.sample(4, seed=1), saved.sample(4, seed=1)
    )
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
        return GAN(
            TrainConfig(**SMALL),
            data=x,
            G=generator(noise_dim=4, data_dim=3, hidden=(9,)),
            D=discriminator(data_dim=3, hidden=(7, 5)),
        )

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

    want = evaluate(gan, n=500, seed=0)  # eval's default seed: the samples `minigan sample` writes
    assert got["modes_covered"] == want["modes_covered"] and got["high_quality"] == pytest.approx(
        want["high_quality"]
    )
    assert got["step"] == 10 and got["seed"] == 0
    r = _run("eval", str(d), "--json", "-n", "500", "--seed", "12345")  # the training's final metrics' seed
    got, want = json.loads(r.stdout), evaluate(gan, n=500)
    assert got["high_quality"] == pytest.approx(want["high_quality"]) and got["seed"] == 12345
    r = _run("eval", str(d))
    assert r.returncode == 0 and "modes" in r.stdout and "SavedGAN(ring, step 10" in r.stdout


@pytest.mark.parametrize(
    "args, code, line",
    [
        ((), 2, "usage: minigan COMMAND"),
        (("frobnicate",), 2, "minigan: unknown command 'frobnicate'"),
        (
            ("sample", "no/such/run", "-n", "3", "--out", "x.npy"),
            2,
            "minigan sample: error: RUN: no checkpoint at no/such/run",
        ),
        (
            ("sample", "README.md", "-n", "3", "--out", "x.npy"),
            2,
            "minigan sample: error: RUN: checkpoint README.md: not an .npz",
        ),
        (
            ("sample", "x", "-n", "0", "--out", "x.npy"),
            2,
            "argument -n: expected a positive integer, got '0'",
        ),
        (("sample", "x", "-n", "3", "--out", "x.txt"), 2, "--out: expected a .npy or .csv file name"),
    ],
)
def test_command_errors_are_one_line_with_an_exit_code(args, code, line):
    r = _run(*args)
    assert r.returncode == code
    assert line in r.stderr and "Traceback" not in r.stderr


def test_version_and_help():
    r = _run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"minigan {minigan.__version__}"
    r = _run("--help")
    assert r.returncode == 0 and all(c in r.stdout for c in ("train", "sample", "eval", "gradcheck", "bench"))


# -- your own data from a file -------------------------------------------------------------------
def _wine_like(tmp_path, header=True):
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(13, 0.8, 200), rng.normal(750, 300, 200), rng.normal(2.3, 0.3, 200)])
    p = tmp_path / ("t.csv" if header else "n.csv")
    with open(p, "w") as f:
        if header:
            f.write("alcohol,proline,ash\n")
        for r in x:
            f.write(",".join(f"{v:.6g}" for v in r) + "\n")
    return p, x


def test_train_on_a_csv_then_sample_and_eval(tmp_path):
    """The README's three commands on a CSV of one's own: the run standardizes each column, and the
    samples come back in the data's own scale: each column's mean within one std of the data's
    (z-scores would miss alcohol's mean of 13 by 17 stds and proline's of 750 by 2.4)."""
    p, x = _wine_like(tmp_path)
    out = tmp_path / "run"
    r = _run(
        "train",
        "--data",
        str(p),
        "--batch-size",
        "64",
        "--steps",
        "1500",
        "--out",
        str(out),
        "-q",
        "--no-plots",
    )
    assert r.returncode == 0, r.stderr
    r = _run("sample", str(out), "-n", "2000", "--out", str(tmp_path / "s.npy"))
    assert r.returncode == 0, r.stderr
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (2000, 3)
    assert np.all(np.abs(s.mean(0) - x.mean(0)) < x.std(0))
    r = _run("eval", str(out), "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["sliced_w1"] < 0.5  # on the standardized scale, against held-out rows
    # the energy distance (U-statistic, against the 20 held-out rows): a generator collapsed onto the
    # mean scores E = 2 E‖X‖ − E‖X − X'‖ ≈ 0.93 on 3 standardized normal columns (E‖X‖ = √2·Γ(2)/Γ(3/2)
    # = 1.596, E‖X − X'‖ = √2 · 1.596; 0.80 on these 20 rows), a generator of the data 0 ± noise
    assert abs(got["energy"]) < 0.2 and 0.0 < got["energy_p"] <= 1.0
    saved = minigan.load(out)
    # the columns' means over the 180 training rows (10 % held out by a permutation seeded 0)
    np.testing.assert_allclose(
        saved._shift, x[np.random.default_rng(0).permutation(200)[20:]].mean(0), rtol=1e-5
    )


def test_data_files_of_each_kind_load(tmp_path):
    from minigan.data import load_table

    x = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "a.npy", x)
    np.savez(tmp_path / "b.npz", x=x)
    np.savez(tmp_path / "c.npz", x=x, y=x + 1)
    p, _ = _wine_like(tmp_path, header=False)
    np.testing.assert_array_equal(load_table(str(tmp_path / "a.npy")), x)
    np.testing.assert_array_equal(load_table(str(tmp_path / "b.npz")), x)
    np.testing.assert_array_equal(load_table(str(tmp_path / "c.npz"), "y"), x + 1)
    assert load_table(str(p)).shape == (200, 3)  # no header row


@pytest.mark.parametrize(
    "content, line",
    [
        ("a,b\n1,2\n3,x\n", "--data: {p}: column 'b' (2) is not numeric: 'x' in row 2 (line 3)"),
        ("a,b\n1,2\n3,nan\n", "--data: {p}: NaN or inf in row 2 (line 3), column 2"),
        ("a,b\n1,2\n1,3\n1,5\n", "--data: {p}: column 1 is constant (std 0)"),
        ("a,b\n1,2\n3\n", "--data: {p}: row 2 (line 3) has 1 columns, expected 2"),
        (
            "a,b\n" + "".join(f"{i},{i * i}\n" for i in range(20)),
            "--data: 18 rows, fewer than the batch of 256",
        ),
    ],
)
def test_bad_data_files_get_one_line(tmp_path, content, line):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    r = _run("train", "--data", str(p), "--steps", "5", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and line.format(p=p) in r.stderr and "Traceback" not in r.stderr


def test_bad_data_paths_get_one_line(tmp_path):
    np.savez(tmp_path / "two.npz", x=np.zeros((5, 2)), y=np.zeros((5, 2)))
    np.save(tmp_path / "flat.npy", np.zeros(5))
    for args, line in [
        ((str(tmp_path / "none.csv"),), "--data: no such file"),
        ((str(tmp_path / "two.npz"),), "holds 2 arrays (x, y): name one as FILE:key"),
        ((str(tmp_path / "two.npz") + ":z",), "has no array 'z' (it has x, y)"),
        ((str(tmp_path / "flat.npy"),), "expected a 2-D table (rows × columns), got shape (5,)"),
        ((str(tmp_path / "flat.txt"),), "--data: no such file"),
    ]:
        r = _run("train", "--data", *args, "--steps", "5", "--out", str(tmp_path / "o"))
        assert r.returncode == 2 and line in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    r = _run("train", "--data", str(tmp_path / "two.npz:x"), "--dataset", "grid")
    assert r.returncode == 2 and "give either --data or --dataset" in r.stderr


def test_sample_that_cannot_be_written_exits_3(run_dir, tmp_path):
    """Like every command's write error (minigan/exitcodes.py): one line naming the file, code 3."""
    from minigan.app.exitcodes import WRITE_ERROR
    from minigan.app.main import main

    d, _ = run_dir
    target = tmp_path / "no" / "such" / "folder" / "s.npy"
    assert main(["sample", str(d), "-n", "5", "--out", str(target)]) == WRITE_ERROR == 3
    assert not target.parent.exists()


@pytest.mark.parametrize(
    "x, says",
    [
        ([[np.nan, 0.0]], "x: NaN or inf in row 1, column 1"),
        ([[0.0, 1e300]], "x: 1e+300 in row 1, column 2 overflows float32"),
        ([[0.0, 1.0, 2.0]], "x: expected an array of shape (N, 2)"),
    ],
)
def test_discriminate_refuses_what_d_cannot_score(tmp_path, x, says):
    """D(x) of NaN, or of a value that overflows float32 once scaled, would be NaN: both the
    training GAN and a saved one refuse it in one line instead."""
    gan = GAN(TrainConfig(g_hidden=(8,), d_hidden=(8,), batch_size=16, steps=2)).train()
    checkpoint.save(gan, tmp_path / "c.npz")
    for discriminate in (gan.discriminate, minigan.load(tmp_path / "c.npz").discriminate):
        with pytest.raises(ValueError) as e:
            discriminate(np.asarray(x))
        assert str(e.value).startswith(says) and "\n" not in str(e.value)
