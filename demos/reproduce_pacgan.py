"""Reproduce the GAN row of PacGAN's Table 1 (Lin et al. 2018, arXiv 1712.04086) with minigan.

Their protocol (the paper, Sec. 5.1, and their code fjxmlzn/PacGAN,
synthetic_data_experiments/2D{Ring,Grid}_GAN&PacGAN), as used here:

    data       ring: 8 Gaussians, means (cos 2πi/8, sin 2πi/8), std 0.01;
               grid: 25 Gaussians, means {−4, −2, 0, 2, 4}², std 0.05;
               a fixed training set of 100,000 points (minigan: minibatches drawn with
               replacement from it; theirs: shuffled epochs)
    z          2-D standard normal
    G          4 hidden layers of 400 ReLU units, batch norm before each ReLU (running
               statistics: momentum 0.05), linear output
    D          3 maxout layers of 200 units × 5 pieces, linear output (a logit)
    init       weights N(0, 0.02²), biases 0
    losses     L_D = mean sp(−l_r) + mean sp(l_f), G non-saturating (mean sp(−l_f))
    updates    both gradients from one forward pass, applied together (their
               ``ali_algorithm``: minigan's mode "simultaneous"), k = 1
    optimizer  Adam, lr 1e-4, β1 0.8, β2 0.999, for both
    batch      100; 400 epochs = 400,000 steps; 10 trials
    metrics    on 2,500 samples: modes covered, % high-quality (within 3σ of a mode),
               reverse KL of the mode histogram to uniform (minigan.metrics)
    evaluation G in inference mode (batch norm with its population statistics). Their
               samples are drawn after Blocks' monitoring pass of each epoch, which runs 50
               training batches through G in training mode with the batch-norm updates: the
               population statistics move 50 more times by 0.05, towards the final G. Training
               never reads those statistics, so the table gives both: "as trained" (minigan's
               running statistics) and "refreshed" (that monitoring pass replayed on the final
               checkpoint, the statistics kept as Blocks keeps them: ``monitoring_refresh``)

Published GAN row (Table 1, mean ± standard error over 10 trials, as its caption says; the
spread of single trials is about √10 = 3.2 times wider): ring 6.3 ± 0.5 modes, 98.2 ± 0.2 % high
quality, KL 0.45 ± 0.09; grid 17.3 ± 0.8 modes, 94.8 ± 0.7 %, KL 0.70 ± 0.07. Ours are given the
same way.

The full protocol is 400,000 steps per trial (hours per trial on a CPU: about 16 ms a step
on one core). Defaults are a quick run (1 epoch, 1 trial); ``--full`` sets 400 epochs and
10 trials; ``--epochs``/``--trials`` choose anything between. The table says what was run.

    python demos/reproduce_pacgan.py [--epochs 1] [--trials 1] [--workers 2] [--full]

The trials go through ``minigan.app.sweep``: each an ordinary run folder under ``<out>/sweep_.../runs/``
(checkpointed every epoch), on a Dask LocalCluster when dask is installed. Hours-long trials
survive an interruption: run the same command again and finished trials are reused, unfinished
ones resume from their last epoch. The curves come from each run's evals.csv (every epoch, on
--eval-samples samples); the last point and the table from its final metrics. The per-trial table
adds the median of the epoch-end scores over the last 50 epochs: the score moves between epochs,
and a final checkpoint is one draw from it.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import json
import math
import os

import numpy as np

import minigan
from minigan.app import sweep
from minigan.backend import get_backend
from minigan.data import make_dataset
from minigan.layers import BatchNorm
from minigan.metrics import evaluate
from minigan.training import TrainConfig

NAME = "reproduce_pacgan"
PUBLISHED_TRIALS = 10
LATE_EPOCHS = 50  # the per-trial table's median of the epoch-end scores over a run's last 50 epochs
PROTOCOL_EPOCHS = 400  # their runs' length: the published numbers are for the G after 400 epochs
CURVE_POINTS = 10  # a run of fewer epochs is scored this many times, not once an epoch
PUBLISHED = {  # Lin et al. 2018, Table 1, row "GAN": (mean, standard error over PUBLISHED_TRIALS trials)
    "ring": {"modes": (6.3, 0.5), "hq": (98.2, 0.2), "kl": (0.45, 0.09)},
    "grid": {"modes": (17.3, 0.8), "hq": (94.8, 0.7), "kl": (0.70, 0.07)},
}


def pacgan_config(dataset: str, seed: int, train_size: int = 100_000) -> TrainConfig:
    """PacGAN's GAN (num_packing = 1) as a minigan TrainConfig."""
    return TrainConfig(
        dataset=f"pacgan_{dataset}",
        data_params={"train_size": train_size},
        noise_dim=2,
        g_hidden=(400, 400, 400, 400),
        g_batch_norm=True,
        activation="relu",
        d_hidden=(200, 200, 200),
        d_maxout=5,
        init="normal",
        g_loss="nonsaturating",
        mode="simultaneous",
        k=1,
        optimizer="adam",
        g_lr=1e-4,
        d_lr=1e-4,
        betas=(0.8, 0.999),
        lr_decay=1.0,
        batch_size=100,
        seed=seed,
        log_every=100,
        penalty=None,
    )


def pacgan_batchnorm(gan):
    """Their batch norm's running statistics move by 0.05 a step (a layer setting, not a config
    field): ``prepare`` of the sweep, applied to a new run and to one resumed from its checkpoint."""
    for layer in gan.G.layers:
        if isinstance(layer, BatchNorm):
            layer.momentum = 0.05


MONITORING_BATCHES = 50  # their train_monitor_stream: ShuffledScheme(5000, batch_size 100)


def monitoring_refresh(gan, batches: int = MONITORING_BATCHES, seed: int = 0, batch: int = 100):
    """Replay their epoch-end monitoring pass on ``gan``, keeping the population statistics as
    Blocks keeps them: ``batches`` batches of ``batch`` noise vectors through G in training mode,
    each moving every batch norm's population mean, and its population *divisor* — the
    sqrt(σ²_batch + ε) that training mode divides by, σ² the biased variance — by 0.05 towards
    the batch's. minigan's layer keeps a variance r and divides by sqrt(r + ε) in evaluation mode,
    so it gets r = divisor² − ε; its starting divisor is its running statistics' (the unbiased
    variance scaled back by (N − 1)/N). Only G's running statistics change: no parameter, no
    optimizer state, no step."""
    pacgan_batchnorm(gan)
    bns = [layer for layer in gan.G.layers if isinstance(layer, BatchNorm)]
    xp, m = gan.backend.xp, 0.05
    mean = [layer.buffers["running_mean"] for layer in bns]
    div = [xp.sqrt(layer.buffers["running_var"] * ((batch - 1) / batch) + layer.eps) for layer in bns]
    rng = gan.backend.random(seed)
    for _ in range(batches):
        h, i = rng.normal((batch, gan.noise_dim)), 0
        for layer in gan.G.layers:  # G's training-mode pass, one layer at a time
            if isinstance(layer, BatchNorm):
                mu = xp.mean(h, axis=0)
                var = xp.mean((h - mu) ** 2, axis=0)
                mean[i] = (1 - m) * mean[i] + m * mu
                div[i] = (1 - m) * div[i] + m * xp.sqrt(var + layer.eps)
                i += 1
            h = layer.forward(h, train=True)[0]
    for layer, mu, d in zip(bns, mean, div):
        layer.buffers = {"running_mean": mu, "running_var": d * d - layer.eps}
    return gan


def make_spec(datasets, trials: int, seed: int, epochs: float, train_size: int, eval_samples: int):
    """The trials as a sweep: seed (one per trial) × data set, PacGAN's config as the base; the
    generator scored every epoch (evals.csv) and at the end on ``eval_samples`` samples."""
    base = pacgan_config(datasets[0], seed, train_size).to_dict()
    steps_per_epoch = max(1, round(train_size / base["batch_size"]))
    base["steps"] = max(1, round(epochs * steps_per_epoch))
    for key in ("dataset", "seed"):
        del base[key]
    axes = {"seed": [seed + t for t in range(trials)], "dataset": [f"pacgan_{ds}" for ds in datasets]}
    # every epoch; a run shorter than CURVE_POINTS epochs is scored CURVE_POINTS times, so that its
    # figure draws a curve, not one point
    every = steps_per_epoch if epochs >= CURVE_POINTS else max(1, base["steps"] // CURVE_POINTS)
    run = {
        "checkpoint_every": steps_per_epoch,
        "eval_every": every,
        "eval_samples": eval_samples,
        "plots": False,
    }
    return sweep.make_spec(base, axes, run, name=NAME), steps_per_epoch


def trial_result(folder, row, trial: int, steps_per_epoch: int, eval_samples: int) -> dict:
    """One trial's metric curve (every epoch from evals.csv, the last point the final metrics on
    ``eval_samples`` samples), samples and means, read back from its run folder."""
    ds, seed = row["dataset"].removeprefix("pacgan_"), int(row["seed"])
    saved = minigan.load(folder) if os.path.exists(os.path.join(folder, "checkpoint.npz")) else None
    b = get_backend("numpy")
    means = make_dataset(row["dataset"], b, b.random(0), train_size=10).means  # the modes' centres
    curve = []
    if row["status"] == "done":
        with open(os.path.join(folder, "evals.csv")) as f:  # step,modes_covered,high_quality,sliced_w1
            evals = [[float(v) for v in line.split(",")] for line in f.read().split()[1:]]
        curve = [
            {"epoch": s / steps_per_epoch, "modes": int(m), "hq": 100 * hq, "kl": None}
            for s, m, hq, _ in evals
            if s < row["step"]
        ]
        curve.append(
            {
                "epoch": row["step"] / steps_per_epoch,
                "modes": row["modes_covered"],
                "hq": 100 * row["high_quality"],
                "kl": row["kl"],
            }
        )
    diverged = row["message"] or None
    refreshed = None
    if row["status"] == "done" and saved is not None and not diverged:
        # their evaluation: the monitoring pass first (module docstring), the same samples' seed
        gan = monitoring_refresh(minigan.load(os.path.join(folder, "checkpoint.npz")), seed=seed)
        m = evaluate(gan, eval_samples)
        refreshed = {"modes": m["modes_covered"], "hq": 100 * m["high_quality"], "kl": m["kl"]}
    samples = (
        saved.sample(eval_samples, seed=1000 + seed)
        if saved is not None and not diverged
        else np.zeros((0, 2))
    )
    return {
        "dataset": ds,
        "trial": trial,
        "seed": seed,
        "curve": curve,
        "late_median": _late_median(curve),
        "steps": row["step"],
        "seconds": row["train_seconds"],
        "diverged": diverged,
        "refreshed": refreshed,
        "samples": samples.tolist(),
        "means": np.asarray(means).tolist(),
    }


def status(out, steps: int, eval_samples: int) -> dict:
    """Where an unfinished run stands: each trial's latest checkpoint scored on ``eval_samples``
    samples, as trained and after ``monitoring_refresh`` (a markdown table; nothing is trained or
    written)."""
    runs = sorted((out / "runs").glob("*/checkpoint.npz")) if (out / "runs").is_dir() else []
    if not runs:
        print(f"no checkpoint under {out / 'runs'} yet")
        return {}
    cell = lambda m: f"{m['modes_covered']} · {100 * m['high_quality']:.1f} · {m['kl']:.2f}"
    print("| data | trial (seed) | step | as trained: modes · % HQ · KL | refreshed: modes · % HQ · KL |")
    print("|---|---|---|---|---|")
    found = {}
    for path in runs:
        gan = minigan.load(path)
        pacgan_batchnorm(gan)
        seed, ds = gan.config.seed, gan.config.dataset.removeprefix("pacgan_")
        before = evaluate(gan, eval_samples)
        after = evaluate(monitoring_refresh(gan, seed=seed), eval_samples)
        print(f"| {ds} | {seed} | {gan.step:,} of {steps:,} | {cell(before)} | {cell(after)} |")
        found[path.parent.name] = {"step": gan.step, "as_trained": before, "refreshed": after}
    return found


def _duration(seconds) -> str:
    if not seconds:
        return "-"
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def summarize(results, datasets, refreshed: bool = False):
    """{dataset: {metric: (mean, standard error, n)}} of the final evaluation of each trial
    (``refreshed``: after ``monitoring_refresh``); the standard error is s/√n with the sample
    standard deviation s, as in their table, and NaN for a single trial."""
    out = {}
    for ds in datasets:
        finals = [
            r["refreshed"] if refreshed else r["curve"][-1]
            for r in results
            if r["dataset"] == ds and r["curve"] and (r["refreshed"] or not refreshed)
        ]
        out[ds] = {k: _mean_se([f[k] for f in finals]) for k in ("modes", "hq", "kl")} if finals else {}
    return out


def _mean_se(values) -> tuple[float, float, int]:
    v = np.asarray(values, dtype=np.float64)
    se = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(np.mean(v)), se, int(v.size)


def _pm(mean: float, se: float, digits: int) -> str:
    return f"{mean:.{digits}f}" if np.isnan(se) else f"{mean:.{digits}f} ± {se:.{digits}f}"


def _pm_sd(mean: float, se: float, n: int, digits: int) -> str:
    """``mean ± se (sd s)``: the standard error and the trials' standard deviation s = se·√n."""
    return _pm(mean, se, digits) + ("" if np.isnan(se) else f" (sd {se * np.sqrt(n):.{digits}f})")


def _late_median(curve, epochs: float = LATE_EPOCHS) -> dict | None:
    """The median modes and % high quality of the epoch-end evaluations in the last ``epochs``
    epochs of a trial (as trained; the final point, on --eval-samples samples, excluded): a final
    checkpoint is one draw from a score that moves between epochs (docs/MATH.md §8.5), this its
    typical value. None without such evaluations."""
    late = [c for c in curve[:-1] if c["epoch"] > curve[-1]["epoch"] - epochs] if curve else []
    if not late:
        return None
    return {
        "modes": float(np.median([c["modes"] for c in late])),
        "hq": float(np.median([c["hq"] for c in late])),
        "n": len(late),
    }


def _reduced(args) -> str:
    """What a run short of their protocol can and cannot show, in words ('' for the protocol)."""
    if args.epochs >= PROTOCOL_EPOCHS and args.trials >= PUBLISHED_TRIALS:
        return ""
    return (
        f"reduced protocol: {args.epochs:g} of {PROTOCOL_EPOCHS} epochs, {args.trials} of {PUBLISHED_TRIALS} "
        f"trials. The red bands are PacGAN's result after {PROTOCOL_EPOCHS} epochs, not a target for this "
        f"run:\ncompare with --epochs {PROTOCOL_EPOCHS} --trials 3 (hours; docs/reproductions.md)"
    )


def _z(ours, theirs) -> float:
    """(mean − mean') / √(se² + se'²) of two (mean, standard error) pairs: how far apart two means
    are in the standard error of their difference (|z| > 2 is a difference the trials resolve)."""
    return (ours[0] - theirs[0]) / math.hypot(ours[1], theirs[1])


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--epochs", type=float, default=1.0, help="epochs of 1,000 steps (their protocol: 400)")
    p.add_argument("--trials", type=int, default=1, help="trials per dataset (their protocol: 10)")
    p.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=("ring", "grid"))
    p.add_argument(
        "--train-size", type=int, default=100_000, help="training points (their protocol: 100,000)"
    )
    p.add_argument("--eval-samples", type=int, default=2500, help="samples per evaluation (theirs: 2,500)")
    p.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes of the sweep's Dask LocalCluster (1: one after another)",
    )
    p.add_argument("--full", action="store_true", help="their whole protocol: 400 epochs, 10 trials")
    p.add_argument(
        "--status",
        action="store_true",
        help="train nothing: score each trial's latest checkpoint, as trained and refreshed",
    )
    args = p.parse_args(argv)
    if args.full:
        args.epochs, args.trials = 400.0, 10
    if args.quick:
        args.epochs, args.trials, args.train_size, args.eval_samples, args.workers = 0.02, 1, 1000, 200, 1
    plt = _common.pyplot()

    spec, steps_per_epoch = make_spec(
        args.datasets, args.trials, args.seed, args.epochs, args.train_size, args.eval_samples
    )
    steps = spec.base["steps"]
    print(
        f"PacGAN Table 1, GAN row: {args.trials} trial(s) x {args.datasets}, {args.epochs:g} epoch(s) "
        f"= {steps} steps each, {args.train_size} training points, {args.eval_samples} eval samples, "
        f"{args.workers} worker(s)",
        flush=True,
    )
    out = args.out / f"sweep_{args.epochs:g}ep_{args.train_size}pts_{args.eval_samples}eval"
    if args.status:
        return status(out, steps, args.eval_samples)
    with _common.Timer() as t:
        res = sweep.run_sweep(
            spec,
            out,
            use_dask=None if args.workers > 1 else False,
            workers=args.workers,
            prepare=pacgan_batchnorm,
            figure=False,
            command=f"demos/{NAME}.py",
        )
    results = [
        trial_result(
            str(out / "runs" / p.name), row, p.config["seed"] - args.seed, steps_per_epoch, args.eval_samples
        )
        for p, row in zip(res.points, res.rows)
    ]
    summary = summarize(results, args.datasets)
    summary_refreshed = summarize(results, args.datasets, refreshed=True)

    # ---- numbers ------------------------------------------------------------------------
    print(f"wall time {t.seconds:.0f} s ({t.seconds / 60:.1f} min)")
    rows = []
    for ds in args.datasets:
        pub = PUBLISHED[ds]
        for how, s in (("as trained", summary[ds]), ("refreshed", summary_refreshed[ds])):
            if not s:
                rows.append([ds, how, "-", "", "-", "", "-", ""])
                continue
            rows.append(
                [
                    ds,
                    how,
                    _pm_sd(*s["modes"], 1),
                    _pm_sd(*pub["modes"], PUBLISHED_TRIALS, 1),
                    _pm_sd(*s["hq"], 1),
                    _pm_sd(*pub["hq"], PUBLISHED_TRIALS, 1),
                    _pm_sd(*s["kl"], 2),
                    _pm_sd(*pub["kl"], PUBLISHED_TRIALS, 2) + f"  (n = {s['modes'][2]})",
                ]
            )
    print(
        "mean ± standard error over the trials (their table's convention), "
        "and in brackets the trials' standard deviation (theirs: s.e. × √10)"
    )
    print(
        _common.table(
            [
                "data",
                "evaluation",
                "modes (minigan)",
                "modes (paper)",
                "% HQ (minigan)",
                "% HQ (paper)",
                "KL (minigan)",
                "KL (paper)",
            ],
            rows,
        )
    )
    for ds in args.datasets:
        for how, s in (("as trained", summary[ds]), ("refreshed", summary_refreshed[ds])):
            if s and s["modes"][2] > 1:
                diffs = ", ".join(
                    f"{label} {_z(s[k][:2], PUBLISHED[ds][k]):+.1f}"
                    for k, label in (("modes", "modes"), ("hq", "% HQ"), ("kl", "KL"))
                )
                print(f"{ds}, {how}: minigan − paper in combined standard errors: {diffs}")
    trial_rows = []
    for r in results:
        f, g = (r["curve"][-1] if r["curve"] else None), r["refreshed"]
        cell = lambda m: f"{m['modes']} · {m['hq']:.1f} · {m['kl']:.3f}" if m else "-"
        late = r["late_median"]
        trial_rows.append(
            [
                r["dataset"],
                r["trial"],
                r["seed"],
                r["steps"],
                cell(f),
                cell(g),
                f"{late['modes']:g} · {late['hq']:.1f} ({late['n']})" if late else "-",
                _duration(r["seconds"]),
            ]
        )
    print(
        _common.table(
            [
                "data",
                "trial",
                "seed",
                "steps",
                "as trained: modes · % HQ · KL",
                "refreshed",
                f"median of the last {LATE_EPOCHS} epochs: modes · % HQ (evaluations)",
                "training time",
            ],
            trial_rows,
        )
    )
    reduced = _reduced(args)
    if reduced:
        print(f"{reduced}\n({args.train_size} training points, {args.eval_samples} evaluation samples)")
    for r in results:
        if r["diverged"]:
            print(f"{r['dataset']} trial {r['trial']} diverged: {r['diverged']}")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "results.json", "w") as f:
        json.dump(
            {
                "args": {k: (str(v) if k == "out" else v) for k, v in vars(args).items()},
                "wall_seconds": t.seconds,
                "summary": summary,
                "summary_refreshed": summary_refreshed,
                "published": PUBLISHED,
                "trials": [{k: v for k, v in r.items() if k != "samples"} for r in results],
            },
            f,
            indent=1,
        )
    print(f"saved {args.out / 'results.json'}")

    # ---- figure -------------------------------------------------------------------------
    nd = len(args.datasets)
    fig, axes = plt.subplots(nd, 3, figsize=(11, 3.2 * nd), squeeze=False)
    for i, ds in enumerate(args.datasets):
        rs = [r for r in results if r["dataset"] == ds]
        pub = PUBLISHED[ds]
        ax = axes[i, 0]
        s, means = np.asarray(rs[0]["samples"]).reshape(-1, 2), np.asarray(rs[0]["means"])
        ax.scatter(s[:, 0], s[:, 1], s=1.5, alpha=0.4, label="G(z), trial 0")
        ax.scatter(means[:, 0], means[:, 1], marker="x", color="r", s=18, lw=0.8, label="modes")
        ax.set(aspect="equal", title=f"{ds}: samples after {args.epochs:g} epoch(s)")
        ax.legend(loc="upper right", fontsize=6)
        for j, (key, label) in enumerate((("modes", "modes covered"), ("hq", "% high quality"))):
            ax = axes[i, j + 1]
            for r in rs:
                ep = [c["epoch"] for c in r["curve"]]
                ax.plot(ep, [c[key] for c in r["curve"]], "o-", ms=2.5, lw=1, alpha=0.8)
            mu, se = pub[key]
            sd = se * np.sqrt(PUBLISHED_TRIALS)  # where their single trials lay
            ax.axhspan(mu - sd, mu + sd, color="C3", alpha=0.12, label="their trials' spread (s.e. × √10)")
            ax.axhspan(mu - se, mu + se, color="C3", alpha=0.3)
            ax.axhline(mu, color="C3", lw=1, label=f"PacGAN Table 1 (GAN): {mu} ± {se} (s.e.)")
            ax.set(xlabel="epoch (1,000 steps)", ylabel=label, title=f"{ds}: {label}, {len(rs)} trial(s)")
            ax.legend(loc="best", fontsize=6.5)
    if reduced:  # the bands are the published end point: say how far from it this run stopped
        fig.suptitle(reduced, color="C3", fontsize=8.5)
    fig.tight_layout()
    if reduced and args.docs:
        print("docs/figures/pacgan.png shows the full protocol: a reduced run does not replace it")
    _common.save(fig, args, "pacgan.png", docs=not reduced)
    return {
        "results": results,
        "summary": summary,
        "summary_refreshed": summary_refreshed,
        "seconds": t.seconds,
    }


if __name__ == "__main__":
    main()
