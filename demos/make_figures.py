"""Make every figure of docs/figures/ that a script makes, afresh, from the current defaults.

    python demos/make_figures.py                   # all of them, one after another
    python demos/make_figures.py --only game train # some of them (names: --list)
    python demos/make_figures.py --list            # what each job makes, and what is not made here

Each job runs a command of the docs in a fresh folder under --out (default
demo_output/make_figures/<job>/, emptied first) — a demo with --docs, ``minigan train --animate`` or
``minigan sweep`` — and copies its figures into docs/figures/. Its output (the numbers the docs
quote beside the figure) goes to the terminal and to <job>.log; make_figures.json records, per
job, the wall time and each figure's bytes, pixel size and frames, and the BLAS library and kernel
numpy ran on (results are float32 and one BLAS thread: another kernel can round differently and
move single seeds, docs/reproductions.md).

Not made here (NOT_MADE): PacGAN's figure, which takes their whole protocol.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = _common.ROOT
DOCS = _common.DOCS_FIGURES
DEMOS = ROOT / "demos"


@dataclass
class Job:
    """A command that makes ``figures`` (in docs/figures/) — a demo with --docs writes them there;
    ``copies`` maps a file of the job's folder to the name it takes in docs/figures/."""

    name: str
    what: str
    command: list[str]
    figures: tuple[str, ...]
    copies: tuple[tuple[str, str], ...] = ()


def jobs(workers: int) -> list[Job]:
    """The jobs in the order of docs/reproductions.md and docs/guide.md ({out}: the job's folder)."""
    py, demo = sys.executable, (lambda name: [sys.executable, str(DEMOS / f"{name}.py"), "--docs"])
    return [
        Job(
            "train",
            "minigan train --animate: the default run, its animation (docs/guide.md)",
            [py, "-m", "minigan", "train", "--animate", "--out", "{out}"],
            ("train_animation.gif",),
            (("animation.gif", "train_animation.gif"),),
        ),
        Job(
            "saturation",
            "demo 1: why the generator loss was changed",
            demo("demo1_saturation"),
            ("saturation.png",),
        ),
        Job("figure1", "demo 2: the paper's Figure 1", demo("demo2_figure1"), ("figure1.png",)),
        Job("optimal_d", "demo 3: Proposition 1 and Theorem 1", demo("demo3_optimal_d"), ("optimal_d.png",)),
        Job(
            "total_loss", "demo 4: min-max and the total loss", demo("demo4_total_loss"), ("total_loss.png",)
        ),
        Job(
            "modes",
            "demo 5: loss forms and update modes, 36 runs",
            [*demo("demo5_modes"), "--workers", str(workers)],
            ("modes.png",),
        ),
        Job("digits", "demo 6: digits", demo("demo6_digits"), ("digits.png",)),
        Job("dirac", "demo 7: the Dirac-GAN", demo("demo7_dirac"), ("dirac.png", "dirac_methods.png")),
        Job(
            "game",
            "demo 8: minimax against non-saturating",
            demo("demo8_game"),
            (
                "game_minimax.gif",
                "game_nonsaturating.gif",
                "game_minimax.png",
                "game_nonsaturating.png",
                "game_diagnostics.png",
            ),
        ),
        Job(
            "unrolled",
            "demo 9: Metz et al.'s Figure 2, the standard GAN against unrolled K = 1, 5, 10",
            [*demo("demo9_unrolled"), "--workers", str(workers)],
            ("unrolled_ring.png",),
        ),
        Job(
            "sweep",
            "minigan sweep docs/sweeps/ring_losses_modes.toml: 18 runs",
            [
                py,
                "-m",
                "minigan",
                "sweep",
                str(ROOT / "docs" / "sweeps" / "ring_losses_modes.toml"),
                "--out",
                "{out}",
                "--workers",
                str(workers),
            ],
            ("sweep_ring.png",),
            (("summary.png", "sweep_ring.png"),),
        ),
        Job(
            "game_optimizers",
            "demo 9 --sweep: minigan sweep docs/sweeps/game_optimizers.toml, 42 runs, and its figure",
            [*demo("demo9_unrolled"), "--sweep", "{out}/sweep", "--workers", str(workers)],
            ("game_optimizers.png",),
        ),
    ]


NOT_MADE = {
    "pacgan.png": "PacGAN's Table 1 protocol, 400 epochs x 3 trials x 2 data sets: about 13 hours on 2 "
    "cores. Made by: python demos/reproduce_pacgan.py --epochs 400 --trials 3 "
    "--out sweeps/reproduce_pacgan --docs",
}


def blas() -> str:
    """numpy's BLAS library, version and kernel (threadpoolctl), or what numpy says of it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl is not installed)"
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return "unknown"
    i = libs[0]
    return f"{i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture', '?')}"


def image_facts(path: Path) -> dict:
    """Bytes, pixel size and frames of a figure file."""
    from PIL import Image

    with Image.open(path) as im:
        return {"bytes": path.stat().st_size, "pixels": list(im.size), "frames": getattr(im, "n_frames", 1)}


def run_job(job: Job, out: Path) -> dict:
    """Run ``job`` in a fresh ``out``/<name>/, copy its figures into docs/figures/; its record."""
    folder = out / job.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    command = [a.replace("{out}", str(folder)) for a in job.command]
    if command[1].endswith(".py"):
        command += ["--out", str(folder)]
    print(f"\n== {job.name}: {job.what}\n$ {' '.join(command)}", flush=True)
    t0 = time.perf_counter()
    with open(out / f"{job.name}.log", "w") as log:
        env = {**os.environ, "TQDM_DISABLE": "1"}  # no progress bars in a log: the lines of each run say it
        proc = subprocess.Popen(
            command, cwd=out, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"  {line}", end="", flush=True)
            log.write(line)
        rc = proc.wait()
    seconds = time.perf_counter() - t0
    if rc != 0:
        print(f"== {job.name}: failed (exit {rc}) after {seconds:.0f} s; see {out / (job.name + '.log')}")
        return {"status": f"failed (exit {rc})", "seconds": round(seconds, 1)}
    for src, dst in job.copies:
        shutil.copyfile(folder / src, DOCS / dst)
    facts = {f: image_facts(DOCS / f) for f in job.figures}
    for f, d in facts.items():
        frames = f", {d['frames']} frames" if d["frames"] > 1 else ""
        print(
            f"   docs/figures/{f}: {d['bytes'] / 1e6:.2f} MB, {d['pixels'][0]} x {d['pixels'][1]} px{frames}"
        )
    print(f"== {job.name}: {seconds:.0f} s", flush=True)
    return {"status": "done", "seconds": round(seconds, 1), "figures": facts}


def listing(all_jobs: list[Job]) -> str:
    lines = ["made (job: figures in docs/figures/ -- what):"]
    lines += [f"  {j.name}: {', '.join(j.figures)} -- {j.what}" for j in all_jobs]
    lines += ["not made here:"] + [f"  {f}: {why}" for f, why in NOT_MADE.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    names = [j.name for j in jobs(1)]
    p = argparse.ArgumentParser(
        prog="demos/make_figures.py",
        description="Make the figures of docs/figures/ afresh, from the current defaults.",
        epilog=listing(jobs(2)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("demo_output") / "make_figures",
        help="folder of the jobs' runs and logs (default: demo_output/make_figures)",
    )
    p.add_argument("--only", nargs="+", choices=names, metavar="JOB", help="only these jobs (names: --list)")
    p.add_argument("--skip", nargs="+", choices=names, default=[], metavar="JOB", help="all jobs but these")
    p.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes of the sweeps and of demo 9 (default 2)",
    )
    p.add_argument("--list", action="store_true", help="list the jobs and what is not made here, and stop")
    args = p.parse_args(argv)
    if args.list:
        print(listing(jobs(args.workers)))
        return {}
    chosen = [
        j for j in jobs(args.workers) if (not args.only or j.name in args.only) and j.name not in args.skip
    ]
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    kernel = blas()
    print(f"{len(chosen)} job(s): {', '.join(j.name for j in chosen)}; BLAS: {kernel}; out: {args.out}")
    t0 = time.perf_counter()
    record = {"blas": kernel, "python": sys.version.split()[0], "jobs": {}}
    for job in chosen:
        record["jobs"][job.name] = run_job(job, args.out)
    record["seconds"] = round(time.perf_counter() - t0, 1)
    (args.out / "make_figures.json").write_text(json.dumps(record, indent=1))
    failed = [n for n, r in record["jobs"].items() if r["status"] != "done"]
    print(
        f"\n{len(chosen) - len(failed)} of {len(chosen)} job(s) done in {record['seconds'] / 60:.1f} min"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + f"; record: {args.out / 'make_figures.json'}"
    )
    for f, why in NOT_MADE.items():
        print(f"not made: docs/figures/{f} ({why.split('. ')[0]})")
    if failed:
        raise SystemExit(1)
    return record


if __name__ == "__main__":
    main()
