"""Fault injection: every fault as a user meets it, ``python -m minigan ...`` in a
subprocess, asserting the exit code (``minigan.app.exitcodes``), a one-line message without a
traceback, and that no earlier output was lost or changed (the bytes of an earlier run's
checkpoint.npz, history.csv and run.json before and after).

The probes: ``kill -9`` during checkpoint saves and Ctrl-C, then ``--resume``; a file-size limit
(``RLIMIT_FSIZE`` in the child); a read-only output folder; two writers into one folder;
truncated, bit-flipped, foreign and incomplete checkpoints given to ``eval``, ``sample`` and
``train --resume``; values no option can take; output into a closed pipe; paths that are no
readable checkpoint or data file (folders, symbolic-link loops, no permission); a data file deleted
or rewritten under a run; counts, sizes and steps that cannot fit or resolve nothing; sweep specs
too large, empty or inconsistent, and another spec into a finished sweep's folder; the final metrics
of many held-out rows.

Set ``MINIGAN_FAULT_TABLE=FILE`` to have each probe append a row ``probe | exit code | first line of
the message | earlier outputs intact`` to FILE.
"""

import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import minigan
from minigan import checkpoint
from minigan.app import exitcodes
from minigan.app import train as cli
from minigan.training import GAN, HISTORY, TrainConfig

ROOT = Path(__file__).resolve().parents[1]
NETS = [
    "--g-hidden",
    "8",
    "--d-hidden",
    "8",
    "--batch-size",
    "16",
    "--eval-samples",
    "200",
    "--no-plots",
    "-q",
]
KEPT = ("checkpoint.npz", "history.csv", "run.json")
STEPS = 1000  # the runs that are killed and interrupted, then resumed
TABLE = os.environ.get("MINIGAN_FAULT_TABLE")


def minigan_cmd(*args, prefix=(), **kw):
    """``python -m minigan ARGS`` from this checkout, as a user runs it (after ``prefix``)."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "minigan", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def start(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "minigan", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def digest(folder):
    """sha256 of the outputs that must never be lost or changed by a failed command."""
    return {
        n: hashlib.sha256((Path(folder) / n).read_bytes()).hexdigest()
        for n in KEPT
        if (Path(folder) / n).is_file()
    }


def temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


def one_line(r, code, *names, probe=None, intact=None):
    """Exit ``code``, no traceback, and one error line (argparse puts its usage lines before it,
    ``minigan train`` its pointer to --help after it) that names each of ``names``. Returns it."""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if ": error: " in line]
    record(probe, r.returncode, lines[errors[0]] if errors else (lines[0] if lines else ""), intact)
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr and len(errors) == 1, r.stderr
    usage, after = lines[: errors[0]], lines[errors[0] + 1 :]
    assert (not usage or usage[0].startswith("usage: ")) and len(after) <= 1, r.stderr
    if after:
        assert after[0].endswith("--help lists the options)"), r.stderr
    for name in names:
        assert str(name) in lines[errors[0]], (name, lines[errors[0]])
    return lines[errors[0]]


def record(probe, code, line, intact):
    if TABLE and probe:
        with open(TABLE, "a") as f:
            f.write(
                f"| {probe} | {code} | `{line}` | "
                f"{'-' if intact is None else ('yes' if intact else 'no')} |\n"
            )


def tiny(steps=STEPS):
    return TrainConfig(steps=steps, g_hidden=(8,), d_hidden=(8,), batch_size=16, log_every=1)


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A finished earlier run (4 steps, a checkpoint at each, constant learning rates so that it
    may be extended): each test works on its own copy."""
    out = tmp_path_factory.mktemp("earlier") / "run"
    r = minigan_cmd(
        "train", *NETS, "--steps", 4, "--log-every", 1, "--checkpoint-every", 1, "--lr-decay", 1, "--out", out
    )
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def run_copy(earlier, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(earlier, out)
    return out, digest(out)


@pytest.fixture(scope="module")
def reference():
    """The run that the killed and interrupted ones must end up as, trained in one go in Python."""
    return GAN(tiny()).train(STEPS)


def assert_same_run(path, ref):
    gan = checkpoint.load(path)
    assert gan.step == ref.step
    np.testing.assert_array_equal(gan.history_array(), ref.history_array())
    for name, p in ref.G.params().items():
        np.testing.assert_array_equal(np.asarray(gan.G.params()[name]), np.asarray(p))


# -- kill -9 during a save, Ctrl-C ----------------------------------------------------------------
def test_kill_9_during_checkpoint_saves_then_resume_finishes_the_same_run(tmp_path, reference):
    """Three SIGKILLs, each a seeded random time into the run and then at the next save in progress
    (its temporary file seen): the checkpoint loads every time, never goes back a step, the folder is
    not locked by the dead process, and --resume finishes the very run of an uninterrupted one,
    with no temporary file left."""
    rng = random.Random(10)
    out = tmp_path / "run"
    ckpt = out / "checkpoint.npz"
    new = ["train", *NETS, "--steps", STEPS, "--log-every", 1, "--checkpoint-every", 1, "--out", out]
    last, left = 0, []
    for i in range(3):
        p = start(
            *(new if i == 0 else ["train", "--resume", ckpt, "--checkpoint-every", 1, "--no-plots", "-q"])
        )
        try:
            deadline = time.monotonic() + 60
            while not ckpt.exists() or (i > 0 and checkpoint.load(ckpt).step == last):
                assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.4))
            while not temporaries(out):  # a save in progress
                assert p.poll() is None and time.monotonic() < deadline, f"kill {i}: the run ended before it"
                time.sleep(0.0005)
            p.send_signal(signal.SIGKILL)
        finally:
            p.kill()
            p.communicate()
        assert p.returncode == -signal.SIGKILL
        left += temporaries(out)
        gan = checkpoint.load(ckpt)  # whole, whatever the moment
        record(
            f"kill -9 #{i + 1} during a save ({'new run' if i == 0 else '--resume'}, --checkpoint-every 1)",
            p.returncode,
            f"(none) checkpoint at step {gan.step} loads; {len(temporaries(out))} .tmp left",
            gan.step > last,
        )
        assert last < gan.step < STEPS and gan.history_array().shape == (gan.step, len(HISTORY))
        assert minigan.load(out).step == gan.step
        last = gan.step
    assert left  # at least one kill did land inside a save (its temporary left behind)
    r = minigan_cmd("train", "--resume", ckpt, "--no-plots", "-q")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert temporaries(out) == []
    assert_same_run(ckpt, reference)
    same = cli.write_history_csv(reference.history, str(tmp_path / "reference.csv"))
    assert (out / "history.csv").read_bytes() == Path(same).read_bytes()
    record(
        "--resume after the 3 kills",
        r.returncode,
        r.stderr.strip()
        or "(none) the uninterrupted run's checkpoint and history.csv, byte for byte; no .tmp left",
        True,
    )
    r = minigan_cmd("eval", out, "-n", 200)
    assert r.returncode == 0 and f"step {STEPS}" in r.stdout, r.stderr


def test_kill_9_keeps_the_evaluations_and_warnings_of_the_run(tmp_path):
    """evals.csv is written with every checkpoint, and a resumed run keeps the run's
    --checkpoint-every and --eval-every (run.json) and derives its warnings again from the
    evaluations it takes back: after kill -9 at step 700 or later, --resume (no other option) ends
    with the evals.csv of an uninterrupted run, byte for byte, and the same warnings (before: every
    evaluation before the resume point was lost, the resumed run evaluated every 500 steps, and
    the warnings that had fired were forgotten)."""
    steps, every = 3000, ["--eval-every", 50, "--checkpoint-every", 50]
    whole = tmp_path / "whole"
    r = minigan_cmd("train", *NETS, "--steps", steps, *every, "--out", whole)
    assert r.returncode == 0, r.stderr
    warned = json.loads((whole / "metrics.json").read_text())["warnings"]
    assert [w["step"] for w in warned] == [300, 600]  # both fire before the kill (seed 0's run)
    out = tmp_path / "run"
    ckpt = out / "checkpoint.npz"
    p = start("train", *NETS, "--steps", steps, *every, "--out", out)
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists() or checkpoint.load(ckpt).step < 700:
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
            time.sleep(0.01)
        p.send_signal(signal.SIGKILL)
    finally:
        p.kill()
        p.communicate()
    step = checkpoint.load(ckpt).step
    kept = np.loadtxt(out / "evals.csv", delimiter=",", skiprows=1, ndmin=2)
    assert 700 <= step < steps and list(kept[:, 0]) == list(range(50, int(kept[-1, 0]) + 1, 50))
    assert kept[-1, 0] >= step - 50  # the evaluations up to the checkpoint (or the one before it)
    r = minigan_cmd("train", "--resume", ckpt, "--no-plots", "-q")
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr  # fired before the kill: not again
    assert (out / "evals.csv").read_bytes() == (whole / "evals.csv").read_bytes()
    assert json.loads((out / "metrics.json").read_text())["warnings"] == warned
    record(
        "kill -9 after step 700, then --resume (--eval-every 50)",
        r.returncode,
        "(none) evals.csv byte-identical to an uninterrupted run's; the same warnings",
        True,
    )


def test_ctrl_c_exits_130_with_a_checkpoint_to_resume(tmp_path, reference):
    out = tmp_path / "run"
    ckpt = out / "checkpoint.npz"
    p = start("train", *NETS, "--steps", STEPS, "--log-every", 1, "--checkpoint-every", 5, "--out", out)
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists():
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
            time.sleep(0.005)
        time.sleep(random.Random(130).uniform(0.0, 0.2))
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    gan = checkpoint.load(ckpt)  # the state reached, saved on the way out
    lines = err.splitlines()
    kept = cli.read_history_csv(out / "history.csv").shape == (gan.step, len(HISTORY))
    record("Ctrl-C (SIGINT) during a run", p.returncode, lines[0] if lines else "", kept)
    assert p.returncode == exitcodes.INTERRUPTED == 130
    assert lines == [
        f"minigan train: interrupted at step {gan.step}; resume with: minigan train --resume {ckpt}"
    ]
    assert 5 <= gan.step < STEPS and kept
    assert json.loads((out / "run.json").read_text())["config"]["steps"] == STEPS
    r = minigan_cmd("train", "--resume", ckpt, "--no-plots", "-q")
    assert r.returncode == 0 and temporaries(out) == [], r.stderr
    assert_same_run(ckpt, reference)


# -- files that cannot be written: exit 3, the earlier run intact ---------------------------------
@pytest.mark.parametrize("limit", [300, 20_000])  # below run.json's size; below the checkpoint's
def test_a_file_size_limit_exits_3_and_leaves_the_earlier_run(run_copy, limit):
    out, before = run_copy
    r = minigan_cmd(
        "train",
        "--resume",
        out / "checkpoint.npz",
        "--steps",
        8,
        "--no-plots",
        "-q",
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
    )
    intact = digest(out) == before
    line = one_line(
        r,
        exitcodes.WRITE_ERROR,
        f"cannot write {out / 'checkpoint.npz'}",
        "File too large",
        probe=f"file-size limit {limit} B (ulimit -f), --resume",
        intact=intact,
    )
    assert line.endswith("files written before (the last checkpoint among them) are as they were")
    assert intact and temporaries(out) == []
    assert checkpoint.load(out / "checkpoint.npz").step == 4


def test_a_folder_where_the_checkpoint_should_be_exits_3(tmp_path):
    other = tmp_path / "other"
    (other / "checkpoint.npz").mkdir(parents=True)
    r = minigan_cmd("train", *NETS, "--steps", 2, "--log-every", 2, "--out", other, "--overwrite")
    one_line(
        r,
        exitcodes.WRITE_ERROR,
        f"cannot write {other / 'checkpoint.npz'}",
        probe="a folder named checkpoint.npz in --out",
        intact=(other / "checkpoint.npz").is_dir(),
    )
    assert (other / "checkpoint.npz").is_dir() and temporaries(other) == []


def _without_dac_override(folder):
    """Root writes into a 0555 folder by its capability CAP_DAC_OVERRIDE: run the command without it
    (util-linux's setpriv), or skip where that cannot be done."""
    prefix = ("setpriv", "--inh-caps=-dac_override", "--bounding-set=-dac_override")
    if os.geteuid() == 0 and shutil.which(prefix[0]):
        r = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-c",
                "import os, sys; sys.exit(os.access(sys.argv[1], os.W_OK))",
                str(folder),
            ],
            capture_output=True,
        )
        if r.returncode == 0:
            return prefix
    pytest.skip("this user may write into a 0555 folder (root, and no setpriv to drop CAP_DAC_OVERRIDE)")


def test_a_read_only_folder_exits_3_and_is_left_as_it_was(run_copy, tmp_path):
    out, before = run_copy
    empty = tmp_path / "empty"
    empty.mkdir()
    for d in (out, empty):
        d.chmod(0o555)
    try:
        prefix = _without_dac_override(out) if os.access(out, os.W_OK) else ()
        r = minigan_cmd(
            "train", "--resume", out / "checkpoint.npz", "--steps", 8, "--no-plots", "-q", prefix=prefix
        )
        # the first file the run writes there is its lock (.lock, removed when a run ends)
        one_line(
            r,
            exitcodes.WRITE_ERROR,
            f"cannot write {out / '.lock'}",
            "Permission denied",
            probe="read-only folder (0555) of an earlier run, --resume",
            intact=digest(out) == before,
        )
        assert digest(out) == before and temporaries(out) == []
        r = minigan_cmd("train", *NETS, "--steps", 2, "--out", empty, prefix=prefix)
        one_line(
            r,
            exitcodes.WRITE_ERROR,
            str(empty),
            "Permission denied",
            probe="read-only empty folder (0555) as --out",
            intact=not any(empty.iterdir()),
        )
        assert not any(empty.iterdir())
    finally:
        for d in (out, empty):
            d.chmod(0o755)


# -- two writers -----------------------------------------------------------------------------------
def test_a_second_writer_is_refused_and_the_folder_is_the_first_runs(tmp_path):
    out = tmp_path / "run"
    first_args = ["train", *NETS, "--steps", 3000, "--log-every", 50, "--checkpoint-every", 500, "--out", out]
    first = start(*first_args)
    try:
        deadline = time.monotonic() + 60
        while not (out / "checkpoint.npz").exists():  # the first holds the lock and has saved
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.01)
        second = minigan_cmd("train", *NETS, "--steps", 7, "--seed", 5, "--out", out, "--overwrite")
        still_running = first.poll() is None
        _, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert still_running  # (else the probe proved nothing: make the first run longer)
    assert first.returncode == 0, err
    cfg = json.loads((out / "run.json").read_text())
    gan = checkpoint.load(out / "checkpoint.npz")
    mine = (
        cfg["config"]["steps"],
        cfg["config"]["seed"],
        gan.step,
        gan.config.seed,
        json.loads((out / "metrics.json").read_text())["step"],
    ) == (3000, 0, 3000, 0, 3000)
    mine = mine and cli.read_history_csv(out / "history.csv").shape == (3000, len(HISTORY))
    one_line(
        second,
        exitcodes.USAGE,
        f"--out: {out} is being written by another minigan train (pid {first.pid})",
        probe="a second writer into a folder in use (--overwrite)",
        intact=mine,
    )
    assert mine and temporaries(out) == []
    assert cfg["command"] == "minigan train " + " ".join(map(str, first_args[1:]))


# -- broken checkpoints: exit 2 naming the file, never a silent wrong load ---------------------------
def _break(path, kind):
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
    elif kind == "flipped bytes":  # three seeded bytes inside G's first weight matrix
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("G/param/0.W.npy")
        start_ = info.header_offset + 30 + len(info.filename) + len(info.extra)
        b = bytearray(data)
        for i in random.Random(3).sample(range(start_ + 128, start_ + info.compress_size), 3):
            b[i] ^= 0xFF
        path.write_bytes(bytes(b))
    elif kind == "not an npz":
        path.write_bytes(b"step,L_D\n1,1.38\n")
    elif kind == "missing a key":
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if k != "G/param/0.W"}
        with open(path, "wb") as f:
            np.savez(f, **arrays)


@pytest.mark.parametrize("kind", ["truncated", "flipped bytes", "not an npz", "missing a key"])
def test_a_broken_checkpoint_exits_2_naming_it(run_copy, tmp_path, kind):
    out, before = run_copy
    ckpt = out / "checkpoint.npz"
    _break(ckpt, kind)
    broken = digest(out)
    assert broken["checkpoint.npz"] != before["checkpoint.npz"]
    samples = tmp_path / "s.npy"
    for args in (
        ["eval", ckpt, "-n", 200],
        ["sample", ckpt, "-n", 5, "--out", samples],
        ["train", "--resume", ckpt, "--steps", 8, "--no-plots", "-q"],
    ):
        r = minigan_cmd(*args)
        one_line(
            r,
            exitcodes.USAGE,
            ckpt,
            probe=f"checkpoint {kind}: minigan {args[0]}{' --resume' if args[0] == 'train' else ''}",
            intact=digest(out) == broken,
        )
        assert digest(out) == broken and not samples.exists() and temporaries(out) == []


def test_random_byte_flips_are_refused_or_load_the_same_networks(earlier, tmp_path):
    """Any byte of the file, 150 seeded flips: each either refused with the path named or loaded
    to the very same networks (a flip in a field the loader does not need); never a silent wrong load."""
    good = minigan.load(earlier)
    data = (earlier / "checkpoint.npz").read_bytes()
    rng = random.Random(777)
    path = tmp_path / "flipped.npz"
    refused = 0
    for _ in range(150):
        b = bytearray(data)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(b))
        try:
            got = minigan.load(path)
        except ValueError as e:
            assert str(path) in str(e)
            refused += 1
            continue
        for net in ("G", "D"):
            for name, p in getattr(good, net).params().items():
                np.testing.assert_array_equal(np.asarray(getattr(got, net).params()[name]), np.asarray(p))
    assert refused > 100  # most of the file is checksummed array data
    record(
        "150 seeded single-bit flips anywhere (minigan.load, in process)",
        "-",
        f"{refused} refused naming the file, {150 - refused} loaded the very same networks",
        True,
    )


# -- values no option can take ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, line",
    [
        (["--seed", "-1"], "--seed: expected an integer in [0, 2**63), got -1"),
        (
            ["--batch-size", "99999999999999999999999"],
            "--batch-size: 99999999999999999999999 is more than minigan takes",
        ),
        (
            ["--threads", "99999999999999999999999"],
            "--threads: 99999999999999999999999 is more than minigan takes",
        ),
        (
            ["--eval-samples", "99999999999999999999999"],
            "--eval-samples: 99999999999999999999999 is more than",
        ),
        (
            ["--k", "100000000000000000000000"],
            "--k: 100000000000000000000000 is more than minigan takes (at most 1,000)",
        ),
        (["--k", "1e23"], "--k"),
        (
            ["--g-hidden", "100000,100000"],
            "--g-hidden: (100000, 100000) makes more than 1,000,000,000 weights",
        ),
        (["--optimizer", "sgd", "--betas", "0.5,0.9"], "--betas: a setting of adam, but this run uses sgd"),
        (["--momentum", "0.9"], "--momentum: a setting of sgd, but this run uses adam"),
    ],
)
def test_values_that_cannot_fit_or_do_not_apply_are_refused_naming_the_flag(run_copy, argv, line):
    """Each was a traceback, a hang or silently ignored: now one line, exit 2,
    and the run in --out (here replaced with --overwrite, had the options been good) untouched."""
    out, before = run_copy
    r = minigan_cmd("train", *argv, "--steps", 2, "--out", out, "--overwrite", "-q")
    one_line(r, exitcodes.USAGE, line, probe="train " + " ".join(argv), intact=digest(out) == before)
    assert digest(out) == before


SIMULTANEOUS = ["--mode", "simultaneous"]
CONSENSUS = ["--update", "consensus", *SIMULTANEOUS, "--penalty", "none"]


@pytest.mark.parametrize(
    "argv, line",
    [
        (["--update", "consensus", *SIMULTANEOUS], "--update: 'consensus' needs penalty=None: R1/R2/GP would "
         "need third derivatives (--penalty is r1 by default: give --penalty none)"),
        (["--update", "extragradient"], "--update: 'extragradient' moves both players from one state, so "
         "it needs mode='simultaneous'; got mode='fresh' (--mode is fresh by default: give --mode "
         "simultaneous)"),
        (["--update", "optimistic", *SIMULTANEOUS, "--k", "2"], "--update: 'optimistic' takes one step of "
         "both players from one state, so it needs k=1; got k=2"),
        ([*CONSENSUS, "--g-loss", "hinge"], "--update: 'consensus' needs a D loss with a second derivative"),
        ([*CONSENSUS, "--g-loss", "wasserstein"], "--update: 'consensus' needs clip=None: a clipped D "
         "follows no smooth field; got clip=0.01 (--g-loss wasserstein clips unless --penalty gp)"),
        ([*CONSENSUS, "--consensus-weight", "0"], "--consensus-weight: expected a positive finite weight "
         "λ of ½‖v‖², got 0.0"),
        ([*CONSENSUS, "--consensus-weight", "-1"], "--consensus-weight: expected a positive finite weight"),
        ([*CONSENSUS, "--consensus-weight", "nan"], "--consensus-weight: expected a positive finite weight"),
        (["--consensus-weight", "0.1"], "--consensus-weight: a setting of --update consensus, but this run "
         "has --update plain"),
        (["--update", "bogus"], "argument --update: invalid choice: 'bogus'"),
    ],
)  # fmt: skip
def test_an_update_without_a_meaning_is_refused_naming_the_flag(run_copy, argv, line):
    """The game's own optimizers (--update) where they have no meaning: one line, exit 2, saying why
    and which option changes it; the run in --out untouched."""
    out, before = run_copy
    r = minigan_cmd("train", *argv, "--steps", 2, "--out", out, "--overwrite", "-q")
    one_line(r, exitcodes.USAGE, line, probe="train " + " ".join(argv), intact=digest(out) == before)
    assert digest(out) == before


def test_an_optimistic_update_resumed_equals_an_uninterrupted_run(tmp_path):
    """The previous move of optimistic Adam is optimizer state: saved in the checkpoint with the
    moments, so 40 steps and --resume to 80 are the 80 steps of one run; --update and
    --consensus-weight are the run's and cannot change on --resume."""
    args = [*NETS, "--update", "optimistic", *SIMULTANEOUS, "--lr-decay", 1, "--log-every", 10]
    assert minigan_cmd("train", *args, "--steps", 80, "--out", tmp_path / "whole").returncode == 0
    assert minigan_cmd("train", *args, "--steps", 40, "--out", tmp_path / "half").returncode == 0
    r = minigan_cmd("train", "--resume", tmp_path / "half", "--steps", 80, "-q", "--no-plots")
    assert r.returncode == 0, r.stderr
    half, whole = checkpoint.load(tmp_path / "half"), checkpoint.load(tmp_path / "whole")
    assert half.step == 80 and half.config.update == "optimistic" == whole.config.update
    np.testing.assert_array_equal(half.history_array(), whole.history_array())
    for flag, value in (("--update", "plain"), ("--consensus-weight", "0.1")):
        r = minigan_cmd("train", "--resume", tmp_path / "half", flag, value, "-q")
        one_line(r, exitcodes.USAGE, flag, "cannot change on --resume")


@pytest.mark.parametrize("value", ["-1", "nan", "2"])
def test_gradcheck_refuses_a_threshold_that_passes_nothing(value):
    r = minigan_cmd("gradcheck", "--threshold", value)
    one_line(
        r, exitcodes.USAGE, "--threshold: expected a number in (0, 1)", probe=f"gradcheck --threshold {value}"
    )


# -- folders, data and signals on the way in and out -------------------------------------------------
def test_resume_into_a_folder_holding_another_run_is_refused(run_copy, tmp_path):
    """--resume A/checkpoint.npz --out B, where B holds a run of its own: refused as a new run into B
    would be (it silently overwrote B); --overwrite lets it, and B then continues A."""
    a, _ = run_copy
    b = tmp_path / "b"
    r = minigan_cmd("train", *NETS, "--steps", 2, "--seed", 7, "--out", b)
    assert r.returncode == 0, r.stderr
    before = digest(b)
    r = minigan_cmd("train", "--resume", a / "checkpoint.npz", "--steps", 6, "--out", b, "--no-plots", "-q")
    one_line(
        r,
        exitcodes.USAGE,
        f"--out: {b} holds another run; continue it with --resume {b / 'checkpoint.npz'}",
        probe="--resume A --out B, B holding another run",
        intact=digest(b) == before,
    )
    assert digest(b) == before
    r = minigan_cmd(
        "train", "--resume", a / "checkpoint.npz", "--steps", 6, "--out", b, "--overwrite", "--no-plots", "-q"
    )
    assert r.returncode == 0, r.stderr
    assert checkpoint.load(b / "checkpoint.npz").step == 6
    # B now holds the continuation of A: resuming A into B again is that run, not another one
    r = minigan_cmd("train", "--resume", a / "checkpoint.npz", "--steps", 6, "--out", b, "--no-plots", "-q")
    assert r.returncode == 0, r.stderr


def test_resume_with_other_data_is_refused(run_copy, tmp_path):
    out, before = run_copy
    other = tmp_path / "other.csv"
    other.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    for extra, flag in (["--data", other], "--data"), (["--holdout", 0.2], "--raw-scale/--holdout"):
        r = minigan_cmd("train", "--resume", out / "checkpoint.npz", *extra, "--steps", 6, "--no-plots", "-q")
        one_line(
            r,
            exitcodes.USAGE,
            f"{flag}: the checkpoint was trained on dataset='ring'",
            probe=f"--resume with {extra[0]}",
            intact=digest(out) == before,
        )
        assert digest(out) == before


def test_animate_every_without_animate_is_refused(tmp_path):
    r = minigan_cmd("train", *NETS, "--steps", 2, "--animate-every", 1, "--out", tmp_path / "run")
    one_line(
        r,
        exitcodes.USAGE,
        "--animate-every: it spaces the frames of the animation, which is not asked for",
        probe="--animate-every without --animate",
    )
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path):
    """SIGTERM (what a scheduler or `kill` sends) stops the run at the next flush and saves it, as
    Ctrl-C does; the exit code is 128 + 15. The folder keeps no lock file."""
    out = tmp_path / "run"
    ckpt = out / "checkpoint.npz"
    p = start("train", *NETS, "--steps", STEPS, "--log-every", 1, "--checkpoint-every", 5, "--out", out)
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists():
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
            time.sleep(0.005)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    gan = checkpoint.load(ckpt)
    lines = err.splitlines()
    record("SIGTERM during a run", p.returncode, lines[0] if lines else "", gan.step >= 5)
    assert p.returncode == exitcodes.TERMINATED == 143
    assert lines == [
        f"minigan train: terminated at step {gan.step}; resume with: minigan train --resume {ckpt}"
    ]
    assert 5 <= gan.step < STEPS
    assert cli.read_history_csv(out / "history.csv").shape == (gan.step, len(HISTORY))
    assert not (out / ".lock").exists() and temporaries(out) == []


def test_finished_and_failed_runs_keep_no_lock_file(earlier, tmp_path):
    assert (earlier / "checkpoint.npz").exists() and not (earlier / ".lock").exists()
    out = tmp_path / "run"
    r = minigan_cmd("train", *NETS, "--steps", 20, "--g-lr", "1e30", "--d-lr", "1e30", "--out", out)
    assert r.returncode == exitcodes.FAILED, r.stderr
    assert not (out / ".lock").exists()


def test_two_runs_at_once_without_out_take_two_folders(tmp_path):
    """The first run holds the default folder and has written nothing yet (its first checkpoint is at
    its end): the second, also with no --out, takes the next free name instead of being refused."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(
        [sys.executable, "-m", "minigan", "train", *NETS, "--steps", "3000", "--checkpoint-every", "1000000"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = tmp_path / "runs" / "ring-nonsaturating-fresh-seed0"
    try:
        deadline = time.monotonic() + 60
        while not (base / ".lock").exists():
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.01)
        second = subprocess.run(
            [sys.executable, "-m", "minigan", "train", *NETS[:-1], "--steps", "2"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        still_running = first.poll() is None
    finally:
        first.kill()
        first.communicate()
    assert still_running  # (else the probe proved nothing: make the first run longer)
    record("two runs at once with no --out", second.returncode, second.stdout.splitlines()[0], True)
    assert second.returncode == 0, second.stderr
    assert (
        f"{os.path.join('runs', base.name)} is being written by another minigan train: this one goes to "
        f"{os.path.join('runs', base.name + '-2')}"
    ) in second.stdout
    assert checkpoint.load(tmp_path / "runs" / (base.name + "-2") / "checkpoint.npz").step == 2
    assert not (base / "checkpoint.npz").exists()


# -- command-line conventions ----------------------------------------------------------------------
def closed_pipe(*args):
    """``python -m minigan ARGS | head -0``, deterministic: stdout is a pipe whose reader is already
    gone, so the first write fails (EPIPE) whatever the timing."""
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run(
            [sys.executable, "-m", "minigan", *map(str, args)],
            cwd=ROOT,
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(w)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["eval", "RUN", "--json", "-n", 200],
        ["sample", "RUN", "-n", 5, "--out", "OUT"],
        ["train", *NETS[:-1], "--steps", 2, "--out", "OUT"],
    ],
    ids=["help", "eval --json", "sample", "train"],
)
def test_a_closed_pipe_ends_the_command_quietly(run_copy, tmp_path, args):
    """``minigan --help | head -1`` and the like: no traceback, no "Exception ignored", exit 141
    (128 + SIGPIPE) as ``git log | head``; a run stopped so releases its folder."""
    out, _ = run_copy
    args = [
        out if a == "RUN" else tmp_path / ("s.npy" if args[0] == "sample" else "new") if a == "OUT" else a
        for a in args
    ]
    r = closed_pipe(*args)
    record(
        f"minigan {' '.join(map(str, args[:2]))} ... | head (a closed pipe)",
        r.returncode,
        r.stderr.strip() or "(none)",
        None,
    )
    assert r.returncode == exitcodes.BROKEN_PIPE == 141 and "Traceback" not in r.stderr, r.stderr
    assert "Exception ignored" not in r.stderr and "Broken pipe" not in r.stderr, r.stderr
    assert not (tmp_path / "new" / ".lock").exists()


def test_sample_and_eval_each_have_their_own_help():
    helps = {cmd: minigan_cmd(cmd, "--help") for cmd in ("sample", "eval")}
    assert all(r.returncode == 0 for r in helps.values())
    text = {cmd: " ".join(r.stdout.split()) for cmd, r in helps.items()}
    assert "``" not in text["sample"] + text["eval"]
    assert "Write n samples" in text["sample"] and "Score fresh samples" in text["eval"]
    assert "Score" not in text["sample"] and "used --seed 12345" in text["eval"]


@pytest.fixture(scope="module")
def gaussian_run(tmp_path_factory):
    """A finished 1-D run: its metrics (JS, W1) are continuous, so other samples give other numbers."""
    out = tmp_path_factory.mktemp("gaussian") / "run"
    r = minigan_cmd("train", *NETS, "--dataset", "gaussian", "--steps", 4, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def test_eval_scores_fresh_samples_drawn_with_its_seed(gaussian_run):
    """--seed draws the samples scored: the same seed repeats exactly, another gives other numbers, the
    default (0) is not the training's evaluation seed, and that seed gives metrics.json's numbers."""

    def scores(*args):
        r = minigan_cmd("eval", gaussian_run, "--json", "-n", 200, *args)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    default, one, again, two = scores(), scores("--seed", 1), scores("--seed", 1), scores("--seed", 2)
    assert one == again and one["seed"] == 1 and default["seed"] == 0
    assert (one["js"], one["w1"]) != (two["js"], two["w1"]) and one["w1"] != default["w1"]
    trained = json.loads((gaussian_run / "metrics.json").read_text())
    same = scores("--seed", 12345)
    assert (same["js"], same["w1"]) == (trained["js"], trained["w1"]) != (default["js"], default["w1"])


# -- errors that name the argument at fault --------------------------------------------------------
def _unprivileged(path):
    """The prefix that runs a command unable to read ``path`` (chmod 000): as root, without the
    capabilities that read anything (util-linux's setpriv); skip where that cannot be done."""
    if not os.access(path, os.R_OK):
        return ()
    caps = "-dac_override,-dac_read_search"
    prefix = ("setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}")
    if os.geteuid() == 0 and shutil.which(prefix[0]):
        probe = "import os, sys; sys.exit(os.access(sys.argv[1], os.R_OK))"
        r = subprocess.run([*prefix, sys.executable, "-c", probe, str(path)], capture_output=True)
        if r.returncode == 0:
            return prefix
    pytest.skip("this user reads a chmod 000 file (root, and no setpriv to drop the capabilities)")


def _odd_paths(tmp_path, ckpt):
    """name -> (path, what the error line must say): the paths that are not a readable file."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "npz-folder" / "checkpoint.npz").mkdir(parents=True)
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    unreadable = tmp_path / "unreadable.npz"
    shutil.copy(ckpt, unreadable)
    unreadable.chmod(0)
    return {
        "an empty folder": (tmp_path / "empty", "is a folder without checkpoint.npz"),
        "a folder whose checkpoint.npz is a folder": (
            tmp_path / "npz-folder",
            "checkpoint.npz is a folder, not a checkpoint file",
        ),
        "a symlink loop": (tmp_path / "loop-a", "Too many levels of symbolic links"),
        "an unreadable checkpoint": (unreadable, "Permission denied"),
    }


def test_resume_and_run_name_what_is_wrong_with_the_checkpoint(run_copy, tmp_path):
    """--resume (train) and RUN (sample, eval) given a path that is no readable checkpoint: exit 2
    naming the argument and the cause (they were "--out: cannot create ..." or a traceback)."""
    out, before = run_copy
    for what, (path, says) in _odd_paths(tmp_path, out / "checkpoint.npz").items():
        prefix = _unprivileged(path) if what == "an unreadable checkpoint" else ()
        for args, name in (
            (["train", "--resume", path, "--steps", 6, "--no-plots", "-q"], "--resume"),
            (["sample", path, "-n", 5, "--out", tmp_path / "s.npy"], "RUN"),
            (["eval", path, "-n", 200], "RUN"),
        ):
            r = minigan_cmd(*args, prefix=prefix)
            one_line(
                r,
                exitcodes.USAGE,
                f"{name}: ",
                says,
                probe=f"{args[0]} {name} {what}",
                intact=digest(out) == before,
            )
        assert digest(out) == before and not (tmp_path / "s.npy").exists()


def test_resume_takes_a_run_folder(run_copy):
    out, _ = run_copy
    r = minigan_cmd("train", "--resume", out, "--steps", 6, "--no-plots", "-q")
    record(
        "train --resume RUN_FOLDER",
        r.returncode,
        r.stderr.strip() or "(none) resumed from its checkpoint.npz",
        True,
    )
    assert r.returncode == 0, r.stderr
    assert checkpoint.load(out / "checkpoint.npz").step == 6
    assert json.loads((out / "run.json").read_text())["resumed_from"] == str(out / "checkpoint.npz")


def test_data_names_what_is_wrong_with_the_file(tmp_path):
    """--data given a folder, a symlink loop or an unreadable file: exit 2 naming --data and the cause."""
    (tmp_path / "rows.csv").mkdir()
    (tmp_path / "loop-a.csv").symlink_to(tmp_path / "loop-b.csv")
    (tmp_path / "loop-b.csv").symlink_to(tmp_path / "loop-a.csv")
    unreadable = tmp_path / "secret.csv"
    unreadable.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(40)))
    unreadable.chmod(0)
    for path, says in (
        (tmp_path / "rows.csv", "is a folder; expected a .npy, .npz or .csv file"),
        (tmp_path / "loop-a.csv", "Too many levels of symbolic links"),
        (unreadable, "Permission denied"),
    ):
        prefix = _unprivileged(path) if path == unreadable else ()
        r = minigan_cmd("train", *NETS, "--data", path, "--steps", 2, "--out", tmp_path / "o", prefix=prefix)
        one_line(
            r, exitcodes.USAGE, "--data: ", says, probe=f"train --data {path.name} ({says.split(';')[0]})"
        )
        assert not (tmp_path / "o").exists()


def _table(path, rows, scale=1.0):
    np.savetxt(path, scale * np.random.default_rng(0).normal(size=(rows, 3)), delimiter=",")


@pytest.fixture
def data_run(tmp_path):
    """A finished run on a 400-row CSV (constant learning rates, so that it may be extended)."""
    data, out = tmp_path / "rows.csv", tmp_path / "run"
    _table(data, 400)
    r = minigan_cmd("train", *NETS, "--data", data, "--steps", 4, "--lr-decay", 1, "--out", out)
    assert r.returncode == 0, r.stderr
    return data, out


def test_a_deleted_data_file_is_named_on_resume_and_eval(data_run, tmp_path):
    data, out = data_run
    before = digest(out)
    data.unlink()
    for args, name in (
        (["train", "--resume", out / "checkpoint.npz", "--steps", 8, "-q"], "--resume"),
        (["eval", out, "-n", 200], "RUN"),
    ):
        r = minigan_cmd(*args)
        one_line(
            r,
            exitcodes.USAGE,
            f"{name}: ",
            f"the data file {data}, which is missing",
            probe=f"{args[0]} after the --data file was deleted",
            intact=digest(out) == before,
        )
    r = minigan_cmd("sample", out, "-n", 5, "--out", tmp_path / "s.npy")  # needs only the networks
    assert r.returncode == 0 and np.load(tmp_path / "s.npy").shape == (5, 3), r.stderr
    assert digest(out) == before


@pytest.mark.parametrize(
    "rows, scale, says",
    [
        (50, 1.0, "360 training and 40 held-out rows then, 45 and 5 now"),
        (400, 3.0, "as many rows, other values and another scale"),
    ],
)
def test_a_rewritten_data_file_is_not_resumed_or_scored_silently(data_run, rows, scale, says):
    """The checkpoint keeps a fingerprint of the rows (their number, a hash, the shift and scale):
    --resume and eval on a rewritten file are refused naming it; the file restored, --resume goes on."""
    data, out = data_run
    before = digest(out)
    _table(data, rows, scale)
    for args, name in (
        (["train", "--resume", out / "checkpoint.npz", "--steps", 8, "-q"], "--resume"),
        (["eval", out, "-n", 200], "RUN"),
    ):
        r = minigan_cmd(*args)
        one_line(
            r,
            exitcodes.USAGE,
            f"{name}: ",
            f"the run trained on {data}, which has changed since ({says})",
            probe=f"{args[0]} after the --data file was rewritten ({rows} rows, x{scale:g})",
            intact=digest(out) == before,
        )
    assert digest(out) == before
    _table(data, 400)
    r = minigan_cmd("train", "--resume", out / "checkpoint.npz", "--steps", 8, "-q", "--no-plots")
    assert r.returncode == 0, r.stderr


# -- sizes that cannot fit, steps that resolve nothing -----------------------------------------------
@pytest.mark.parametrize(
    "cmd, argv, says",
    [
        ("sample", ["-n", "1e23"], "argument -n: expected a positive integer, got '1e23'"),
        ("sample", ["-n", 10**23], "-n: 100,000,000,000,000,000,000,000 samples need about"),
        ("sample", ["-n", 10**13], "half this machine's memory"),
        ("eval", ["-n", "1e10"], "argument -n: expected a positive integer, got '1e10'"),
        ("eval", ["-n", 10**10], "-n: 10,000,000,000 is more than minigan scores (at most 10,000,000)"),
        ("sample", ["-n", 5, "--seed", -1], "--seed: expected an integer in [0, 2**63), got -1"),
        ("eval", ["--seed", -1], "--seed: expected an integer in [0, 2**63), got -1"),
        ("eval", ["--seed", 2**64], "--seed: expected an integer in [0, 2**63)"),
    ],
)
def test_sample_and_eval_refuse_counts_and_seeds_they_cannot_take(run_copy, tmp_path, cmd, argv, says):
    out, _ = run_copy
    extra = ["--out", tmp_path / "s.npy"] if cmd == "sample" else []
    r = minigan_cmd(cmd, out, *argv, *extra)
    one_line(r, exitcodes.USAGE, says, probe=f"{cmd} " + " ".join(map(str, argv)))
    assert not (tmp_path / "s.npy").exists()


def test_a_batch_whose_activations_cannot_fit_is_refused(tmp_path):
    for argv, says in (
        (["--batch-size", 10**6, "--noise-dim", 10**5], "more than minigan takes (64 GiB)"),
        (["--batch-size", 10**6, "--d-hidden", "4000,4000"], "GiB of activations a step"),
    ):
        r = minigan_cmd("train", *argv, "--steps", 1, "--out", tmp_path / "o")
        one_line(
            r,
            exitcodes.USAGE,
            "--batch-size: 1,000,000 rows",
            says,
            probe="train " + " ".join(map(str, argv)),
        )
        assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--depth", "1e23"], "argument --depth: expected an integer, got '1e23'"),
        (["--width", 100000], "--width: expected a positive integer up to 256"),
        (["--depth", 1000], "--depth: expected a positive integer up to 8"),
        (["--batch", 1000000], "--batch: expected at least 3 (batch norm) and at most 1,024"),
        (["--entries", 0, "--width", 64], "--entries: 0 (every entry) takes --width at most 32"),
        (["--seed", -1], "--seed: expected an integer in [0, 2**63), got -1"),
        (["--h", "1e-16"], "--h: expected a step from 1e-10 to 1, got 1e-16: float64 resolves about 2.2e-16"),
        (["--h", "1e-20"], "--h: expected a step from 1e-10 to 1"),
        (["--h", "1e-300"], "--h: expected a step from 1e-10 to 1"),
    ],
)
def test_gradcheck_refuses_sizes_without_bound_and_steps_float64_cannot_resolve(argv, says):
    """Each ran for hours, exhausted memory, or (h below 1e-10) passed every check on differences of zero."""
    r = minigan_cmd("gradcheck", *argv)
    one_line(r, exitcodes.USAGE, says, probe="gradcheck " + " ".join(map(str, argv)))


# -- sweeps: bounded, said before they start, specs checked as a whole --------------------------------
TINY_BASE = {"g_hidden": [8], "d_hidden": [8], "batch_size": 16, "steps": 2, "log_every": 1}
TINY_RUN = {"eval_samples": 200, "plots": False, "eval_every": 1}


def sweep_cmd(tmp_path, spec, *args, name="spec.json"):
    path = tmp_path / name
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return minigan_cmd("sweep", path, "--no-dask", "--no-plots", *args)


@pytest.mark.parametrize(
    "spec, says",
    [
        (
            {
                "base": {"steps": 10},
                "axes": {
                    "seed": list(range(100)),
                    "k": list(range(1, 101)),
                    "batch_size": list(range(1, 101)),
                },
            },
            "axes: 100 × 100 × 100 = 1,000,000 runs, more than a sweep takes (at most 10,000)",
        ),
        ({"base": {**TINY_BASE, "g_lr": "inf"}}, "base.g_lr: expected a positive finite number, got inf"),
        (
            {"base": TINY_BASE, "axes": {"g_lr": [1e-3, "inf"]}},
            "axes.g_lr[1]: g_lr: expected a positive finite number",
        ),
        ({"base": {**TINY_BASE, "gamma": "nan"}}, "base.gamma: expected a positive number, got nan"),
        (
            {"base": TINY_BASE, "run": {"eval_samples": 1}},
            "run.eval_samples: expected an integer >= 2, got 1",
        ),
        (
            {"base": TINY_BASE, "run": {"eval_samples": 10**8}},
            "run.eval_samples: 100000000 is more than minigan takes",
        ),
        ("", "the spec defines no runs: give [base]"),
        ({"run": TINY_RUN}, "the spec defines no runs"),
    ],
)
def test_a_sweep_spec_is_checked_as_a_whole_before_anything_runs(tmp_path, spec, says):
    """One line, exit 2, in well under a second a spec, and no folder made (a 10^6-point spec was
    silent for minutes, then began a run of 29 hours; an infinite g_lr failed only at run time)."""
    if isinstance(spec, dict):  # JSON has no inf or nan: TOML does
        text = json.dumps(spec).replace('"inf"', "Infinity").replace('"nan"', "NaN")
    else:
        text = spec
    t0 = time.monotonic()
    r = sweep_cmd(tmp_path, text, "--out", tmp_path / "o", name="spec.json" if text else "spec.toml")
    one_line(r, exitcodes.USAGE, says, probe=f"sweep spec: {says.split(':')[0]}")
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()


def test_a_sweep_prints_its_plan_before_it_runs(tmp_path):
    spec = {"base": TINY_BASE, "axes": {"seed": [0, 1]}, "run": TINY_RUN}
    r = sweep_cmd(tmp_path, spec, "--out", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    plan = f"sweep: 2 runs of 2 steps each (4 steps) -> {tmp_path / 'o'}"
    assert r.stdout.splitlines()[0] == plan and r.stdout.index(plan) < r.stdout.index("[1/2]"), r.stdout


def test_another_spec_does_not_replace_a_finished_sweeps_results(tmp_path):
    first = {"base": TINY_BASE, "axes": {"seed": [0, 1]}, "run": TINY_RUN}
    out = tmp_path / "o"
    r = sweep_cmd(tmp_path, first, "--out", out)
    assert r.returncode == 0, r.stderr
    before = (out / "results.csv").read_bytes()
    kept = digest(out / "runs" / "seed=0")
    second = {**first, "axes": {"seed": [0, 1, 2]}}
    r = sweep_cmd(tmp_path, second, "--out", out)
    one_line(
        r,
        exitcodes.USAGE,
        f"--out: {out} holds the sweep of another spec (axes.seed: [0, 1] there, [0, 1, 2] here)",
        "--overwrite",
        probe="sweep of another spec into a finished sweep's folder",
        intact=(out / "results.csv").read_bytes() == before,
    )
    assert (out / "results.csv").read_bytes() == before
    r = sweep_cmd(tmp_path, second, "--out", out, "--overwrite")  # the runs of seeds 0 and 1 are kept
    assert r.returncode == 0, r.stderr
    assert "seed=0: done (finished before)" in r.stdout and digest(out / "runs" / "seed=0") == kept
    assert [row["run"] for row in csv_rows(out / "results.csv")] == ["seed=0", "seed=1", "seed=2"]
    third = {**second, "base": {**TINY_BASE, "steps": 3}}
    r = sweep_cmd(tmp_path, third, "--out", out, "--overwrite")  # runs of another config: replaced
    assert r.returncode == 0, r.stderr
    assert {row["step"] for row in csv_rows(out / "results.csv")} == {"3"}


def csv_rows(path):
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- the final metrics of a large data file ------------------------------------------------------------
def test_the_final_metrics_of_many_held_out_rows_score_a_subsample(tmp_path, monkeypatch, capsys):
    """Above run.REFERENCE_ROWS held-out rows (10,000; here 50) the final metrics score a seeded
    subsample of them, said in the terminal and in metrics.json (a 2M-row file spent minutes and
    gigabytes on the energy distance of all 200,000)."""
    from minigan.app import run

    data = tmp_path / "rows.npy"
    np.save(data, np.random.default_rng(0).normal(size=(400, 3)))
    monkeypatch.setattr(run, "REFERENCE_ROWS", 50)
    config = TrainConfig(
        dataset="file",
        data_params={"path": str(data), "holdout": 0.5},
        steps=2,
        g_hidden=(8,),
        d_hidden=(8,),
        batch_size=16,
    )
    out = tmp_path / "run"
    out.mkdir()
    result = run.train_in_folder(GAN(config), out, run.RunSettings(eval_samples=200, plots=False))
    assert result.status == exitcodes.OK
    said = capsys.readouterr().out
    assert "scoring 200 samples against 50 of the 200 held-out rows (a seeded subsample" in said
    m = json.loads((out / "metrics.json").read_text())
    assert m["reference_subsample"] == {"rows": 50, "held_out": 200, "seed": run.TRAINING_SEED}
    assert set(m) >= {"sliced_w1", "energy", "energy_p"}
    monkeypatch.setattr(run, "REFERENCE_ROWS", 10_000)  # below it: every held-out row, no note
    again = run.final_metrics(GAN(config), 200)
    assert "reference_subsample" not in again
