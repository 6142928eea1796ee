"""``minigan train`` (minigan/app/train.py, its run driver minigan/app/run.py) and the figures.

Tiny runs (8-unit networks, m = 16, tens of steps) called in-process through ``cli.main``;
one subprocess checks the real ``python -m minigan train`` entry.
"""

import json
import math
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from minigan import checkpoint, cli, plots, training
from minigan.training import GAN, HISTORY, TrainConfig

TINY = [
    "--g-hidden",
    "8",
    "--d-hidden",
    "8",
    "--batch-size",
    "16",
    "--log-every",
    "5",
    "--eval-samples",
    "200",
    "--quiet",
]
PNG = b"\x89PNG\r\n\x1a\n"
needs_mpl = pytest.mark.skipif(not plots.available(), reason="matplotlib not installed")


def run(tmp_path, *args, name="run"):
    out = tmp_path / name
    return cli.main([*TINY, "--out", str(out), *args]), out


def test_tiny_run_writes_history_checkpoint_metrics_and_figures(tmp_path, capsys):
    rc, out = run(tmp_path, "--steps", "20")
    assert rc == 0
    # history.csv: header = step + training.HISTORY, one row per step
    with open(out / "history.csv") as f:
        assert f.readline().strip() == ",".join(("step", *HISTORY))
    table = np.loadtxt(out / "history.csv", delimiter=",", skiprows=1, ndmin=2)
    assert table.shape == (20, 1 + len(HISTORY))
    assert table[:, 0].tolist() == list(range(1, 21))
    # the checkpoint holds the finished run, and the same history
    gan = checkpoint.load(out / "checkpoint.npz")
    assert gan.step == 20
    np.testing.assert_allclose(gan.history_array(), cli.read_history_csv(str(out / "history.csv")), rtol=1e-8)
    # metrics.json: PacGAN's metrics of the ring, on the asked number of samples, also printed
    m = json.loads((out / "metrics.json").read_text())
    from minigan.metrics import evaluate

    want = evaluate(gan, n=200)  # the saved generator, scored again with the same seeds
    assert (m["modes"], m["modes_covered"], m["n"], m["step"]) == (8, want["modes_covered"], 200, 20)
    assert m["high_quality"] == pytest.approx(want["high_quality"])
    assert m["kl"] == (None if math.isnan(want["kl"]) else pytest.approx(want["kl"]))  # JSON has no NaN
    assert f"modes {m['modes_covered']}/8" in capsys.readouterr().out
    if plots.available():
        for name in ("losses.png", "samples.png"):
            assert (out / name).read_bytes()[:8] == PNG


def test_no_plots_and_missing_matplotlib(tmp_path, monkeypatch, capsys):
    rc, out = run(tmp_path, "--steps", "5", "--no-plots", name="a")
    assert rc == 0 and not (out / "losses.png").exists()
    monkeypatch.setattr(plots, "available", lambda: False)
    rc, out = cli.main([*TINY[:-1], "--steps", "5", "--out", str(tmp_path / "b")]), tmp_path / "b"
    assert rc == 0 and not (out / "losses.png").exists()
    assert "matplotlib is not installed" in capsys.readouterr().out


def test_plain_progress_lines_without_tqdm(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails as if tqdm were missing
    rc = cli.main([*TINY[:-1], "--steps", "10", "--no-plots", "--out", str(tmp_path / "p")])
    assert rc == 0
    err = capsys.readouterr().err
    assert "step 10/10" in err and "L_D" in err and "D(G(z))" in err


def test_interrupt_then_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    """Ctrl-C at step 10 of 20 saves; --resume finishes with the numbers of a straight run
    (the learning-rate decay included)."""
    args = ["--steps", "20", "--no-plots", "--checkpoint-every", "100"]
    rc, straight = run(tmp_path, *args, name="straight")
    assert rc == 0

    train = training.GAN.train

    def train_then_interrupt(self, steps=None, callback=None):
        out = train(self, steps, callback)
        if self.step == 10:
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C: stop at this flush and save
        return out

    monkeypatch.setattr(training.GAN, "train", train_then_interrupt)
    rc, cut = run(tmp_path, *args, name="cut")
    assert rc == 130
    assert checkpoint.load(cut / "checkpoint.npz").step == 10
    monkeypatch.setattr(training.GAN, "train", train)

    assert cli.main(["--resume", str(cut / "checkpoint.npz"), "--quiet", "--no-plots"]) == 0
    a = checkpoint.load(straight / "checkpoint.npz")
    b = checkpoint.load(cut / "checkpoint.npz")
    assert b.step == 20
    np.testing.assert_array_equal(
        cli.read_history_csv(str(cut / "history.csv")), cli.read_history_csv(str(straight / "history.csv"))
    )
    for name, p in a.G.params().items():
        np.testing.assert_array_equal(np.asarray(b.G.params()[name]), np.asarray(p))

    # --steps beyond the saved total would stretch the decaying schedule: refused;
    # with an explicit new schedule (--lr-decay 1: constant rates) it trains the extra steps
    assert cli.main(["--resume", str(cut / "checkpoint.npz"), "--steps", "25", "--quiet", "--no-plots"]) == 2
    assert (
        cli.main(
            [
                "--resume",
                str(cut / "checkpoint.npz"),
                "--steps",
                "25",
                "--lr-decay",
                "1",
                "--quiet",
                "--no-plots",
            ]
        )
        == 0
    )
    assert checkpoint.load(cut / "checkpoint.npz").step == 25
    assert cli.read_history_csv(str(cut / "history.csv")).shape == (25, len(HISTORY))


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--k", "0"], "--k"),
        (["--batch-size", "many"], "--batch-size"),
        (["--dataset", "moons"], "--dataset"),
        (["--g-lr", "-1"], "--g-lr"),
        (["--g-hidden", "8,0"], "--g-hidden"),
        (["--real-target", "0.9", "--g-loss", "hinge"], "--real-target"),
        (["--backend", "tpu"], "--backend"),
        (["--resume", "no-such-file.npz"], "--resume"),
    ],
)
def test_bad_options_exit_2_naming_the_option(tmp_path, argv, option):
    """As a user meets them: the command in a subprocess, one line naming the option, exit 2."""
    r = _cli([*argv, "--out", str(tmp_path / "x"), "--quiet"])
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()  # (argparse's one usage line,) the error, the pointer to --help
    errors = [line for line in lines if line.startswith("minigan train: error:")]
    assert len(errors) == 1 and option in errors[0] and len(lines) <= 3 and "Traceback" not in r.stderr


def test_resume_refuses_to_change_the_game(tmp_path, capsys):
    rc, out = run(tmp_path, "--steps", "5", "--no-plots")
    assert rc == 0
    assert cli.main(["--resume", str(out / "checkpoint.npz"), "--dataset", "grid"]) == 2
    assert "--dataset" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    assert cli.main(["--resume", str(tmp_path / "junk.npz")]) == 2
    assert "junk.npz" in capsys.readouterr().err


def test_absurd_learning_rate_diverges_with_the_step_named(tmp_path):
    out = tmp_path / "run"
    r = _cli(["--steps", "20", "--g-lr", "1e30", "--d-lr", "1e30", "--no-plots", "-q", "--out", str(out)])
    assert r.returncode == 1
    assert re.match(r"minigan train: error: step \d+: \w+ is (nan|inf|-inf) \(training diverged\)", r.stderr)
    assert "Traceback" not in r.stderr
    assert not (out / "checkpoint.npz").exists()  # nothing finite after step 0 was ever saved


def test_divergence_leaves_the_last_good_checkpoint_intact(tmp_path, capsys, monkeypatch):
    """A NaN injected into step 13's history: exit 1 naming step 13 and L_D; the
    checkpoint written at step 10 is untouched."""
    record = training.GAN._record

    def poisoned(self, *a):
        row = record(self, *a)
        return row * float("nan") if self.step == 13 else row

    monkeypatch.setattr(training.GAN, "_record", poisoned)
    rc, out = run(tmp_path, "--steps", "20", "--checkpoint-every", "10", "--no-plots")
    assert rc == 1
    err = capsys.readouterr().err
    assert "step 13: L_D is nan" in err and "step 10" in err
    gan = checkpoint.load(out / "checkpoint.npz")
    assert gan.step == 10 and np.all(np.isfinite(gan.history_array()))
    assert cli.read_history_csv(str(out / "history.csv")).shape == (12, len(HISTORY))  # the good rows


def test_lr_decay_is_linear_from_1_to_final_in_log_every_steps():
    gan = GAN(
        TrainConfig(
            steps=100,
            lr_decay=0.05,
            log_every=10,
            g_lr=1e-3,
            d_lr=2e-3,
            g_hidden=(8,),
            d_hidden=(8,),
            batch_size=8,
        )
    )
    assert gan.lr_factor(0) == 1.0
    assert gan.lr_factor(100) == pytest.approx(0.05)
    assert gan.lr_factor(50) == pytest.approx(0.525)
    assert gan.lr_factor(59) == gan.lr_factor(50)  # moves only at multiples of log_every
    gan.train(51)  # the step that started at 50 set the rates
    assert gan.g_opt.lr == pytest.approx(1e-3 * 0.525) and gan.d_opt.lr == pytest.approx(2e-3 * 0.525)


def test_python_dash_m_entry_point_reports_bad_option():
    p = subprocess.run(
        [sys.executable, "-m", "minigan", "train", "--mode", "sideways"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert p.returncode == 2
    assert "--mode" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("train", "--lr", "1e-4"),  # not --lr-decay: argparse would take a prefix of a longer option
        ("gradcheck", "--dep", "1"),
        ("sweep", "spec.toml", "--work", "1"),
        ("bench", "--repeat", "1"),
        ("sample", "run/checkpoint.npz", "--se", "1"),
    ],
)
def test_an_option_is_named_in_full(args, tmp_path):
    """A prefix of an option is not taken for it (``minigan train --lr 1e-4`` once set --lr-decay):
    the command stops with exit 2 naming what it did not recognise."""
    p = subprocess.run(
        [sys.executable, "-m", "minigan", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert p.returncode == 2, p.stderr
    assert args[-2] in p.stderr and "Traceback" not in p.stderr


@needs_mpl
def test_plots_write_pngs_for_1d_2d_and_images(tmp_path):
    rng = np.random.default_rng(0)
    h = rng.normal(size=(30, len(HISTORY)))
    h[:, HISTORY.index("grad_norm_G")] = np.abs(h[:, HISTORY.index("grad_norm_G")])
    paths = [
        plots.loss_curves(h, tmp_path / "l.png", g_loss="minimax"),
        plots.samples(
            rng.normal(size=(50, 1)),
            rng.normal(size=(50, 1)),
            tmp_path / "a.png",
            density=(np.linspace(-3, 3, 10), np.ones(10) / 6),
        ),
        plots.samples(
            rng.normal(size=(50, 2)),
            rng.normal(size=(50, 2)),
            tmp_path / "b.png",
            means=np.zeros((1, 2)),
            std=0.1,
        ),
        plots.samples(rng.uniform(-1, 1, (16, 64)), rng.uniform(-1, 1, (16, 64)), tmp_path / "c.png"),
    ]
    for p in paths:
        assert open(p, "rb").read(8) == PNG
    with pytest.raises(ValueError, match="history"):
        plots.loss_curves(np.zeros((5, 3)), tmp_path / "bad.png")


def test_per_network_optimizers(tmp_path):
    """--optimizer sets G's, --d-optimizer D's, each with its own default learning rate."""
    out = tmp_path / "run"
    rc = cli.main(
        [
            "--steps",
            "4",
            "--batch-size",
            "8",
            "--g-hidden",
            "8",
            "--d-hidden",
            "8",
            "--quiet",
            "--no-plots",
            "--optimizer",
            "sgd",
            "--momentum",
            "0.7",
            "--d-optimizer",
            "adam",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    gan = checkpoint.load(out / "checkpoint.npz")
    assert gan.g_opt.name == "sgd" and gan.g_opt.momentum == 0.7
    assert gan.d_opt.name == "adam"
    assert gan.config.g_lr == cli.DEFAULT_LR["sgd"] and gan.config.d_lr == cli.DEFAULT_LR["adam"]


def test_bad_momentum_and_d_optimizer_exit_2(tmp_path, capsys):
    assert cli.main(["--momentum", "1.5", "--out", str(tmp_path / "a")]) == 2
    assert "--momentum" in capsys.readouterr().err
    assert cli.main(["--d-optimizer", "lbfgs", "--out", str(tmp_path / "b")]) == 2
    assert "--d-optimizer" in capsys.readouterr().err


def test_minigan_train_trains_what_trainconfig_says(monkeypatch):
    """`minigan train` with no options builds exactly GAN(TrainConfig()): one set of defaults.
    (The environment's backend choice is left out of both.)"""
    from minigan.app import train as cli

    monkeypatch.delenv("MINIGAN_BACKEND", raising=False)
    gan, out = cli._new_run(cli.build_parser().parse_args([]))
    assert gan.config == TrainConfig()
    assert out == os.path.join("runs", "ring-nonsaturating-fresh-seed0")
    ref = GAN(TrainConfig())
    assert repr(gan.G) == repr(ref.G) and repr(gan.D) == repr(ref.D)
    for a, b in zip(
        [*gan.G.params().values(), *gan.D.params().values()],
        [*ref.G.params().values(), *ref.D.params().values()],
    ):
        np.testing.assert_array_equal(a, b)
    assert (gan.g_opt.config(), gan.d_opt.config()) == (ref.g_opt.config(), ref.d_opt.config())
    # and the values the README and the command's help promise
    c = TrainConfig()
    assert (c.steps, c.g_hidden, c.d_hidden, c.lr_decay, c.g_lr, c.batch_size) == (
        6000,
        (128, 128, 128),
        (128, 128),
        0.05,
        1e-3,
        256,
    )


def test_the_help_shows_trainconfigs_defaults(capsys):
    from minigan.app import train as cli

    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    c = TrainConfig()
    for shown in (f"[{c.steps}]", "[128,128,128]", "[128,128]", f"[{c.lr_decay:g}]", f"[{c.batch_size}]"):
        assert shown in text
    assert f"smooth loss) [{c.update}]" in text and f"½‖v‖² [{c.consensus_weight:g}]" in text


def test_update_and_consensus_weight_reach_the_config(tmp_path):
    """--update and --consensus-weight are TrainConfig's fields: the GAN steps by that update, and
    its checkpoint keeps them."""
    from minigan.app import train as cli

    argv = [
        "--update",
        "consensus",
        "--mode",
        "simultaneous",
        "--penalty",
        "none",
        "--consensus-weight",
        "0.1",
    ]
    gan, _ = cli._new_run(cli.build_parser().parse_args([*argv, "--out", str(tmp_path / "x")]))
    assert (gan.config.update, gan.config.consensus_weight) == ("consensus", 0.1)
    assert gan.update.config() == {"name": "consensus", "consensus_weight": 0.1}
    rc, out = run(tmp_path, "--steps", "3", "--no-plots", *argv)
    assert rc == 0
    saved = checkpoint.load(out / "checkpoint.npz")
    assert saved.update.config() == {"name": "consensus", "consensus_weight": 0.1}


def test_checkpoints_land_when_asked_not_at_the_lcm_of_the_two_intervals():
    """--checkpoint-every 50 with --log-every 30 saved only every 150 steps before; now at 50, 100
    and the end, and the run equals one with no checkpoints at all."""
    saved = []
    gan = GAN(TrainConfig(g_hidden=(8,), d_hidden=(8,), batch_size=16, log_every=30, steps=120))
    cli.train_run(gan, 120, "unused", 50, save=lambda gan, path: saved.append(gan.step))
    assert saved == [50, 100, 120]
    ref = GAN(TrainConfig(g_hidden=(8,), d_hidden=(8,), batch_size=16, log_every=30, steps=120)).train(120)
    np.testing.assert_array_equal(gan.history_array(), ref.history_array())


def test_leftover_temporaries_are_cleaned_and_checkpoints_are_0644(tmp_path):
    """A run killed while saving leaves .checkpoint.npz.*.tmp (and a failed history write
    history.csv.tmp): the next start of that run removes them. The checkpoint is written with the
    mode of every other output (0666 less the umask), not mkstemp's 0600."""
    out = tmp_path / "run"
    r = _cli(["--steps", "4", "--log-every", "2", "--out", str(out), "--no-plots", "-q", "--lr-decay", "1"])
    assert r.returncode == 0, r.stderr
    for name in (".checkpoint.npz.abc123.tmp", "history.csv.tmp"):
        (out / name).write_bytes(b"half")
    r = _cli(["--resume", str(out / "checkpoint.npz"), "--steps", "6", "--no-plots", "-q"])
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) == []
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "checkpoint.npz").stat().st_mode & 0o777 == 0o666 & ~umask


def _cli(args):
    """``python -m minigan train ARGS`` in a subprocess, from this checkout, as a user runs it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run(
        [sys.executable, "-m", "minigan", "train", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- output folders: never overwritten, never shared, write errors as one line ---------------------
# (the fault probes as a user meets them, write errors and bad values among them: tests/test_faults.py)
def _digest(folder):
    import hashlib

    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def test_a_new_run_never_replaces_another(tmp_path):
    out = tmp_path / "run"
    assert _cli(["--steps", "4", "--log-every", "2", "--out", str(out), "--no-plots", "-q"]).returncode == 0
    before = _digest(out)
    r = _cli(["--steps", "2", "--log-every", "2", "--out", str(out), "--no-plots", "-q"])
    assert r.returncode == 2 and f"--out: {out} holds another run; continue it with --resume" in r.stderr
    assert _digest(out) == before  # nothing touched
    r = _cli(["--steps", "2", "--log-every", "2", "--out", str(out), "--no-plots", "-q", "--overwrite"])
    assert r.returncode == 0 and json.load(open(out / "run.json"))["config"]["steps"] == 2


def test_the_default_folder_when_taken_is_the_next_free_name(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    runs = []
    for _ in range(2):
        runs.append(
            subprocess.run(
                [sys.executable, "-m", "minigan", "train", "--steps", "2", "--log-every", "2", "--no-plots"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        )
    assert all(r.returncode == 0 for r in runs), runs[1].stderr
    first, second = (
        tmp_path / "runs" / "ring-nonsaturating-fresh-seed0",
        tmp_path / "runs" / "ring-nonsaturating-fresh-seed0-2",
    )
    assert (first / "checkpoint.npz").exists() and (second / "checkpoint.npz").exists()
    assert (
        "runs/ring-nonsaturating-fresh-seed0 holds another run: "
        f"this one goes to {os.path.join('runs', second.name)}" in runs[1].stdout
    )


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "a+") as f:  # this process plays the first run
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write("pid 4242")
        f.flush()
        r = _cli(["--steps", "2", "--log-every", "2", "--out", str(out), "--no-plots", "-q"])
        assert r.returncode == 2 and "is being written by another minigan train (pid 4242)" in r.stderr
        assert not (out / "checkpoint.npz").exists()
    # the holder is gone (a killed run's lock goes with its process): the folder is free again
    r = _cli(["--steps", "2", "--log-every", "2", "--out", str(out), "--no-plots", "-q"])
    assert r.returncode == 0, r.stderr


def test_extending_a_decaying_run_is_refused_with_the_reason(tmp_path):
    """--resume --steps N changed the length of a decaying schedule, so the weights differed from a
    run asked for N steps from the start: refused, saying why; a constant schedule extends exactly."""
    out = tmp_path / "run"
    assert _cli(["--steps", "4", "--log-every", "2", "--out", str(out), "--no-plots", "-q"]).returncode == 0
    r = _cli(["--resume", str(out / "checkpoint.npz"), "--steps", "8", "--no-plots", "-q"])
    assert r.returncode == 2 and "--steps: this run's learning rates fall to 0.05x by step 4" in r.stderr
    cfg = dict(g_hidden=(8,), d_hidden=(8,), batch_size=16, log_every=2, lr_decay=1.0)
    whole = GAN(TrainConfig(**cfg, steps=8)).train(8)
    half = GAN(TrainConfig(**cfg, steps=4)).train(4)
    checkpoint.save(half, tmp_path / "c.npz")
    args = cli.build_parser().parse_args(["--resume", str(tmp_path / "c.npz"), "--steps", "8"])
    resumed, _ = cli._resumed_run(args)
    resumed.train(4)
    np.testing.assert_array_equal(resumed.history_array(), whole.history_array())


def test_the_command_trains_the_same_numbers_as_python(tmp_path):
    """`minigan train --steps 60` and GAN(TrainConfig(steps=60)).train() draw the same random stream:
    the command's setup checks draw nothing from it (an early check of the data once did)."""
    out = tmp_path / "run"
    assert cli.main(["--steps", "60", "--out", str(out), "--no-plots", "-q"]) == 0
    ref = GAN(TrainConfig(steps=60)).train(60)
    np.testing.assert_array_equal(
        checkpoint.load(out / "checkpoint.npz").history_array(), ref.history_array()
    )


def test_segment_ends_are_where_train_run_calls_its_watchers():
    """By hand: log_every 100 and checkpoints every 150, up to step 320."""
    assert cli.segment_ends(320, 100, 150) == [100, 150, 200, 300, 320]
    assert cli.segment_ends(300, 100, 1000) == [100, 200, 300]
    assert cli.segment_ends(0, 100, 1000) == []


def test_resume_takes_the_runs_settings_unless_given(tmp_path):
    """run.json keeps --checkpoint-every, --eval-every and --eval-samples; --resume takes each one
    not given again, and a given one wins."""
    (tmp_path / "run.json").write_text(
        json.dumps({"run": {"checkpoint_every": 50, "eval_every": 25, "eval_samples": 300}})
    )
    resume = ["--resume", str(tmp_path / "checkpoint.npz")]
    args = cli.build_parser().parse_args([*resume, "--eval-every", "10"])
    s = cli._run_settings(args, [])
    assert (s.checkpoint_every, s.eval_every, s.eval_samples) == (50, 10, 300)
    assert s.resumed_from == str(tmp_path / "checkpoint.npz")
    args = cli.build_parser().parse_args(["--resume", str(tmp_path / "elsewhere" / "checkpoint.npz")])
    s = cli._run_settings(args, [])  # no record: the defaults
    assert (s.checkpoint_every, s.eval_every, s.eval_samples) == (1000, 500, 2500)


def test_run_settings_check_each_field_by_name():
    from minigan.app.run import RunSettings

    for kw, says in (
        (dict(checkpoint_every=0), "checkpoint_every: expected a positive integer, got 0"),
        (dict(eval_samples=1), "eval_samples: expected an integer >= 2, got 1"),
        (dict(threads=2000), "threads: 2000 is more than minigan takes (at most 1,024)"),
        (dict(plots=1), "plots: expected true or false, got 1"),
        (dict(animate_every=5), "animate_every: it spaces the frames of the animation"),
    ):
        with pytest.raises(ValueError, match=re.escape(says)):
            RunSettings(**kw)
    assert RunSettings(eval_every=np.int64(7)).eval_every == 7
