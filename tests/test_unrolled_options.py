"""The unrolled update (docs/MATH.md §17) as a run's setting, wired as consensus is: TrainConfig's
``unroll_steps`` and ``unroll_constant``, ``minigan train --update unrolled --unroll-steps K
--unroll-constant`` (each refusal one line, exit 2, in a subprocess), sweep specs, checkpoints and
``--resume``. The expected values are written by hand from the documented defaults and limits
(K = 5 by default, 0 to 100), never computed by the code under test."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigan import checkpoint, game_updates
from minigan.app import exitcodes
from minigan.training import GAN, TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SMOOTH = {"mode": "simultaneous", "penalty": None}  # what every game update but plain needs
TINY = {"g_hidden": (8,), "d_hidden": (8,), "batch_size": 16}
UNROLLED = ["--update", "unrolled", "--mode", "simultaneous", "--penalty", "none"]
QUICK = ["--g-hidden", "8", "--d-hidden", "8", "--batch-size", "16", "--eval-samples", "200", "--no-plots"]


def minigan_cmd(*args):
    """``python -m minigan ARGS`` from this checkout, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "minigan", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_line(r):
    """The one error line of a command that exited 2, with no traceback (argparse's usage line may
    come before it, minigan train's pointer to --help after it)."""
    assert r.returncode == exitcodes.USAGE, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and len(lines) <= 2, r.stderr
    return errors[0]


# -- TrainConfig --------------------------------------------------------------------------------
def test_trainconfig_holds_k_and_the_ablation_and_builds_the_update_from_them():
    c = TrainConfig()
    assert (c.unroll_steps, c.unroll_constant) == (5, False)  # DEFAULT_UNROLL_STEPS, docs/MATH.md §17
    cfg = TrainConfig(update="unrolled", unroll_steps=3, unroll_constant=True, **SMOOTH)
    update = cfg.build_update()
    assert type(update) is game_updates.Unrolled
    assert update.config() == {"name": "unrolled", "unroll_steps": 3, "unroll_constant": True}
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg  # as run.json keeps it
    for k in (0, 100):  # both ends of 0 … unrolled.MAX_STEPS
        assert TrainConfig(update="unrolled", unroll_steps=k, **SMOOTH).build_update().steps == k
    k = TrainConfig(update="unrolled", unroll_steps=np.int64(2), **SMOOTH).unroll_steps
    assert k == 2 and type(k) is int  # a NumPy integer is taken, and stored as JSON's int


@pytest.mark.parametrize(
    "kwargs, line",
    [
        ({"unroll_steps": -1}, "unroll_steps: expected an integer K from 0 to 100, got -1"),
        ({"unroll_steps": 101}, "unroll_steps: expected an integer K from 0 to 100, got 101"),
        ({"unroll_steps": 2.5}, "unroll_steps: expected an integer K from 0 to 100, got 2.5"),
        ({"unroll_steps": True}, "unroll_steps: expected an integer K from 0 to 100, got True"),
        ({"unroll_steps": "3"}, "unroll_steps: expected an integer K from 0 to 100, got '3'"),
        ({"unroll_constant": 1}, "unroll_constant: expected True or False, got 1"),
        ({"unroll_constant": "yes"}, "unroll_constant: expected True or False, got 'yes'"),
        ({"unroll_constant": None}, "unroll_constant: expected True or False, got None"),
    ],
)
def test_trainconfig_refuses_a_k_or_an_ablation_without_a_meaning_in_one_line(kwargs, line):
    """Checked whatever the update (as consensus_weight is), so a bad value never waits in a config."""
    for update in ({"update": "unrolled", **SMOOTH}, {}):
        with pytest.raises(ValueError) as e:
            TrainConfig(**update, **kwargs)
        assert str(e.value) == line


def test_trainconfig_refuses_unrolled_where_consensus_is_refused():
    with pytest.raises(ValueError, match=r"^update: 'unrolled' needs penalty=None: R1/R2/GP would need"):
        TrainConfig(update="unrolled", mode="simultaneous")  # R1 by default
    with pytest.raises(ValueError, match=r"^update: 'unrolled' moves both players from one state"):
        TrainConfig(update="unrolled", penalty=None)  # mode fresh by default


def test_an_unrolled_update_given_to_a_gan_is_recorded_so_a_checkpoint_restores_it(tmp_path):
    """An Unrolled object given to GAN (or set_update) goes into the config with its K and ablation
    (not the defaults 5 and False), so the checkpoint saved afterwards loads with the same update."""
    gan = GAN(TrainConfig(**SMOOTH, **TINY), update=game_updates.Unrolled(steps=2, constant=True))
    assert (gan.config.update, gan.config.unroll_steps, gan.config.unroll_constant) == ("unrolled", 2, True)
    gan.train(2)
    checkpoint.save(gan, tmp_path / "c.npz")
    loaded = checkpoint.load(tmp_path / "c.npz")
    assert loaded.update.config() == {"name": "unrolled", "unroll_steps": 2, "unroll_constant": True}
    gan.set_update(game_updates.Unrolled(steps=7))
    assert (gan.config.unroll_steps, gan.config.unroll_constant) == (7, False)
    gan.set_update("consensus")  # another update: K and the ablation stay as they were
    assert (gan.config.update, gan.config.unroll_steps, gan.config.unroll_constant) == ("consensus", 7, False)


def test_a_checkpoint_from_before_the_unrolled_fields_loads_with_their_defaults():
    """tests/data/checkpoint_f1b16e7.npz predates the game's own optimizers: K 5, no ablation."""
    gan = checkpoint.load(ROOT / "tests" / "data" / "checkpoint_f1b16e7.npz")
    c = gan.config
    assert (c.update, c.unroll_steps, c.unroll_constant, gan.update.name) == ("plain", 5, False, "plain")


# -- minigan train ------------------------------------------------------------------------------
def test_the_help_shows_the_unrolled_options_and_their_default(capsys):
    from minigan.app import train as cli

    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{plain,extragradient,optimistic,consensus,unrolled}" in text
    assert "0 to 100 [5]" in text and "--unroll-constant" in text


def test_the_unrolled_options_reach_the_config_and_the_checkpoint(tmp_path):
    from minigan.app import train as cli

    argv = [*UNROLLED, "--unroll-steps", "3", "--unroll-constant"]
    gan, _ = cli._new_run(cli.build_parser().parse_args([*argv, "--out", str(tmp_path / "x")]))
    assert (gan.config.update, gan.config.unroll_steps, gan.config.unroll_constant) == ("unrolled", 3, True)
    assert gan.update.config() == {"name": "unrolled", "unroll_steps": 3, "unroll_constant": True}
    gan, _ = cli._new_run(cli.build_parser().parse_args([*UNROLLED, "--out", str(tmp_path / "y")]))
    assert gan.update.config() == {"name": "unrolled", "unroll_steps": 5, "unroll_constant": False}
    r = minigan_cmd("train", *argv, *QUICK, "--steps", 3, "-q", "--out", tmp_path / "run")
    assert r.returncode == 0, r.stderr
    saved = checkpoint.load(tmp_path / "run")
    assert saved.update.config() == {"name": "unrolled", "unroll_steps": 3, "unroll_constant": True}
    assert json.loads((tmp_path / "run" / "run.json").read_text())["config"]["unroll_steps"] == 3


@pytest.mark.parametrize(
    "argv, line",
    [
        ([*UNROLLED, "--unroll-steps", "-1"], "--unroll-steps: expected an integer K from 0 to 100, got -1"),
        ([*UNROLLED, "--unroll-steps", "101"], "--unroll-steps: expected an integer K from 0 to 100, "
         "got 101"),
        ([*UNROLLED, "--unroll-steps", "2.5"], "argument --unroll-steps: expected an integer, got '2.5'"),
        ([*UNROLLED, "--unroll-steps", "many"], "argument --unroll-steps: expected an integer, got 'many'"),
        (["--unroll-steps", "3"], "--unroll-steps: a setting of --update unrolled, but this run has "
         "--update plain"),
        (["--unroll-constant"], "--unroll-constant: a setting of --update unrolled, but this run has "
         "--update plain"),
        (["--update", "consensus", "--mode", "simultaneous", "--penalty", "none", "--unroll-steps", "3"],
         "--unroll-steps: a setting of --update unrolled, but this run has --update consensus"),
        ([*UNROLLED, "--consensus-weight", "0.1"], "--consensus-weight: a setting of --update consensus, "
         "but this run has --update unrolled"),
        (["--update", "unrolled"], "--update: 'unrolled' moves both players from one state, so it needs "
         "mode='simultaneous'; got mode='fresh' (--mode is fresh by default: give --mode simultaneous)"),
        (["--update", "unrolled", "--mode", "simultaneous"], "--update: 'unrolled' needs penalty=None: "
         "R1/R2/GP would need third derivatives (--penalty is r1 by default: give --penalty none)"),
        ([*UNROLLED, "--k", "2"], "--update: 'unrolled' takes one step of both players from one state, "
         "so it needs k=1; got k=2"),
        ([*UNROLLED, "--g-loss", "hinge"], "--update: 'unrolled' needs a D loss with a second derivative"),
        ([*UNROLLED, "--g-loss", "wasserstein"], "--update: 'unrolled' needs clip=None: a clipped D "
         "follows no smooth field; got clip=0.01 (--g-loss wasserstein clips unless --penalty gp)"),
        ([*UNROLLED, "--real-target", "0.9"], "--update: 'unrolled' takes the bce loss without label "
         "smoothing: it needs real_target=1; got 0.9"),
    ],
)  # fmt: skip
def test_unrolled_options_without_a_meaning_exit_2_in_one_line(tmp_path, argv, line):
    """Each refusal: exit 2, one line naming the option and what to give; nothing written."""
    out = tmp_path / "run"
    r = minigan_cmd("train", *argv, "--steps", 2, "--out", out, "-q")
    assert line in error_line(r)
    assert not (out / "checkpoint.npz").exists() and not (out / "run.json").exists()


def test_an_unrolled_run_resumed_equals_an_uninterrupted_one(tmp_path):
    """20 steps, then --resume to 40, are the 40 steps of one run bit for bit (history and both
    networks); --update, --unroll-steps and --unroll-constant are the run's and cannot change on
    --resume (given again as they were, they are accepted)."""
    args = [*UNROLLED, "--unroll-steps", 2, "--batch-size", 32, "--lr-decay", 1, "--log-every", 10]
    args += ["--eval-samples", 200, "--no-plots", "-q"]
    assert minigan_cmd("train", *args, "--steps", 40, "--out", tmp_path / "whole").returncode == 0
    assert minigan_cmd("train", *args, "--steps", 20, "--out", tmp_path / "half").returncode == 0
    r = minigan_cmd("train", "--resume", tmp_path / "half", "--steps", 40, "-q", "--no-plots")
    assert r.returncode == 0, r.stderr
    half, whole = checkpoint.load(tmp_path / "half"), checkpoint.load(tmp_path / "whole")
    assert half.step == 40 == whole.step
    assert half.update.config() == {"name": "unrolled", "unroll_steps": 2, "unroll_constant": False}
    np.testing.assert_array_equal(half.history_array(), whole.history_array())
    for a, b in ((half.G, whole.G), (half.D, whole.D)):
        for name, p in b.params().items():
            np.testing.assert_array_equal(np.asarray(a.params()[name]), np.asarray(p))
    changes = (
        (["--update", "plain"], "--update: the checkpoint was trained with update='unrolled'"),
        (["--unroll-steps", "3"], "--unroll-steps: the checkpoint was trained with unroll_steps=2"),
        (["--unroll-constant"], "--unroll-constant: the checkpoint was trained with unroll_constant=False"),
    )
    for flag, start in changes:
        line = error_line(minigan_cmd("train", "--resume", tmp_path / "half", *flag, "-q"))
        assert start in line and "it cannot change on --resume" in line
    r = minigan_cmd("train", "--resume", tmp_path / "half", "--unroll-steps", 2, "-q", "--no-plots")
    assert r.returncode == 0, r.stderr


# -- sweeps -------------------------------------------------------------------------------------
SPEC = """
name = "unroll"

[base]
update = "unrolled"
mode = "simultaneous"
penalty = "none"
unroll_steps = 2
g_hidden = [8]
d_hidden = [8]
batch_size = 16
steps = 4
log_every = 2

[axes]
unroll_constant = [false, true]

[run]
eval_samples = 100
eval_every = 4
checkpoint_every = 4
plots = false
"""


def test_a_sweep_spec_sets_the_unrolled_fields_on_base_and_axes(tmp_path):
    from minigan.app import sweep

    (tmp_path / "unroll.toml").write_text(SPEC)
    spec = sweep.load_spec(tmp_path / "unroll.toml")
    assert [p.name for p in spec.points()] == ["unroll_constant=false", "unroll_constant=true"]
    res = sweep.run_sweep(spec, tmp_path / "out", use_dask=False, quiet=True, figure=False)
    assert [r["status"] for r in res.rows] == ["done", "done"], res.rows
    for p, constant in zip(spec.points(), (False, True)):
        saved = checkpoint.load(tmp_path / "out" / "runs" / p.name)
        assert saved.step == 4
        assert saved.update.config() == {"name": "unrolled", "unroll_steps": 2, "unroll_constant": constant}
    base = {k: v for k, v in spec.base.items() if k != "unroll_steps"}
    on_axes = sweep.make_spec(base, {"unroll_steps": [0, 100]}, dict(spec.run))
    assert [(p.name, p.config["unroll_steps"]) for p in on_axes.points()] == [
        ("unroll_steps=0", 0),
        ("unroll_steps=100", 100),
    ]
    (tmp_path / "bad.toml").write_text(SPEC.replace('mode = "simultaneous"\n', ""))  # mode fresh
    with pytest.raises(sweep.SpecError, match=r"bad.toml: base.update: 'unrolled' moves both players"):
        sweep.load_spec(tmp_path / "bad.toml")
    (tmp_path / "k.toml").write_text(SPEC.replace("unroll_steps = 2", "unroll_steps = 101"))
    with pytest.raises(sweep.SpecError, match="unroll_steps: expected an integer K from 0 to 100, got 101$"):
        sweep.load_spec(tmp_path / "k.toml")


def test_a_finished_run_from_before_the_unrolled_fields_still_counts_in_its_sweep(tmp_path):
    """A sweep's finished run whose run.json was written before ``unroll_steps`` and
    ``unroll_constant`` existed (nor ``update``, ``consensus_weight``) is the same configuration
    as the spec's point: the sweep run again keeps it, without training it again."""
    from minigan.app import sweep
    from minigan.app.sweep.runner import held_config

    base = {**TINY, "g_hidden": [8], "d_hidden": [8], "steps": 2, "log_every": 2}
    run = {"eval_samples": 100, "plots": False, "eval_every": 2, "checkpoint_every": 2}
    spec = sweep.make_spec(base, {"seed": [0]}, run, name="old")
    assert (
        sweep.run_sweep(spec, tmp_path, use_dask=False, quiet=True, figure=False).rows[0]["status"] == "done"
    )
    folder = tmp_path / "runs" / spec.points()[0].name
    held = json.loads((folder / "run.json").read_text())
    new_fields = ("update", "consensus_weight", "unroll_steps", "unroll_constant")
    held["config"] = {k: v for k, v in held["config"].items() if k not in new_fields}
    (folder / "run.json").write_text(json.dumps(held))
    assert held_config(folder) == spec.points()[0].config
    before = hashlib.sha256((folder / "checkpoint.npz").read_bytes()).hexdigest()
    rows = sweep.run_sweep(spec, tmp_path, use_dask=False, quiet=True, figure=False).rows
    assert rows[0]["status"] == "done" and rows[0]["seconds"] == 0.0  # over before: not trained again
    assert hashlib.sha256((folder / "checkpoint.npz").read_bytes()).hexdigest() == before
