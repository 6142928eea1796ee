"""Running a sweep: each point an ordinary run folder trained by the run driver
(``run.train_in_folder``, the body of ``minigan train``), on a Dask cluster or one after another.

``run_point`` is the unit: it takes the folder's lock, picks the run up where it is (done or
failed before, a checkpoint to resume) and records what happened from the driver's ``RunResult``
and the attributes of its errors. ``run_sweep`` runs every point of a spec and writes the table
and the figure (``results``).
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ... import checkpoint
from ...files import FolderInUse, FolderLock, json_ready, read_json, write_json
from ...metrics import format_metrics
from ...training import GAN, DivergenceError, TrainConfig
from .. import exitcodes
from ..progress import Progress
from ..run import RunSettings, train_in_folder
from .results import row, summary_figure, write_csv
from .spec import RUN_DEFAULTS, Point, Spec, SpecError

DEFAULT_CONFIG = TrainConfig().to_dict()  # each field's default, for run.json files written before it

PROG = "minigan sweep"
BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
CONNECT_TIMEOUT = 10  # seconds to reach the scheduler of --scheduler


# --------------------------------------------------------------------------------------
# One point: the unit of a sweep
# --------------------------------------------------------------------------------------
def held_config(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The config of the run in ``folder`` (its run.json), or None if it holds none. A field that
    TrainConfig gained after the run was written takes its default, as ``checkpoint.load`` gives
    it, so a finished run of an older minigan still counts as the same configuration."""
    config = (read_json(os.path.join(folder, "run.json")) or {}).get("config")
    if not isinstance(config, dict):
        return None
    return {**{k: v for k, v in DEFAULT_CONFIG.items() if k not in config}, **config}


def _differs(held: dict, config: dict) -> str:
    keys = [k for k in sorted(set(held) | set(config)) if held.get(k) != config.get(k)]
    return ", ".join(f"{k}={held.get(k)!r}, not {config.get(k)!r}" for k in keys[:3])


def finished(
    folder: str | os.PathLike[str], config: dict[str, Any] | None = None, retry_failed: bool = False
) -> dict[str, Any] | None:
    """The result of the run in ``folder`` if it is over (done, or failed unless ``retry_failed``),
    read without touching a file; else None."""
    if config is not None:
        held = held_config(folder)
        if held is not None and held != config:
            return None
    m = read_json(os.path.join(folder, "metrics.json"))  # None if cut short by a kill: resumed
    if m is not None and os.path.exists(os.path.join(folder, "checkpoint.npz")):
        return {
            "status": "done",
            "how": "finished before",
            "step": m.get("step"),
            "metrics": m,
            "message": "",
            "seconds": 0.0,
        }
    d = None if retry_failed else read_json(os.path.join(folder, "failed.json"))
    if d is not None:
        return {
            "status": "failed",
            "how": "failed before",
            "step": d.get("step"),
            "metrics": {},
            "message": d.get("message", ""),
            "seconds": 0.0,
        }
    return None


def run_point(
    config: TrainConfig | dict[str, Any],
    folder: str | os.PathLike[str],
    run: dict[str, Any] | None = None,
    prepare: Callable[[GAN], Any] | None = None,
    retry_failed: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """Train one run in ``folder`` as ``minigan train`` would (``run.train_in_folder``), or pick it
    up where it is: done before (its metrics), failed before (its message), or a checkpoint to resume.

    ``config``: a TrainConfig or its dict; ``run``: options as ``[run]`` of a spec (``RUN_DEFAULTS``);
    ``prepare``: ``prepare(gan)`` after the GAN is built or loaded, before it trains (what a config
    cannot say); ``command``: recorded in run.json. While another process holds the folder's lock
    (a task of an earlier, interrupted sweep still running on a cluster) it waits for it. Returns
    {"status": "done" | "failed" | "interrupted", "how", "step", "metrics" (metrics.json), "message",
    "seconds"}; never raises for a failed run. Raises ValueError if ``folder`` holds a run of another
    config (nothing is overwritten).
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(dict(config))
    cfg = json_ready(cfg.to_dict())
    folder = os.path.abspath(os.fspath(folder))
    opts = {**RUN_DEFAULTS, **(run or {})}
    os.makedirs(folder, exist_ok=True)
    with FolderLock(folder, wait=math.inf, poll=1.0):
        held = held_config(folder)
        if held is not None and held != cfg:
            raise ValueError(
                f"{folder} holds a run of another config ({_differs(held, cfg)}); nothing was changed there"
            )
        over = finished(folder, None, retry_failed)
        if over is not None:
            return over
        return _train_point(
            cfg, folder, opts, prepare, command or f"{PROG} (point {os.path.basename(folder)})", t0
        )


def _train_point(
    cfg: dict[str, Any],
    folder: str,
    opts: dict[str, Any],
    prepare: Callable[[GAN], Any] | None,
    command: str,
    t0: float,
) -> dict[str, Any]:
    """The driver on the point's GAN (new, or resumed from its checkpoint); its lines go to
    sweep.log, its outcome to the result (and failed.json)."""
    ckpt = os.path.join(folder, "checkpoint.npz")
    log: list[str] = []
    gan, how = None, "new"
    try:
        if os.path.exists(os.path.join(folder, "failed.json")):
            os.remove(os.path.join(folder, "failed.json"))  # retry_failed
        if os.path.exists(ckpt):
            gan = checkpoint.load(ckpt)
            held = json_ready(gan.config.to_dict())
            if held != cfg:
                raise ValueError(f"{ckpt} holds a run of another config ({_differs(held, cfg)})")
            how = f"resumed from step {gan.step}"
        else:
            gan = GAN(TrainConfig.from_dict(cfg))
        log.append(f"{PROG}: this run trains in process {os.getpid()} ({how})")
        if prepare is not None:
            prepare(gan)
        settings = RunSettings(
            **opts, quiet=True, command=command, resumed_from=None if how == "new" else ckpt
        )
        result = train_in_folder(gan, folder, settings, say=log.append)
    except OSError as e:  # a file could not be written: not the run's fault, so not recorded as failed
        return _result("failed", "", gan, {}, f"cannot write {e.filename or 'a file'}: {e.strerror or e}", t0)
    except Exception as e:  # noqa: BLE001 - any failure of one run is that run's result
        msg = str(e) if isinstance(e, (ValueError, FloatingPointError)) else f"{type(e).__name__}: {e}"
        step = e.step if isinstance(e, DivergenceError) else None
        return _record_failure(folder, cfg, gan, msg, step, t0)
    finally:
        _append_log(folder, log)
    if result.status == exitcodes.OK:
        return _result("done", how, gan, result.metrics or {}, "", t0)
    if result.error is None:
        return _result("interrupted", how, gan, {}, f"interrupted at step {result.step}", t0)
    return _record_failure(folder, cfg, gan, str(result.error), result.error.step, t0)


def _result(
    status: str, how: str, gan: GAN | None, m: dict[str, Any], message: str, t0: float
) -> dict[str, Any]:
    step = m.get("step") if m else (gan.step if gan is not None else None)
    return {
        "status": status,
        "how": how,
        "step": step,
        "metrics": m,
        "message": message,
        "seconds": time.perf_counter() - t0,
    }


def _record_failure(
    folder: str, cfg: dict[str, Any], gan: GAN | None, msg: str, step: int | None, t0: float
) -> dict[str, Any]:
    """failed.json (the message, the step it names, the config) and the result of a failed run."""
    if step is None and gan is not None:
        step = gan.step
    write_json(os.path.join(folder, "failed.json"), {"message": msg, "step": step, "config": cfg})
    r = _result("failed", "", gan, {}, msg, t0)
    r["step"] = step
    return r


def _append_log(folder: str, lines: list[str]) -> None:
    if lines:
        with open(os.path.join(folder, "sweep.log"), "a") as f:
            f.write("".join(line if line.endswith("\n") else line + "\n" for line in lines))


def _point_task(
    config: dict[str, Any],
    folder: str,
    run: dict[str, Any],
    prepare: Callable[[GAN], Any] | None,
    retry_failed: bool,
    command: str,
) -> dict[str, Any]:
    """What a Dask worker runs: ``run_point`` with one BLAS thread (the environment is the
    LocalCluster's; the driver also limits the BLAS with threadpoolctl)."""
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


def report(progress: Progress, name: str, r: dict[str, Any]) -> None:
    """One line for a point that is over, ``[n/total] name: done ...`` (stdout), and a step of the bar."""
    progress.update(1)
    if progress.quiet:
        return
    if r["status"] == "done":
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
    progress.write(f"[{progress.done}/{progress.total}] {name}: {what}", file=sys.stdout)


def dask_available() -> bool:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


def run_sweep(
    spec: Spec,
    out: str | os.PathLike[str],
    *,
    use_dask: bool | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    prepare: Callable[[GAN], Any] | None = None,
    retry_failed: bool = False,
    quiet: bool = False,
    command: str | None = None,
    figure: bool = True,
    overwrite: bool = False,
) -> SweepResult:
    """Run every point of ``spec`` in ``OUT/runs/<point>/`` and write ``OUT/results.csv`` and
    ``OUT/summary.png``. ``use_dask``: None = Dask if installed; True = Dask (ImportError without);
    False = one after another in this process. ``scheduler``: an existing cluster's address;
    ``workers``: the LocalCluster's processes (default: the cores). ``prepare(gan)``: called on each
    run's GAN before it trains, also on a resumed one (it travels to the workers by cloudpickle).

    OUT may hold this spec's sweep (finished runs are kept, unfinished ones resume); one of another
    spec (its sweep.json) is refused unless ``overwrite``, which lets this spec's results replace
    results.csv: runs of the same config are kept, run folders holding another config replaced.
    Unless ``quiet``, the plan (runs, steps) is printed before any of them starts.
    Raises SpecError if OUT holds another spec's sweep, or a run folder another configuration (without
    ``overwrite``), or OUT is in use."""
    out = os.path.abspath(os.fspath(out))
    points = spec.points()
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    t0 = time.perf_counter()
    with _sweep_lock(out):
        _check_spec(spec, out, overwrite)
        _check_folders(points, out, overwrite)
        if not quiet:
            print(_plan(points, out), flush=True)
        write_json(
            os.path.join(out, "sweep.json"),
            {"spec": spec.to_dict(), "command": command, "points": [p.name for p in points]},
        )
        if use_dask is None:
            use_dask = dask_available() or scheduler is not None
            if not use_dask and not quiet:
                print(
                    f"dask is not installed: the {len(points)} runs go one after another in this process "
                    '(pip install "minigan[sweep]" to run them in parallel)'
                )
        task = _Task(out, spec.run, prepare, retry_failed, command or PROG)
        results, interrupted = _run_points(points, task, use_dask, scheduler, workers, quiet)
        rows = [row(p, results.get(p.name)) for p in points]
        csv_path = write_csv(rows, spec, os.path.join(out, "results.csv"))
        fig = (
            summary_figure(rows, spec, os.path.join(out, "summary.png"))
            if figure and not interrupted
            else None
        )
    return SweepResult(rows, csv_path, fig, interrupted, time.perf_counter() - t0, points)


def _sweep_lock(out: str) -> FolderLock:
    """The lock of the sweep's folder; SpecError while another minigan sweep holds it."""
    try:
        return FolderLock(out)
    except FolderInUse as e:
        who = f" ({e.holder})" if e.holder else ""
        raise SpecError(
            f"--out: {out} is in use by another minigan sweep{who}; wait for it, or choose another --out"
        ) from None


def _plan(points: list[Point], out: str) -> str:
    """``sweep: 6 runs of 60 steps each (360 steps) -> OUT``: what is about to run."""
    steps = [int(p.config["steps"]) for p in points]
    each = f"{steps[0]:,} steps each" if len(set(steps)) == 1 else f"{min(steps):,} to {max(steps):,} steps"
    runs = f"{len(points):,} run{'s' if len(points) != 1 else ''}"
    return f"sweep: {runs} of {each} ({sum(steps):,} steps) -> {out}"


def _check_spec(spec: Spec, out: str, overwrite: bool) -> None:
    """SpecError if OUT holds the sweep of another spec (its sweep.json), unless ``overwrite``."""
    held = (read_json(os.path.join(out, "sweep.json")) or {}).get("spec")
    if not isinstance(held, dict) or overwrite:
        return
    diff = spec.differs_from(held)
    if diff:
        raise SpecError(
            f"--out: {out} holds the sweep of another spec ({diff}); choose another --out, or give "
            "--overwrite to let this spec's results replace its results.csv (runs of the same config are "
            "kept, run folders of another config replaced)"
        )


def _check_folders(points: list[Point], out: str, overwrite: bool = False) -> None:
    """SpecError if the folder of a point holds a run of another config (nothing is changed); with
    ``overwrite`` that folder is emptied for the point's run instead (refused while a run holds it)."""
    for p in points:
        folder = os.path.join(out, "runs", p.name)
        held = held_config(folder)
        if held is None or held == p.config:
            continue
        if not overwrite:
            raise SpecError(
                f"{folder} holds a run of another config "
                f"({_differs(held, p.config)}): choose another --out (nothing was changed)"
            )
        if os.path.islink(folder):  # a link to a run elsewhere: the link goes, that run stays
            os.remove(folder)
            os.makedirs(folder)
            continue
        try:
            with FolderLock(folder):
                for entry in os.scandir(folder):
                    if entry.name != ".lock":
                        (shutil.rmtree if entry.is_dir(follow_symlinks=False) else os.remove)(entry.path)
        except FolderInUse as e:
            raise SpecError(f"--overwrite: {folder} is in use ({e.holder or 'another process'})") from None


@dataclass
class _Task:
    """What every point of a sweep shares: ``args(point)`` are ``run_point``'s arguments."""

    out: str
    run: dict[str, Any]
    prepare: Callable[[GAN], Any] | None
    retry_failed: bool
    command: str

    def args(self, p: Point) -> tuple:
        return (
            p.config,
            os.path.join(self.out, "runs", p.name),
            self.run,
            self.prepare,
            self.retry_failed,
            f"{self.command} (point {p.name})",
        )


def _run_points(
    points: list[Point], task: _Task, use_dask: bool, scheduler: str | None, workers: int | None, quiet: bool
) -> tuple[dict[str, dict[str, Any]], bool]:
    """Each point's result (name -> result; the unfinished ones missing) and whether the sweep was
    interrupted: the points over before read, the others run on Dask or here."""
    results: dict[str, dict[str, Any]] = {}
    progress = Progress(len(points), unit="run", quiet=quiet, desc="sweep", plain=False)
    todo = []
    for p in points:  # finished before: read, no task
        r = finished(os.path.join(task.out, "runs", p.name), p.config, task.retry_failed)
        if r is not None:
            results[p.name] = r
            report(progress, p.name, r)
        else:
            todo.append(p)
    interrupted: bool | None = False
    try:
        if todo and use_dask:
            interrupted = _run_dask(todo, task, scheduler, workers, results, progress)
        if todo and (not use_dask or interrupted is None):
            interrupted = False
            for p in todo:
                r = run_point(*task.args(p))
                if r["status"] == "interrupted":
                    interrupted = True
                    break
                results[p.name] = r
                report(progress, p.name, r)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    return results, bool(interrupted)


def _run_dask(
    todo: list[Point],
    task: _Task,
    scheduler: str | None,
    workers: int | None,
    results: dict[str, dict[str, Any]],
    progress: Progress,
) -> bool | None:
    """The points on a Dask cluster; results[name] as each finishes. True if interrupted; None if
    no LocalCluster could be started (the caller runs the points itself)."""
    from dask.distributed import as_completed

    started = _client(scheduler, workers, len(todo), progress.quiet)
    if started is None:
        return None
    client, cluster, where = started
    try:
        if not progress.quiet:
            print(f"{len(todo)} run(s) on {where}", flush=True)
        futures = {
            client.submit(
                _point_task, *task.args(p), pure=False, key=f"minigan-sweep-{p.name}-{time.time_ns()}"
            ): p
            for p in todo
        }
        try:
            for f in as_completed(futures):
                p = futures[f]
                if f.status == "finished":
                    r = f.result()
                else:
                    err = f.exception()  # e.g. KilledWorker: it kept killing workers
                    r = {
                        "status": "failed",
                        "how": "",
                        "step": None,
                        "metrics": {},
                        "seconds": 0.0,
                        "message": f"{type(err).__name__}: {err}",
                    }
                results[p.name] = r
                report(progress, p.name, r)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            return True
        return False
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _client(
    scheduler: str | None, workers: int | None, n_todo: int, quiet: bool
) -> tuple[Any, Any, str] | None:
    """(client, the LocalCluster started or None, where the runs go): the cluster at ``scheduler``,
    or a LocalCluster of ``workers`` processes; None if no LocalCluster could be started."""
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT), None, scheduler
        except (OSError, ValueError, TypeError) as e:  # TimeoutError is an OSError
            raise SpecError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} ({e})") from None
    n = min(workers or os.cpu_count() or 1, n_todo)
    if not quiet:
        print(f"starting a Dask LocalCluster of {n} worker process(es) ...", flush=True)
    try:
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env={v: "1" for v in BLAS_VARS},
        )
    except Exception as e:  # noqa: BLE001 - e.g. spawned workers cannot re-import a __main__ read from stdin
        if not quiet:
            print(
                f"could not start a Dask LocalCluster ({type(e).__name__}: {e}): the runs go one after "
                "another in this process",
                flush=True,
            )
        return None
    return Client(cluster), cluster, f"a LocalCluster of {n} worker process(es)"
