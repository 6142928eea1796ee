"""``minigan sweep`` (the package minigan/app/sweep/): a spec of tiny runs (8-unit networks,
m = 16, 60 steps) on a two-worker Dask LocalCluster with one configuration made to diverge and
one worker killed mid-run,
the same sweep without Dask and on a cluster started apart (``--scheduler``), a sweep interrupted
mid-run (Ctrl-C in-process; kill -9 of the command) and run again, and bad specs (one line, exit
code 2)."""

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minigan.app import exitcodes, sweep

ROOT = Path(__file__).resolve().parents[1]
BASE = {"g_hidden": [8], "d_hidden": [8], "batch_size": 16, "steps": 60, "log_every": 10}
AXES = {
    "variant": [
        {"name": "ns", "g_loss": "nonsaturating"},
        {"name": "mm", "g_loss": "minimax", "k": 2},
        {"name": "absurd", "optimizer": "sgd", "g_lr": 1e3, "d_lr": 1e3},
    ],  # diverges at step 3
    "seed": [0, 1],
}
RUN = {"checkpoint_every": 20, "eval_every": 20, "eval_samples": 200, "plots": False}
SPEC = sweep.make_spec(BASE, AXES, RUN, name="tiny")
TIMING = {"train_seconds", "seconds"}  # the only columns that may differ between two sweeps of the same spec


def table(path):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in sweep.read_csv(path)]


def files(folder):
    """{name: (bytes, mtime_ns)} of every file in a run folder (the lock file aside)."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in Path(folder).iterdir() if p.name != ".lock"
    }


def check_against(out, ref):
    """The sweep in ``out`` found what the reference sweep found: the same table, the same histories."""
    assert table(out / "results.csv") == table(ref / "results.csv")
    for p in SPEC.points():
        h = out / "runs" / p.name / "history.csv"
        if p.values["variant"] != "absurd":
            assert h.read_bytes() == (ref / "runs" / p.name / "history.csv").read_bytes(), p.name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep without Dask (as if it were not installed): one run after another, in this process."""
    out = tmp_path_factory.mktemp("ref")
    saved = {m: sys.modules.get(m) for m in ("dask", "dask.distributed")}
    sys.modules.update({"dask": None, "dask.distributed": None})  # import fails as if missing
    try:
        assert not sweep.dask_available()
        res = sweep.run_sweep(SPEC, out, quiet=True)
    finally:
        for m, mod in saved.items():
            if mod is None:
                sys.modules.pop(m, None)
            else:
                sys.modules[m] = mod
    assert not res.interrupted
    return out, res


def test_the_reference_sweep_records_the_failed_runs_and_finishes_the_others(reference):
    out, res = reference
    rows = {r["run"]: r for r in sweep.read_csv(out / "results.csv")}
    assert list(rows) == [p.name for p in SPEC.points()]
    for p in SPEC.points():
        r = rows[p.name]
        assert (r["variant"], r["seed"]) == (p.values["variant"], p.values["seed"])
        if p.values["variant"] == "absurd":
            assert r["status"] == "failed" and r["step"] == "3"
            assert "training diverged" in r["message"] and "step 3" in r["message"]
            assert json.loads((out / "runs" / p.name / "failed.json").read_text())["message"] == r["message"]
        else:
            assert r["status"] == "done" and r["message"] == ""
            m = json.loads((out / "runs" / p.name / "metrics.json").read_text())
            assert (int(r["step"]), int(r["modes_covered"]), int(r["modes"])) == (60, m["modes_covered"], 8)
            assert float(r["high_quality"]) == pytest.approx(m["high_quality"])
            hist = np.loadtxt(out / "runs" / p.name / "history.csv", delimiter=",", skiprows=1)
            assert hist.shape[0] == 60
    assert len(res.failed) == 2
    # the two seeds of a configuration ran different runs
    assert (out / "runs" / "variant=ns,seed=0" / "history.csv").read_bytes() != (
        out / "runs" / "variant=ns,seed=1" / "history.csv"
    ).read_bytes()
    summ = {s["variant"]: s for s in sweep.summarize(res.rows, SPEC)}
    hq = [r["high_quality"] for r in res.rows if r["variant"] == "ns"]
    assert summ["ns"]["high_quality"] == pytest.approx((np.mean(hq), np.std(hq)))
    assert (summ["absurd"]["done"], summ["absurd"]["runs"]) == (0, 2)


def _die_once(marker, gan):
    """prepare(): the first time, kill the worker process running variant=ns, seed 0 once its
    run has passed step 30 (its checkpoint at step 20 written)."""
    if gan.config.g_loss != "nonsaturating" or gan.config.seed != 0 or gan.step > 0 or os.path.exists(marker):
        return
    train = gan.train

    def dying_train(n=None, *a, **kw):
        if gan.step >= 30:
            Path(marker).write_text(str(os.getpid()))
            os._exit(1)
        return train(n, *a, **kw)

    gan.train = dying_train


def test_a_two_worker_local_cluster_gives_the_same_table_despite_a_dead_worker(reference, tmp_path):
    pytest.importorskip("dask.distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the hook travels to the workers by value
    ref, _ = reference
    out, marker = tmp_path / "dask", tmp_path / "died"
    res = sweep.run_sweep(
        SPEC, out, use_dask=True, workers=2, quiet=True, prepare=functools.partial(_die_once, str(marker))
    )
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker process died
    resumed = json.loads((out / "runs" / "variant=ns,seed=0" / "run.json").read_text())
    assert resumed["resumed_at_step"] == 20  # Dask ran the task again; it resumed from the checkpoint
    assert [r["status"] for r in res.rows] == ["done"] * 4 + ["failed"] * 2
    check_against(out, ref)


def _interrupt_once(marker, gan):
    """prepare(): Ctrl-C (SIGINT to this process) in the middle of variant=mm, seed 0."""
    if gan.config.g_loss != "minimax" or gan.config.seed != 0 or os.path.exists(marker):
        return
    train = gan.train

    def train_then_interrupt(n=None, *a, **kw):
        out = train(n, *a, **kw)
        if gan.step >= 30 and not os.path.exists(marker):
            Path(marker).touch()
            os.kill(os.getpid(), signal.SIGINT)
        return out

    gan.train = train_then_interrupt


def test_an_interrupted_sweep_skips_finished_runs_and_resumes_the_others(reference, tmp_path):
    ref, _ = reference
    out, marker = tmp_path / "sweep", tmp_path / "interrupted"
    res = sweep.run_sweep(
        SPEC, out, use_dask=False, quiet=True, prepare=functools.partial(_interrupt_once, str(marker))
    )
    assert res.interrupted and marker.exists()
    assert [r["status"] for r in res.rows] == [
        "done",
        "done",
        "unfinished",
        "unfinished",
        "unfinished",
        "unfinished",
    ]
    mm = out / "runs" / "variant=mm,seed=0"
    assert not (mm / "metrics.json").exists()
    stopped_at = json.loads((mm / "run.json").read_text())
    kept = {p.name: files(out / "runs" / p.name) for p in SPEC.points()[:2]}

    res = sweep.run_sweep(SPEC, out, use_dask=False, quiet=True)  # run it again
    assert not res.interrupted
    for name, before in kept.items():
        assert files(out / "runs" / name) == before, name  # skipped: not a byte or a time changed
    again = json.loads((mm / "run.json").read_text())
    assert stopped_at["resumed_at_step"] is None and again["resumed_at_step"] >= 30  # from its checkpoint
    check_against(out, ref)

    # a third time: every run is over (done or failed), nothing is touched
    kept = {p.name: files(out / "runs" / p.name) for p in SPEC.points()}
    res = sweep.run_sweep(SPEC, out, use_dask=False, quiet=True)
    assert {p.name: files(out / "runs" / p.name) for p in SPEC.points()} == kept
    check_against(out, ref)


def test_the_command_killed_and_run_again_resumes(tmp_path):
    """kill -9 of ``minigan sweep --no-dask`` while its second run trains; the same command again
    finishes with the numbers of an uninterrupted sweep, the first run untouched."""
    spec = {
        "base": {**{k: v for k, v in BASE.items() if k != "steps"}, "log_every": 20},
        "axes": {"steps": [60, 4000]},
        "run": {**RUN, "checkpoint_every": 100, "eval_every": 1000},
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    ref = tmp_path / "ref"
    sweep.run_sweep(sweep.load_spec(path), ref, use_dask=False, quiet=True)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "minigan", "sweep", str(path), "--out", str(out), "--no-dask", "--no-plots"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    long_ckpt = out / "runs" / "steps=4000" / "checkpoint.npz"
    try:
        deadline = time.monotonic() + 120
        while not long_ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()
    assert long_ckpt.exists() and not (out / "runs" / "steps=4000" / "metrics.json").exists()
    first = files(out / "runs" / "steps=60")
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (
        "steps=60: done (finished before)" in r.stdout and "steps=4000: done (resumed from step" in r.stdout
    )
    assert files(out / "runs" / "steps=60") == first
    assert table(out / "results.csv") == table(ref / "results.csv")
    for name in ("steps=60", "steps=4000"):
        assert (out / "runs" / name / "history.csv").read_bytes() == (
            ref / "runs" / name / "history.csv"
        ).read_bytes()


@pytest.mark.parametrize(
    "text, ext, says",
    [
        (
            '{"base": {"lr": 0.1}, "axes": {"seed": [0, 1]}}',
            "json",
            "base.lr: not a TrainConfig field (did you mean",
        ),
        ("[axes]\nseed = []\n", "toml", "axes.seed: expected a non-empty list of values, got []"),
        ("[axes\nseed = [0]\n", "toml", "not valid TOML"),
    ],
)
def test_a_bad_spec_is_one_line_and_exit_code_2(tmp_path, text, ext, says):
    path = tmp_path / f"spec.{ext}"
    path.write_text(text)
    r = subprocess.run(
        [sys.executable, "-m", "minigan", "sweep", str(path), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("minigan sweep: error: ") and says in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "spec, says",
    [
        ({"axes": {"mode": ["fresh", "fast"]}}, "axes.mode[1]: mode: expected one of"),
        (
            {"axes": {"variant": ["a", "b"]}},
            "axes.variant: not a TrainConfig field; an axis over several fields",
        ),
        (
            {"axes": {"variant": [{"g_los": "minimax"}]}},
            "axes.variant[0].g_los: not a TrainConfig field (did you mean g_loss",
        ),
        ({"base": {"seed": 0}, "axes": {"seed": [1, 2]}}, "axes.seed: seed is also in base"),
        ({"base": {"steps": 1.5}}, "base.steps: expected a positive integer, got 1.5"),
        ({"base": {"dataset": "rings"}}, "base.dataset: expected one of"),
        ({"run": {"eval_every": 0}}, "run.eval_every: expected a positive integer, got 0"),
        ({"run": {"checkpoints": 10}}, "run.checkpoints: unknown option"),
        (
            {"axes": {"g_loss": ["hinge"], "real_target": [0.9]}},
            "point g_loss=hinge,real_target=0.9: real_target: label",
        ),
        ({"axes": {"seed": 0}}, "axes.seed: expected a non-empty list of values, got 0"),
        ({"bases": {}}, "bases: unknown key (expected name, base, axes, run)"),
        ([1, 2], "expected a table with base, axes and run"),
    ],
)
def test_every_bad_spec_names_its_key(tmp_path, capsys, spec, says):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert sweep.main([str(path), "--out", str(tmp_path / "o"), "--no-dask"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


def test_missing_or_foreign_spec_files(tmp_path, capsys):
    for name, says in (("nope.toml", "nope.toml: no such file"), ("spec.yaml", "expected a .toml or .json")):
        assert sweep.main([str(tmp_path / name), "--no-dask"]) == 2
        assert says in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{")
    assert sweep.main([str(tmp_path / "bad.json"), "--no-dask"]) == 2
    assert "bad.json: not valid JSON" in capsys.readouterr().err


def test_a_run_folder_of_another_config_is_never_overwritten(reference, tmp_path, capsys):
    ref, _ = reference
    spec = {"base": {**BASE, "steps": 40}, "axes": AXES, "run": RUN}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    before = files(ref / "runs" / "variant=ns,seed=0")
    assert sweep.main([str(path), "--out", str(ref), "--no-dask", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "holds the sweep of another spec (base.steps: 60 there, 40 here)" in err and err.count("\n") == 1
    assert files(ref / "runs" / "variant=ns,seed=0") == before
    other = tmp_path / "other"  # a sweep folder without its sweep.json: each run folder says it
    (other / "runs").mkdir(parents=True)
    (other / "runs" / "variant=ns,seed=0").symlink_to(ref / "runs" / "variant=ns,seed=0")
    assert sweep.main([str(path), "--out", str(other), "--no-dask", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "holds a run of another config (steps=60, not 40)" in err and err.count("\n") == 1
    assert files(ref / "runs" / "variant=ns,seed=0") == before


def test_toml_spec_none_and_tables(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "t"\n[base]\nsteps = 10\npenalty = "none"\n[axes]\n'
        'variant = [{name = "hinge", g_loss = "hinge"}, {g_loss = "minimax", k = 3}]\n'
        "g_hidden = [[8], [8, 8]]\n"
    )
    spec = sweep.load_spec(path)
    names = [p.name for p in spec.points()]
    assert names == [
        "variant=hinge,g_hidden=8",
        "variant=hinge,g_hidden=8x8",
        "variant=minimax+3,g_hidden=8",
        "variant=minimax+3,g_hidden=8x8",
    ]
    c = spec.points()[3].config
    assert (c["penalty"], c["g_loss"], c["k"], c["g_hidden"], c["steps"]) == (None, "minimax", 3, [8, 8], 10)


def test_the_guides_spec_is_the_committed_one_and_loads(tmp_path):
    """The spec shown in docs/guide.md's "Sweeps" is docs/sweeps/ring_losses_modes.toml, and it loads."""
    guide = (ROOT / "docs/guide.md").read_text().split("## Sweeps", 1)[1].split("\n## ", 1)[0]
    block = guide.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "r.toml").write_text(block)
    shown, committed = (
        sweep.load_spec(tmp_path / "r.toml"),
        sweep.load_spec(ROOT / "docs/sweeps/ring_losses_modes.toml"),
    )
    assert shown.to_dict() == committed.to_dict()
    assert [p.name for p in committed.points()][:2] == [
        "g_loss=nonsaturating,mode=fresh,seed=0",
        "g_loss=nonsaturating,mode=fresh,seed=1",
    ]
    assert len(committed.points()) == 18


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(sweep.runner, "CONNECT_TIMEOUT", 1)
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"base": BASE, "run": RUN}))
    assert (
        sweep.main([str(path), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9", "-q"]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler: cannot reach a Dask scheduler at tcp://127.0.0.1:9" in err


def test_an_existing_cluster_runs_the_sweep(reference, tmp_path):
    """``minigan sweep --scheduler ADDRESS`` run as a user runs it (a subprocess) against a cluster
    started apart from it (here: a scheduler on TCP and one worker, in this test's process): the
    runs go to that cluster's worker, and the table and histories are the reference sweep's."""
    distributed = pytest.importorskip("dask.distributed")
    ref, _ = reference
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"base": BASE, "axes": AXES, "run": RUN}))
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=":0"
    ) as cluster:
        cmd = [
            sys.executable,
            "-m",
            "minigan",
            "sweep",
            str(path),
            "--out",
            str(out),
            "--no-plots",
            "--scheduler",
            cluster.scheduler_address,
        ]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == exitcodes.FAILED, r.stderr  # the two absurd runs diverge, as in the reference
    trained_by = {
        re.findall(r"trains in process (\d+)", (out / "runs" / p.name / "sweep.log").read_text())[-1]
        for p in SPEC.points()
    }
    assert f"6 run(s) on {cluster.scheduler_address}" in r.stdout
    check_against(out, ref)
    assert trained_by == {str(os.getpid())}  # the cluster's worker trained them, not the command's process
    assert not any((out / "runs" / p.name / ".lock").exists() for p in SPEC.points())  # released: removed


def test_a_run_json_from_before_a_config_field_counts_as_the_same_config(tmp_path):
    """A finished run whose run.json predates a TrainConfig field (here ``update`` and
    ``consensus_weight``) is the same configuration as a spec point with that field's default."""
    from minigan.app.sweep.runner import held_config
    from minigan.training import TrainConfig

    config = TrainConfig(**BASE).to_dict()
    old = {k: v for k, v in config.items() if k not in ("update", "consensus_weight")}
    (tmp_path / "run.json").write_text(json.dumps({"config": old}))
    assert held_config(tmp_path) == config
    assert held_config(tmp_path / "none") is None


def test_summary_of_data_sets_with_different_mode_counts_names_each_count():
    """A sweep over the ring (8 modes) and the grid (25): one count in the header would be wrong for
    one of them, so each configuration's cell carries its own."""
    from minigan.app.sweep.results import summary_table
    from minigan.app.sweep.spec import make_spec

    spec = make_spec(axes={"dataset": ["ring", "grid"], "seed": [0, 1]})

    def row(ds, seed, covered, total):
        return {"dataset": ds, "seed": seed, "status": "done", "modes_covered": covered, "modes": total,
                "high_quality": 0.5, "kl": 0.1}  # fmt: skip

    rows = [row("ring", 0, 8, 8), row("ring", 1, 7, 8), row("grid", 0, 20, 25), row("grid", 1, 18, 25)]
    table = summary_table(rows, spec)
    assert "| modes covered |" in table and "(of 8)" not in table
    assert "7.5 ± 0.5 / 8" in table and "19.0 ± 1.0 / 25" in table
    one = summary_table(rows[:2], make_spec(axes={"dataset": ["ring"], "seed": [0, 1]}))
    assert "modes covered (of 8)" in one and "/ 8 |" not in one
