"""``minigan sweep SPEC``: many runs at once, on every core of one machine or on a Dask cluster,
with one table and one figure at the end.

    minigan sweep losses.toml                        # a LocalCluster: one process per core
    minigan sweep losses.toml --workers 4 --out sweeps/losses
    minigan sweep losses.toml --scheduler tcp://10.0.0.5:8786     # an existing Dask cluster
    minigan sweep losses.toml --no-dask              # one run after another, in this process

SPEC is a TOML or JSON file::

    [base]                    # TrainConfig fields shared by every run
    dataset = "ring"
    steps = 2000
    [axes]                    # every combination of these values: any TrainConfig field, seeds too
    g_loss = ["nonsaturating", "minimax"]
    mode = ["fresh", "simultaneous"]
    seed = [0, 1, 2]
    [run]                     # how each run is run (minigan train's options; these are the defaults)
    checkpoint_every = 1000
    eval_every = 500
    eval_samples = 2500
    plots = true

An axis named after no field varies several fields together: its values are tables of fields,
e.g. ``variant = [{name = "minimax k3", g_loss = "minimax", k = 3}, {name = "reuse", mode = "reuse"}]``
(``name`` labels the value). TOML has no null: the string "none" stands for None in a field that
takes None (``penalty``, ``clip``, ``g_output``, ...).

Each point is an ordinary run in ``OUT/runs/<point>/`` (``<point>``: its axis values, e.g.
``g_loss=minimax,mode=fresh,seed=0``), trained by ``cli.train_in_folder``, the body of
``minigan train``: the same files, lock and checkpoints, plus ``sweep.log`` (what the run printed).
At the end ``OUT/results.csv`` holds one row per point (``run``, ``status`` (done, failed,
unfinished), the axes, ``step``, the final metrics of ``metrics.json``, ``train_seconds``, the point's
wall ``seconds`` in this sweep (0 if it was over before), ``warnings``, ``message``) and
``OUT/summary.png`` each metric per configuration (the axes but the seed): mean ± std over seeds,
each seed a dot. ``OUT/sweep.json`` records the spec.

Runs go to ``dask.distributed`` (the ``sweep`` extra): a ``LocalCluster`` of ``--workers``
processes (default: one per core), one thread and one BLAS thread each, or the cluster at
``--scheduler`` (its workers must see OUT at the same path). Without Dask, or with
``--no-dask``, the points run one after another in this process, with the same outputs.

Faults. A run that diverges or fails is recorded as failed, with its message (``failed.json`` in
its folder; ``--retry-failed`` runs it again), and the others finish. Run an interrupted sweep
again (Ctrl-C, or killed): finished runs are skipped, their files untouched, and unfinished ones
resume from their last checkpoint (``[run] checkpoint_every``). A worker that dies loses only
its run's steps since that checkpoint: Dask runs the task again, and the task resumes.

Exit codes: 0 every run done; 1 some run failed (results.csv says which and why); 2 a bad spec
or option, OUT in use by another sweep, or a run folder holding another configuration;
3 a file could not be written; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import io
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import IO, Any

import numpy as np

from .. import checkpoint
from ..figures import plots
from . import exitcodes
from . import train as cli
from ..data import DATASETS
from ..training import GAN, TrainConfig

PROG = "minigan sweep"
FIELDS = {f.name: f for f in fields(TrainConfig)}
RUN_DEFAULTS = {"checkpoint_every": cli.DEFAULT_CHECKPOINT_EVERY, "eval_every": cli.DEFAULT_EVAL_EVERY,
                "eval_samples": cli.EVAL_SAMPLES, "plots": True}
CSV_HEAD = ("run", "status")
CSV_TAIL = ("train_seconds", "seconds", "warnings", "message")
METRIC_ORDER = ("modes_covered", "modes", "high_quality", "kl", "js", "w1", "sliced_w1")
NOT_METRICS = {"n", "step", "train_seconds", "steps_trained", "warnings", "counts"}
BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TITLES = {"high_quality": "% high quality", "modes_covered": "modes covered", "kl": "reverse KL to uniform",
          "sliced_w1": "sliced W1", "js": "Jensen-Shannon", "w1": "W1"}
CONNECT_TIMEOUT = 10  # seconds to reach the scheduler of --scheduler


class SpecError(ValueError):
    """A bad spec or option: one line, ``minigan sweep: error: ...``, exit code 2."""


# --------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------
@dataclass
class Point:
    """One run of a sweep: ``name`` (its folder), ``values`` (axis -> label), ``config``
    (``TrainConfig.to_dict()``)."""

    name: str
    values: dict
    config: dict


@dataclass
class Spec:
    """A base config, the axes to vary (a list of (name, values)) and the run options."""

    base: dict = field(default_factory=dict)
    axes: list = field(default_factory=list)
    run: dict = field(default_factory=dict)
    name: str = "sweep"

    def points(self) -> list[Point]:
        """Every combination of the axes' values, the last axis fastest."""
        return _points(self, "")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base": self.base, "axes": dict(self.axes), "run": self.run}


def make_spec(base: dict[str, Any] | None = None, axes: dict[str, list] | list[tuple[str, list]] | None = None,
              run: dict[str, Any] | None = None, name: str = "sweep", where: str = "") -> Spec:
    """A checked ``Spec``: ``axes`` a dict (or list of pairs) axis -> list of values; every value
    is checked by building its ``TrainConfig``. Raises SpecError naming the key (prefixed by
    ``where``, e.g. the spec's file name)."""
    pre = f"{where}: " if where else ""
    base = dict(base or {})
    axes = list((axes or {}).items()) if isinstance(axes, dict) else list(axes or [])
    run = dict(run or {})
    for key, v in base.items():
        base[key] = _field_value(f"{pre}base.{key}", key, v)
    for key, v in run.items():
        if key not in RUN_DEFAULTS:
            raise SpecError(f"{pre}run.{key}: unknown option (expected one of {', '.join(RUN_DEFAULTS)})")
        ok = isinstance(v, bool) if key == "plots" else (isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                           and (key != "eval_samples" or v >= 2))
        if not ok:
            want = "true or false" if key == "plots" else ("an integer >= 2" if key == "eval_samples"
                                                           else "a positive integer")
            raise SpecError(f"{pre}run.{key}: expected {want}, got {v!r}")
    checked = []
    for key, values in axes:
        where_axis = f"{pre}axes.{key}"
        if not isinstance(values, (list, tuple)) or len(values) == 0:
            raise SpecError(f"{where_axis}: expected a non-empty list of values, got {values!r}")
        if key in base:
            raise SpecError(f"{where_axis}: {key} is also in base; give it in one place")
        vals = []
        for i, v in enumerate(values):
            w = f"{where_axis}[{i}]"
            if key in FIELDS:
                vals.append(_field_value(w, key, v))
            else:
                if not isinstance(v, dict):
                    raise SpecError(_unknown_field(where_axis, key) + "; an axis over several fields at once "
                                    "takes tables of fields, e.g. [{g_loss = \"minimax\", k = 3}]")
                if not v:  # {name = "baseline"} alone: the base as it is
                    raise SpecError(f"{w}: expected a table of TrainConfig fields (or a name alone), got {{}}")
                t = {}
                for k2, v2 in v.items():
                    if k2 == "name":
                        if not isinstance(v2, str) or not v2:
                            raise SpecError(f"{w}.name: expected a non-empty string, got {v2!r}")
                        t[k2] = v2
                    elif k2 in base:
                        raise SpecError(f"{w}.{k2}: {k2} is also in base; give it in one place")
                    else:
                        t[k2] = _field_value(f"{w}.{k2}", k2, v2)
                vals.append(t)
        checked.append((key, vals))
    spec = Spec(base, checked, run, name)
    try:
        TrainConfig(**base)
    except (ValueError, TypeError) as e:
        raise SpecError(f"{pre}base.{e}" if ":" in str(e) else f"{pre}base: {e}") from None
    for key, vals in checked:
        for i, v in enumerate(vals):
            extra = {k: x for k, x in v.items() if k != "name"} if key not in FIELDS else {key: v}
            try:
                TrainConfig(**{**base, **extra})
            except (ValueError, TypeError) as e:
                raise SpecError(f"{pre}axes.{key}[{i}]: {e}") from None
    _points(spec, pre)  # every combination, and unique names
    return spec


def _unknown_field(where: str, key: str) -> str:
    near = difflib.get_close_matches(key, list(FIELDS), n=3)
    return f"{where}: not a TrainConfig field" + (f" (did you mean {', '.join(near)}?)" if near else "")


def _field_value(where: str, key: str, v: Any) -> Any:
    """A spec value for the field ``key``: "none" -> None where the field takes None."""
    if key not in FIELDS:
        raise SpecError(_unknown_field(where, key))
    if key == "dataset" and v not in DATASETS:
        raise SpecError(f"{where}: expected one of {', '.join(DATASETS)}, got {v!r}")
    if isinstance(v, str) and v.lower() == "none" and "None" in str(FIELDS[key].type):
        return None
    if isinstance(v, dict) and key != "data_params":
        raise SpecError(f"{where}: expected a value of {key}, got a table {v!r}")
    return v


def _label(v: Any) -> str:
    if isinstance(v, dict):
        return v.get("name") or "+".join(_label(x) for k, x in v.items() if k != "name")
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "x".join(_label(x) for x in v)
    return str(v)


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "._=+,-" else "_" for c in s)


def _points(spec: Spec, pre: str) -> list[Point]:
    points: list[Point] = []
    seen: dict[str, dict[str, str]] = {}
    for combo in itertools.product(*(vals for _, vals in spec.axes)):
        cfg, values = dict(spec.base), {}
        for (key, _), v in zip(spec.axes, combo):
            if key in FIELDS:
                cfg[key] = v
            else:
                cfg.update({k: x for k, x in v.items() if k != "name"})
            values[key] = _label(v)
        name = _safe(",".join(f"{k}={x}" for k, x in values.items()) or "run")
        try:
            config = TrainConfig(**cfg).to_dict()
        except (ValueError, TypeError) as e:
            raise SpecError(f"{pre}point {name}: {e}") from None
        if name in seen:
            raise SpecError(f"{pre}points {seen[name]} and {values} get the same folder name {name!r}: "
                            "give the values distinct labels")
        seen[name] = values
        points.append(Point(name, values, json.loads(json.dumps(config))))
    return points


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """The spec in ``path`` (.toml or .json), checked (``make_spec``); SpecError otherwise."""
    path = str(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".toml", ".json"):
        raise SpecError(f"{path}: expected a .toml or .json spec file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    if ext == ".json":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"{path}: not valid JSON ({e})") from None
    else:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            try:
                import tomli as tomllib
            except ImportError:
                raise SpecError(f"{path}: reading TOML needs Python 3.11 or `pip install tomli`; "
                                "or write the spec as JSON") from None
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"{path}: not valid TOML ({e})") from None
    if not isinstance(d, dict):
        raise SpecError(f"{path}: expected a table with base, axes and run, got {type(d).__name__}")
    unknown = set(d) - {"name", "base", "axes", "run"}
    if unknown:
        raise SpecError(f"{path}: {sorted(unknown)[0]}: unknown key (expected name, base, axes, run)")
    for key in ("base", "axes", "run"):
        if not isinstance(d.get(key, {}), dict):
            raise SpecError(f"{path}: {key}: expected a table, got {d[key]!r}")
    name = d.get("name", os.path.splitext(os.path.basename(path))[0])
    if not isinstance(name, str) or not name:
        raise SpecError(f"{path}: name: expected a non-empty string, got {name!r}")
    return make_spec(d.get("base"), d.get("axes"), d.get("run"), name, where=path)


# --------------------------------------------------------------------------------------
# One point: the unit of a sweep
# --------------------------------------------------------------------------------------
def held_config(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The config of the run in ``folder`` (its run.json), or None if it holds none."""
    try:
        with open(os.path.join(folder, "run.json")) as f:
            return json.load(f)["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _differs(held: dict, config: dict) -> str:
    keys = [k for k in sorted(set(held) | set(config)) if held.get(k) != config.get(k)]
    return ", ".join(f"{k}={held.get(k)!r}, not {config.get(k)!r}" for k in keys[:3])


def finished(folder: str | os.PathLike[str], config: dict[str, Any] | None = None,
             retry_failed: bool = False) -> dict[str, Any] | None:
    """The result of the run in ``folder`` if it is over (done, or failed unless ``retry_failed``),
    read without touching a file; else None."""
    if config is not None:
        held = held_config(folder)
        if held is not None and held != config:
            return None
    m = _read_json(os.path.join(folder, "metrics.json"))  # None if cut short by a kill: resumed
    if m is not None and os.path.exists(os.path.join(folder, "checkpoint.npz")):
        return {"status": "done", "how": "finished before", "step": m.get("step"), "metrics": m, "message": "",
                "seconds": 0.0}
    d = None if retry_failed else _read_json(os.path.join(folder, "failed.json"))
    if d is not None:
        return {"status": "failed", "how": "failed before", "step": d.get("step"), "metrics": {},
                "message": d.get("message", ""), "seconds": 0.0}
    return None


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def _lock_folder(folder: str, poll: float = 1.0) -> IO[str] | None:
    """The run folder's lock (``cli._lock``); while another process holds it (a task of an earlier,
    interrupted sweep still running on a cluster), wait for it."""
    while True:
        try:
            return cli._lock(folder)
        except cli.UsageError:
            time.sleep(poll)


def run_point(config: TrainConfig | dict[str, Any], folder: str | os.PathLike[str], run: dict[str, Any] | None = None,
              prepare: Callable[[GAN], Any] | None = None, retry_failed: bool = False,
              command: str | None = None) -> dict[str, Any]:
    """Train one run in ``folder`` as ``minigan train`` would (``cli.train_in_folder``), or pick it up
    where it is: done before (its metrics), failed before (its message), or a checkpoint to resume.

    ``config``: a TrainConfig or its dict; ``run``: options as ``[run]`` of a spec; ``prepare``:
    ``prepare(gan)`` after the GAN is built or loaded, before it trains (what a config cannot say);
    ``command``: recorded in run.json. Returns {"status": "done" | "failed" | "interrupted",
    "how", "step", "metrics" (metrics.json), "message", "seconds"}; never raises for a failed run.
    Raises ValueError if ``folder`` holds a run of another config (nothing is overwritten).
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(dict(config))
    cfg = json.loads(json.dumps(cfg.to_dict()))
    folder = os.path.abspath(str(folder))
    opts = {**RUN_DEFAULTS, **(run or {})}
    os.makedirs(folder, exist_ok=True)
    lock = _lock_folder(folder)
    try:
        held = held_config(folder)
        if held is not None and held != cfg:
            raise ValueError(f"{folder} holds a run of another config ({_differs(held, cfg)}); "
                             "nothing was changed there")
        over = finished(folder, None, retry_failed)
        if over is not None:
            return over
        failed_path = os.path.join(folder, "failed.json")
        ckpt = os.path.join(folder, "checkpoint.npz")
        log = io.StringIO()
        gan = None
        try:
            if os.path.exists(failed_path):
                os.remove(failed_path)  # retry_failed
            if os.path.exists(ckpt):
                gan = checkpoint.load(ckpt)
                held = json.loads(json.dumps(gan.config.to_dict()))
                if held != cfg:
                    raise ValueError(f"{ckpt} holds a run of another config ({_differs(held, cfg)})")
                how = f"resumed from step {gan.step}"
            else:
                gan = GAN(TrainConfig.from_dict(cfg))
                how = "new"
            if prepare is not None:
                prepare(gan)
            argv = ["--quiet", "--checkpoint-every", str(opts["checkpoint_every"]), "--eval-every",
                    str(opts["eval_every"]), "--eval-samples", str(opts["eval_samples"])]
            argv += [] if opts["plots"] else ["--no-plots"]
            argv += ["--resume", ckpt] if how != "new" else []
            args = cli.build_parser().parse_args(argv)
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                rc = cli.train_in_folder(gan, folder, args, command or f"{PROG} (point {os.path.basename(folder)})",
                                         say=lambda msg: None)
        except OSError as e:  # a file could not be written: not the run's fault, so not recorded as failed
            _append_log(folder, log.getvalue())
            return _result("failed", "", gan, {}, f"cannot write {e.filename or 'a file'}: {e.strerror or e}", t0)
        except Exception as e:  # noqa: BLE001 - any failure of one run is that run's result
            _append_log(folder, log.getvalue())
            msg = str(e) if isinstance(e, (ValueError, FloatingPointError)) else f"{type(e).__name__}: {e}"
            return _record_failure(folder, cfg, gan, msg, t0)
        text = log.getvalue()
        _append_log(folder, text)
        if rc == exitcodes.OK:
            with open(os.path.join(folder, "metrics.json")) as f:
                m = json.load(f)
            return _result("done", how, gan, m, "", t0)
        if rc == exitcodes.INTERRUPTED:
            return _result("interrupted", how, gan, {}, f"interrupted at step {gan.step}", t0)
        err = [ln for ln in text.splitlines() if ln.startswith("minigan train: error: ")]
        msg = err[-1].removeprefix("minigan train: error: ").split("; ")[0] if err else f"exit code {rc}"
        return _record_failure(folder, cfg, gan, msg, t0)
    finally:
        if lock is not None:
            lock.close()


def _result(status: str, how: str, gan: GAN | None, m: dict[str, Any], message: str, t0: float) -> dict[str, Any]:
    step = m.get("step") if m else (gan.step if gan is not None else None)
    return {"status": status, "how": how, "step": step, "metrics": m, "message": message,
            "seconds": time.perf_counter() - t0}


def _record_failure(folder: str, cfg: dict[str, Any], gan: GAN | None, msg: str, t0: float) -> dict[str, Any]:
    head = msg.split(":", 1)[0]  # "step 3: L_D is inf (training diverged)": the step it names
    step = int(head[5:]) if head.startswith("step ") and head[5:].isdigit() else (gan.step if gan else None)
    tmp = os.path.join(folder, "failed.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"message": msg, "step": step, "config": cfg}, f, indent=1)
    os.replace(tmp, os.path.join(folder, "failed.json"))
    r = _result("failed", "", gan, {}, msg, t0)
    r["step"] = step
    return r


def _append_log(folder: str, text: str) -> None:
    if text:
        with open(os.path.join(folder, "sweep.log"), "a") as f:
            f.write(text if text.endswith("\n") else text + "\n")


def _point_task(config: dict[str, Any], folder: str, run: dict[str, Any], prepare: Callable[[GAN], Any] | None,
                retry_failed: bool, command: str) -> dict[str, Any]:
    """What a Dask worker runs: ``run_point`` with one BLAS thread (the environment is the
    LocalCluster's; ``cli.train_in_folder`` also limits the BLAS with threadpoolctl)."""
    for var in BLAS_VARS:
        os.environ.setdefault(var, "1")
    return run_point(config, folder, run, prepare, retry_failed, command)


# --------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """``rows``: one dict per point, in the spec's order (``CSV`` columns); ``csv``, ``figure``:
    the files written (figure None without matplotlib); ``interrupted``; ``seconds``."""

    rows: list
    csv: str
    figure: str | None
    interrupted: bool
    seconds: float
    points: list

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "failed"]


class _Progress:
    """One line per finished run, and a bar for the whole sweep (tqdm if installed)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.n, self.quiet, self.bar, self.t0 = total, 0, quiet, None, time.perf_counter()
        if quiet:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="run", dynamic_ncols=True, file=sys.stderr, desc="sweep")

    def done(self, name: str, r: dict[str, Any]) -> None:
        self.n += 1
        if self.quiet:
            return
        if r["status"] == "done":
            from ..metrics import format_metrics

            m = {k: math.nan if v is None else v for k, v in r["metrics"].items()}  # JSON's null: NaN
            try:
                what = format_metrics(m)
            except (KeyError, TypeError):
                what = ""
            how = "" if r["how"] == "new" else f" ({r['how']})"
            what = f"done{how}: {what}" + (f" in {r['seconds']:.1f} s" if r["how"] != "finished before" else "")
        else:
            how = f" ({r['how']})" if r.get("how") else ""
            what = f"{r['status'].upper()}{how}: {r['message']}"
        line = f"[{self.n}/{self.total}] {name}: {what}"
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
            self.bar.update(1)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def _sweep_lock(out: str) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no lock
        yield
        return
    f = open(os.path.join(out, ".lock"), "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise SpecError(f"--out: {out} is in use by another minigan sweep; wait for it, or choose another --out") \
            from None
    try:
        yield
    finally:
        f.close()


def dask_available() -> bool:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


def run_sweep(spec: Spec, out: str | os.PathLike[str], *, use_dask: bool | None = None, scheduler: str | None = None,
              workers: int | None = None, prepare: Callable[[GAN], Any] | None = None, retry_failed: bool = False,
              quiet: bool = False,
              command: str | None = None, figure: bool = True) -> SweepResult:
    """Run every point of ``spec`` in ``OUT/runs/<point>/`` and write ``OUT/results.csv`` and
    ``OUT/summary.png``. ``use_dask``: None = Dask if installed; True = Dask (ImportError without);
    False = one after another in this process. ``scheduler``: an existing cluster's address;
    ``workers``: the LocalCluster's processes (default: the cores). ``prepare(gan)``: called on each
    run's GAN before it trains, also on a resumed one (it travels to the workers by cloudpickle).
    Raises SpecError if a run folder holds another configuration, or OUT is in use."""
    out = os.path.abspath(str(out))
    points = spec.points()
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    t0 = time.perf_counter()
    with _sweep_lock(out):
        for p in points:
            folder = os.path.join(out, "runs", p.name)
            held = held_config(folder)
            if held is not None and held != p.config:
                raise SpecError(f"{folder} holds a run of another config ({_differs(held, p.config)}): "
                                "choose another --out (nothing was changed)")
        tmp = os.path.join(out, "sweep.json.tmp")
        with open(tmp, "w") as f:
            json.dump({"spec": spec.to_dict(), "command": command, "points": [p.name for p in points]}, f,
                      indent=1)
        os.replace(tmp, os.path.join(out, "sweep.json"))
        if use_dask is None:
            use_dask = dask_available() or scheduler is not None
            if not use_dask and not quiet:
                print(f"dask is not installed: the {len(points)} runs go one after another in this process "
                      '(pip install "minigan[sweep]" to run them in parallel)')
        results: dict = {}
        progress = _Progress(len(points), quiet)
        todo = []
        for p in points:  # finished before: read, no task
            r = finished(os.path.join(out, "runs", p.name), p.config, retry_failed)
            if r is not None:
                results[p.name] = r
                progress.done(p.name, r)
            else:
                todo.append(p)
        interrupted: bool | None = False
        cmd = command or PROG
        try:
            if todo and use_dask:
                interrupted = _run_dask(todo, out, spec.run, prepare, retry_failed, cmd, scheduler, workers,
                                        results, progress, quiet)
            if todo and (not use_dask or interrupted is None):
                interrupted = False
                for p in todo:
                    r = run_point(p.config, os.path.join(out, "runs", p.name), spec.run, prepare, retry_failed,
                                  f"{cmd} (point {p.name})")
                    if r["status"] == "interrupted":
                        interrupted = True
                        break
                    results[p.name] = r
                    progress.done(p.name, r)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            progress.close()
        rows = [_row(p, results.get(p.name)) for p in points]
        csv_path = write_csv(rows, spec, os.path.join(out, "results.csv"))
        fig = None
        if figure and not interrupted:
            fig = summary_figure(rows, spec, os.path.join(out, "summary.png"))
    return SweepResult(rows, csv_path, fig, bool(interrupted), time.perf_counter() - t0, points)


def _run_dask(todo: list[Point], out: str, run: dict[str, Any], prepare: Callable[[GAN], Any] | None,
              retry_failed: bool, cmd: str, scheduler: str | None, workers: int | None,
              results: dict[str, dict[str, Any]], progress: _Progress, quiet: bool) -> bool | None:
    """The points on a Dask cluster; results[name] as each finishes. True if interrupted; None if
    no LocalCluster could be started (the caller runs the points itself)."""
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    cluster, n = None, 0
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError, TypeError) as e:  # TimeoutError is an OSError
            raise SpecError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} ({e})") from None
    else:
        n = min(workers or os.cpu_count() or 1, len(todo))
        try:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   silence_logs=logging.ERROR, env={v: "1" for v in BLAS_VARS})
        except Exception as e:  # noqa: BLE001 - e.g. spawned workers cannot re-import a __main__ read from stdin
            if not quiet:
                print(f"could not start a Dask LocalCluster ({type(e).__name__}: {e}): the runs go one after "
                      "another in this process", flush=True)
            return None
        client = Client(cluster)
    try:
        if not quiet:
            where = scheduler or f"a LocalCluster of {n} worker process(es)"
            print(f"{len(todo)} run(s) on {where}", flush=True)
        futures = {}
        for p in todo:
            f = client.submit(_point_task, p.config, os.path.join(out, "runs", p.name), run, prepare,
                              retry_failed, f"{cmd} (point {p.name})", pure=False,
                              key=f"minigan-sweep-{p.name}-{time.time_ns()}")
            futures[f] = p
        try:
            for f in as_completed(futures):
                p = futures[f]
                if f.status == "finished":
                    r = f.result()
                else:
                    err = f.exception()
                    r = {"status": "failed", "how": "", "step": None, "metrics": {}, "seconds": 0.0,
                         "message": f"{type(err).__name__}: {err}"}  # e.g. KilledWorker: it kept killing workers
                results[p.name] = r
                progress.done(p.name, r)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            return True
        return False
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------------------
# The table and the figure
# --------------------------------------------------------------------------------------
def _row(p: Point, r: dict[str, Any] | None) -> dict[str, Any]:
    row = {"run": p.name, "status": r["status"] if r else "unfinished", **p.values}
    m = r["metrics"] if r else {}
    row["step"] = r.get("step") if r else None
    for k, v in (m or {}).items():
        if k not in NOT_METRICS and (isinstance(v, (int, float)) or v is None) and not isinstance(v, bool):
            row[k] = math.nan if v is None else v  # metrics.json writes NaN as null
    row["train_seconds"] = (m or {}).get("train_seconds")
    row["seconds"] = round(r["seconds"], 3) if r else None  # the point's wall time in this sweep (0: over before)
    row["warnings"] = ";".join(w.get("warning", "") for w in (m or {}).get("warnings", []) or [])
    row["message"] = r["message"] if r else ""
    return row


def metric_columns(rows: list[dict[str, Any]], spec: Spec) -> list[str]:
    """The metric columns present in ``rows`` (not the axes), PacGAN's first."""
    skip = {"run", "status", "step", *CSV_TAIL, *(k for k, _ in spec.axes)}
    seen = []
    for r in rows:
        seen += [k for k in r if k not in skip and k not in seen]
    return sorted(seen, key=lambda k: (METRIC_ORDER.index(k) if k in METRIC_ORDER else len(METRIC_ORDER), k))


def columns(rows: list[dict[str, Any]], spec: Spec) -> list[str]:
    """results.csv's columns: run, status, the axes, step, the metrics, train_seconds, seconds, warnings,
    message."""
    return [*CSV_HEAD, *(k for k, _ in spec.axes), "step", *metric_columns(rows, spec), *CSV_TAIL]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.9g}"
    return str(v)


def write_csv(rows: list[dict[str, Any]], spec: Spec, path: str | os.PathLike[str]) -> str:
    """results.csv: one row per point, the columns of ``columns`` (written aside, then renamed)."""
    cols = columns(rows, spec)
    tmp = str(path) + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow([_cell(r.get(c)) for c in cols])
    os.replace(tmp, path)
    return str(path)


def read_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a results.csv, as dicts of strings."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def summarize(rows: list[dict[str, Any]], spec: Spec) -> list[dict[str, Any]]:
    """One dict per configuration (the axes but ``seed``): its axis labels, ``runs``, ``done``,
    and for each metric ``(mean, std)`` over its finished runs (NaN where none)."""
    keys = [k for k, _ in spec.axes if k != "seed"]
    mcols = metric_columns(rows, spec)
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    out = []
    for g, rs in groups.items():
        ok = [r for r in rs if r["status"] == "done"]
        s = {**dict(zip(keys, g)), "runs": len(rs), "done": len(ok)}
        for c in mcols:
            v = np.array([np.nan if r.get(c) is None else float(r[c]) for r in ok], dtype=float)
            v = v[np.isfinite(v)]
            s[c] = (float(v.mean()), float(v.std())) if v.size else (math.nan, math.nan)
        out.append(s)
    return out


def _fmt(c: str, mean_std: tuple[float, float]) -> str:
    mu, sd = mean_std
    if math.isnan(mu):
        return "—"
    if c == "high_quality":
        return f"{100 * mu:.1f} ± {100 * sd:.1f}"
    if c in ("modes_covered",):
        return f"{mu:.1f} ± {sd:.1f}"
    return f"{mu:.3g} ± {sd:.2g}"


def summary_table(rows: list[dict[str, Any]], spec: Spec) -> str:
    """The summary as a Markdown table: each configuration, runs done, each metric mean ± std."""
    summ = summarize(rows, spec)
    keys = [k for k, _ in spec.axes if k != "seed"]
    mcols = [c for c in metric_columns(rows, spec) if c != "modes"]
    head = [*keys, "runs done", *({"high_quality": "% high quality", "kl": "reverse KL"}.get(c, c) for c in mcols)]
    if rows and "modes" in rows[0] and "modes_covered" in mcols:
        head[head.index("modes_covered")] = f"modes covered (of {rows[0]['modes']})"
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summ:
        cells = [str(s[k]) for k in keys] + [f"{s['done']}/{s['runs']}"] + [_fmt(c, s[c]) for c in mcols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_figure(rows: list[dict[str, Any]], spec: Spec, path: str | os.PathLike[str]) -> str | None:
    """summary.png: one panel per metric, each configuration's mean ± std over seeds (a bar) and
    each seed (a dot); a configuration whose runs failed says how many. None without matplotlib."""
    if not plots.available():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, _ in spec.axes if k != "seed"]
    mcols = [c for c in metric_columns(rows, spec) if c != "modes"]
    summ = summarize(rows, spec)
    if not mcols or not summ:
        return None
    rotate = len(summ) > 4
    labels = [(" · " if rotate else "\n").join(str(s[k]) for k in keys) or "base" for s in summ]
    labels = [lab + (f"\n({s['runs'] - s['done']} failed)" if s["done"] < s["runs"] else "")
              for lab, s in zip(labels, summ)]
    groups: dict = {}
    for r in rows:
        if r["status"] == "done":
            groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    n = len(mcols)
    fig, axes = plt.subplots(1, n, figsize=(max(3.2, 0.55 * len(summ) + 1.2) * n, 3.4), squeeze=False, dpi=80)
    for ax, c in zip(axes[0], mcols):
        scale = 100.0 if c == "high_quality" else 1.0
        x = np.arange(len(summ))
        mu = np.array([s[c][0] for s in summ]) * scale
        sd = np.array([s[c][1] for s in summ]) * scale
        ax.bar(x, np.nan_to_num(mu), yerr=sd, color="C0", alpha=0.35, capsize=3, ecolor="C0")
        for i, s in enumerate(summ):
            vals = [float(r[c]) * scale for r in groups.get(tuple(s[k] for k in keys), []) if r.get(c) is not None]
            ax.plot(np.full(len(vals), i) + np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else [i] * len(vals),
                    vals, "o", color="C0", ms=3.5)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=7, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_title(TITLES.get(c, c), fontsize=9)
        if c == "modes_covered" and rows and rows[0].get("modes"):
            ax.axhline(rows[0]["modes"], color="C3", lw=0.8, ls="--")
        ax.grid(alpha=0.3, axis="y")
    seeds = dict(spec.axes).get("seed")
    fig.suptitle(f"{spec.name}: mean ± std over {len(seeds)} seeds, each seed a dot" if seeds else spec.name,
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
_positive_int = cli._positive_int  # the option type minigan train's --steps uses


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Run many trainings at once (a Dask LocalCluster, an "
                                "existing cluster, or one after another) and collect one CSV and one figure.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="A spec:\n\n" + __doc__.split("SPEC is a TOML or JSON file::\n\n", 1)[1]
                                .split("\n\n", 1)[0] + "\n\nExit codes: " + __doc__.split("Exit codes: ", 1)[1])
    p.add_argument("spec", metavar="SPEC", help="a .toml or .json file: [base], [axes], [run]")
    p.add_argument("--out", help="the sweep's folder [sweeps/<SPEC's name>]")
    p.add_argument("--workers", type=_positive_int, help="processes of the LocalCluster [one per core]")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on the existing Dask cluster at ADDRESS "
                   "(e.g. tcp://host:8786); its workers must see --out at the same path")
    p.add_argument("--no-dask", action="store_true", help="run the points one after another in this process")
    p.add_argument("--retry-failed", action="store_true", help="run again the points recorded as failed")
    p.add_argument("--no-plots", action="store_true", help="no summary figure")
    p.add_argument("--quiet", "-q", action="store_true", help="only the summary")
    return p


def main(argv: list[str] | None = None) -> int:
    """``minigan sweep``: exit codes in the module docstring."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if args.no_dask and (args.scheduler or args.workers):
            drop = "--scheduler" if args.scheduler else "--workers"
            raise SpecError(f"--no-dask: it runs in this process; drop {drop}")
        if args.scheduler and args.workers:
            raise SpecError("--workers: it sizes the LocalCluster; an existing cluster (--scheduler) has its own")
        if not args.no_dask and (args.scheduler or args.workers) and not dask_available():
            raise SpecError(f"{'--scheduler' if args.scheduler else '--workers'}: needs dask "
                            '(pip install "minigan[sweep]"), or run with --no-dask')
        spec = load_spec(args.spec)
        out = args.out or os.path.join("sweeps", _safe(spec.name))
        try:
            res = run_sweep(spec, out, use_dask=False if args.no_dask else None, scheduler=args.scheduler,
                            workers=args.workers, retry_failed=args.retry_failed, quiet=args.quiet,
                            command=f"{PROG} " + " ".join(argv), figure=not args.no_plots)
        except OSError as e:
            print(f"{PROG}: error: cannot write {e.filename or 'a file'}: {e.strerror or e}; runs finished "
                  "before are as they were", file=sys.stderr)
            return exitcodes.WRITE_ERROR
    except SpecError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return exitcodes.USAGE
    done = sum(r["status"] == "done" for r in res.rows)
    if res.interrupted:
        print(f"{PROG}: interrupted: {done} of {len(res.rows)} runs done; run the same command again to "
              "continue (finished runs are kept, unfinished ones resume from their checkpoints)", file=sys.stderr)
        return exitcodes.INTERRUPTED
    print(summary_table(res.rows, spec))
    if res.figure is None and not args.no_plots and not plots.available():
        print(f"matplotlib is not installed: no summary.png ({plots.INSTALL_HINT})")
    wrote = [res.csv] + ([res.figure] if res.figure else [])
    print(f"{len(res.rows)} runs in {res.seconds:.1f} s: {done} done, {len(res.failed)} failed; wrote "
          + ", ".join(wrote))
    for r in res.failed:
        print(f"failed: {r['run']}: {r['message']}", file=sys.stderr)
    return exitcodes.FAILED if res.failed else exitcodes.OK
