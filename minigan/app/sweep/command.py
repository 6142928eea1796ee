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
``g_loss=minimax,mode=fresh,seed=0``), trained by ``run.train_in_folder``, the body of
``minigan train``: the same files, lock and checkpoints, plus ``sweep.log`` (the run's lines).
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

Before any run starts the command prints its plan (``sweep: 6 runs of 60 steps each (360 steps) ->
OUT``). A spec holds at most 10,000 points, and a spec file must define runs (``[base]`` and/or
``[axes]``). OUT holding the sweep of another spec (its ``sweep.json``) is refused unless
``--overwrite``: then this spec's results replace results.csv, its runs of the same config are
kept and run folders holding another config are replaced.

Exit codes: 0 every run done; 1 some run failed (results.csv says which and why); 2 a bad spec
or option, OUT in use by another sweep or holding another spec's sweep (without ``--overwrite``),
or a run folder holding another configuration;
3 a file could not be written; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys

from ...figures import plots
from .. import exitcodes
from ..options import positive_integer
from .results import summary_table
from .runner import PROG, SweepResult, dask_available, run_sweep
from .spec import Spec, SpecError, load_spec, safe_name


def build_parser() -> argparse.ArgumentParser:
    spec = __doc__.split("SPEC is a TOML or JSON file::\n\n", 1)[1].split("\n\n", 1)[0]
    p = argparse.ArgumentParser(
        allow_abbrev=False,  # --lr is not --lr-decay: an option is named in full
        prog=PROG,
        description="Run many trainings at once (a Dask LocalCluster, an "
        "existing cluster, or one after another) and collect one CSV and one figure.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="A spec:\n\n" + spec + "\n\nExit codes: " + __doc__.split("Exit codes: ", 1)[1],
    )
    p.add_argument("spec", metavar="SPEC", help="a .toml or .json file: [base], [axes], [run]")
    p.add_argument("--out", help="the sweep's folder [sweeps/<SPEC's name>]")
    p.add_argument("--workers", type=positive_integer, help="processes of the LocalCluster [one per core]")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the existing Dask cluster at ADDRESS "
        "(e.g. tcp://host:8786); its workers must see --out at the same path",
    )
    p.add_argument("--no-dask", action="store_true", help="run the points one after another in this process")
    p.add_argument("--retry-failed", action="store_true", help="run again the points recorded as failed")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="let this spec's results replace those of another spec in --out (without it, that is "
        "refused): runs of the same config are kept, run folders of another config replaced",
    )
    p.add_argument("--no-plots", action="store_true", help="no summary figure")
    p.add_argument("--quiet", "-q", action="store_true", help="only the summary")
    return p


def _check_options(args: argparse.Namespace) -> None:
    """The options that do not go together, or need Dask."""
    if args.no_dask and (args.scheduler or args.workers):
        raise SpecError(
            f"--no-dask: it runs in this process; drop {'--scheduler' if args.scheduler else '--workers'}"
        )
    if args.scheduler and args.workers:
        raise SpecError("--workers: it sizes the LocalCluster; an existing cluster (--scheduler) has its own")
    if not args.no_dask and (args.scheduler or args.workers) and not dask_available():
        raise SpecError(
            f"{'--scheduler' if args.scheduler else '--workers'}: needs dask "
            '(pip install "minigan[sweep]"), or run with --no-dask'
        )


def main(argv: list[str] | None = None) -> int:
    """``minigan sweep``: exit codes in the module docstring."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        _check_options(args)
        spec = load_spec(args.spec)
        out = args.out or os.path.join("sweeps", safe_name(spec.name))
        res = run_sweep(
            spec,
            out,
            use_dask=False if args.no_dask else None,
            scheduler=args.scheduler,
            workers=args.workers,
            retry_failed=args.retry_failed,
            quiet=args.quiet,
            command=f"{PROG} " + " ".join(argv),
            figure=not args.no_plots,
            overwrite=args.overwrite,
        )
    except SpecError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return exitcodes.USAGE
    except BrokenPipeError:  # stdout's reader stopped reading: the dispatcher ends quietly
        raise
    except OSError as e:
        print(
            f"{PROG}: error: cannot write {e.filename or 'a file'}: {e.strerror or e}; runs finished "
            "before are as they were",
            file=sys.stderr,
        )
        return exitcodes.WRITE_ERROR
    return _report(res, spec, args.no_plots)


def _report(res: SweepResult, spec: Spec, no_plots: bool) -> int:
    """The summary table and the files written (or why the sweep stopped), and the exit code."""
    done = sum(r["status"] == "done" for r in res.rows)
    if res.interrupted:
        print(
            f"{PROG}: interrupted: {done} of {len(res.rows)} runs done; run the same command again to "
            "continue (finished runs are kept, unfinished ones resume from their checkpoints)",
            file=sys.stderr,
        )
        return exitcodes.INTERRUPTED
    print(summary_table(res.rows, spec))
    if res.figure is None and not no_plots and not plots.available():
        print(f"matplotlib is not installed: no summary.png ({plots.INSTALL_HINT})")
    wrote = [res.csv] + ([res.figure] if res.figure else [])
    print(
        f"{len(res.rows)} runs in {res.seconds:.1f} s: {done} done, {len(res.failed)} failed; wrote "
        + ", ".join(wrote)
    )
    for r in res.failed:
        print(f"failed: {r['run']}: {r['message']}", file=sys.stderr)
    return exitcodes.FAILED if res.failed else exitcodes.OK
