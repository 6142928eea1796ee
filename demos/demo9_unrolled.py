"""Demo 9: Metz et al.'s Figure 2 — a standard GAN against unrolled GANs on the ring of 8 Gaussians.

Metz, Poole, Pfau & Sohl-Dickstein, *Unrolled Generative Adversarial Networks* (ICLR 2017, arXiv
1611.02163), Figure 2: the same GAN trained on a 2-D mixture of 8 Gaussians on a circle, once as a
standard GAN and once with the generator descending the unrolled objective

    θ_D^0 = θ_D,   θ_D^{k+1} = θ_D^k + η · dV(θ_G, θ_D^k)/dθ_D^k      (K steps of D's optimizer)
    f_K(θ_G, θ_D) = V(θ_G, θ_D^K(θ_G, θ_D))                          (G descends df_K/dθ_G)

while D takes its ordinary step from the same state (their Eqs. 10–11;
``minigan.game_updates.Unrolled``, docs/MATH.md §17). The paper's finding: the standard GAN's
generator hops from mode to mode and never covers the ring; unrolled, it spreads over all 8 modes.

Every setting is printed with its source (``SETTINGS``): the paper's Appendix A first, where it is
silent the authors' public notebook (``Unrolled GAN demo.ipynb`` of github.com/poolio/unrolled_gan);
what minigan does otherwise is listed in ``DEVIATIONS``.

    python demos/demo9_unrolled.py [--steps 25000] [--every 5000] [--ks 1,5,10] [--seeds 0]
                                   [--batch 512] [--workers 2] [--docs]
    python demos/demo9_unrolled.py --replot           # the table and figure again from OUT/results.npz
    python demos/demo9_unrolled.py --sweep DIR        # docs/sweeps/game_optimizers.toml, table, figure

Output: unrolled_ring.png (rows: the standard GAN and each K; columns: the generator's samples
at each snapshot, then the data; the 8 means marked), and a table per method and snapshot of
PacGAN's metrics on 2,500 samples (modes covered, % high quality, reverse KL; minigan.metrics)
and the wall time per training step; OUT/results.npz keeps every snapshot's samples and metrics.
``--sweep DIR`` runs (or picks up) the sweep of every game optimizer in DIR through
``minigan.app.sweep`` and draws game_optimizers.png.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import json
import os
import textwrap
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

import minigan
from minigan.backend import get_backend
from minigan.data import make_dataset
from minigan.metrics import assign_modes, evaluate
from minigan.networks import MLP, MLPSpec
from minigan.training import GAN, TrainConfig

NAME = "demo9_unrolled"
FIGURE = "unrolled_ring.png"
RESULTS = "results.npz"  # every run's snapshots: what --replot draws again
PAPER = "paper App. A"
NOTEBOOK = "notebook"
EVAL_SAMPLES = 2500  # PacGAN's metrics on 2,500 samples, as the other demos
SHOW_SAMPLES = 5120  # the notebook's figure: 10 batches of 512 samples a snapshot
SHADES = 12  # levels of the density panels
LIMIT = 3.0  # the panels show [−3, 3]² (the notebook's xmax)
DISTINCT_STDS = 10.0  # two means closer than this many stds are not two modes
ORTHO_GAIN = 0.8  # paper App. A: "all weights initialized to be orthogonal with scaling of 0.8"
D_INPUT_SCALE = 0.25  # paper App. A: D "first scales its input down by a factor of 4"

# (setting, value, source): printed by the demo, quoted in docs/reproductions.md
SETTINGS = [
    ("data", "minigan's ring: 8 Gaussians, radius 2, std 0.02, 8 distinct means", "minigan (see deviations)"),
    ("noise z", "N(0, I_256)", PAPER),
    ("G", "256 -> 128 -> 128 -> 2: two hidden layers of 128 ReLU, linear output", PAPER),
    ("D", "input x/4 -> 128 ReLU -> 1 linear logit (width 128: not stated)", f"{PAPER}; width chosen"),
    ("init", "every weight orthogonal (QR of a Gaussian matrix) x 0.8, biases 0", PAPER),
    ("losses", "V = E log D(x) + E log(1 - D(G(z))); D ascends V, G descends V (g_loss minimax)", PAPER),
    ("optimizer", "Adam lr 1e-4 for G and D, beta1 0.5", PAPER),
    ("", "beta2 0.999, eps 1e-8", NOTEBOOK),
    ("learning rate", "constant (lr_decay 1)", f"{NOTEBOOK}; the paper states no schedule"),
    ("update", "simultaneous: G's and D's steps from one state, k = 1", f"paper Eqs. 10-11; {NOTEBOOK}"),
    ("unrolled D steps", "D's own Adam continued from its moments, on the step's batch", NOTEBOOK),
    ("batch", "512 real and 512 generated samples a step", NOTEBOOK),
    ("steps", "25,000, snapshots every 5,000", NOTEBOOK),
    ("penalty, clipping", "none", PAPER),
    ("metrics", "modes, % high quality (< 3 std), reverse KL on 2,500 samples", "PacGAN (minigan.metrics)"),
]
DEVIATIONS = [
    "D's input scaling: minigan's MLP has no fixed scaling layer, so the 1/4 is folded into D's first "
    "weights at initialization (D is the paper's function at step 0). Adam moves each weight by about "
    "lr whatever its gradient's scale, so D's first layer then learns as the paper's would with a "
    "learning rate 4x larger (1e-4 on W/4 = 4e-4 on W); the alternative, no scaling, has the same "
    "learning rate and also a D 4x steeper at step 0.",
    "Alternating updates: the appendix says G and D updates alternate; Eqs. 10-11 (and the "
    "notebook's loop) take G's unrolled step and D's step from the same state, so every run here, "
    "the standard GAN too, is simultaneous (minigan's mode='simultaneous').",
    "The data: the notebook's ring, np.linspace(0, 2*pi, 8), puts its first and last means on one "
    "point (7 modes) at radius 1, std 0.01; minigan's ring has 8 distinct means at radius 2, std 0.02 "
    "(checked: pairwise distance > 10 std).",
    "The notebook's G lr 1e-3, tanh hidden units, a 2-layer D and orthogonal gain 1.4 are not used: "
    "the paper's lr 1e-4, ReLU, 1-layer D and gain 0.8 rule.",
    "Adam's eps: minigan adds eps to sqrt(v_hat) (PyTorch's placement); TensorFlow and Keras add it "
    "to sqrt(v) with the bias correction folded into lr. With eps 1e-8 the two differ only for "
    "gradients near 1e-8.",
    "float32 NumPy, one BLAS thread; the paper's runs used TensorFlow on a GPU.",
]


# -- the data ----------------------------------------------------------------------------------------
def check_distinct_means(means, std: float, factor: float = DISTINCT_STDS) -> float:
    """The smallest distance between two means (host NumPy (K, d)), or a ValueError naming the two
    means that lie within ``factor``·``std`` of each other: a ring of K means with fewer distinct
    modes (the notebook's np.linspace(0, 2π, 8) puts its first and last on one point)."""
    m = np.asarray(means, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2:
        raise ValueError(f"means: expected an array (K, d) with K >= 2, got shape {m.shape}")
    d = np.sqrt(((m[:, None, :] - m[None, :, :]) ** 2).sum(axis=2))
    d[np.diag_indices_from(d)] = np.inf
    i, j = np.unravel_index(np.argmin(d), d.shape)
    if d[i, j] <= factor * std:
        raise ValueError(
            f"means: means {min(i, j)} and {max(i, j)} are {d[i, j]:.3g} apart, not more than "
            f"{factor:g} std = {factor * std:.3g}: the data has fewer than {m.shape[0]} distinct modes"
        )
    return float(d[i, j])


# -- the networks --------------------------------------------------------------------------------------
def orthogonal(n_in: int, n_out: int, gain: float, rng: np.random.Generator) -> np.ndarray:
    """A (n_in, n_out) matrix with orthonormal columns (n_in >= n_out) or rows, times ``gain``: Q of
    the QR decomposition of a standard normal matrix, its columns' signs fixed by R's diagonal so
    that Q is uniform over the orthogonal matrices (Saxe et al. 2014, arXiv 1312.6120)."""
    a = rng.standard_normal((max(n_in, n_out), min(n_in, n_out)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return gain * (q if n_in >= n_out else q.T)


def paper_networks(backend, seed: int, noise_dim: int = 256, width: int = 128):
    """G (noise_dim → width → width → 2, ReLU) and D (2 → width → 1, ReLU), every weight orthogonal
    × 0.8 and every bias 0, D's input scaling by 1/4 folded into its first weights."""
    rng = np.random.default_rng(seed)
    G = MLP(MLPSpec((noise_dim, width, width, 2), activation="relu"), backend)
    D = MLP(MLPSpec((2, width, 1), activation="relu"), backend)
    for net, first_scale in ((G, 1.0), (D, D_INPUT_SCALE)):
        for i, name in enumerate(n for n in net.params() if n.endswith(".W")):
            n_in, n_out = net.params()[name].shape
            w = orthogonal(n_in, n_out, ORTHO_GAIN, rng) * (first_scale if i == 0 else 1.0)
            net.set_param(name, backend.asarray(w, dtype=backend.float_dtype))
        for name in (n for n in net.params() if n.endswith(".b")):
            net.set_param(name, backend.zeros(net.params()[name].shape))
    return G, D


def paper_config(steps: int, batch: int, seed: int) -> TrainConfig:
    """The run's TrainConfig: the paper's game and optimizer (SETTINGS)."""
    return TrainConfig(
        dataset="ring",
        g_loss="minimax",
        mode="simultaneous",
        k=1,
        penalty=None,
        noise_dim=256,
        g_hidden=(128, 128),
        d_hidden=(128,),
        activation="relu",
        optimizer="adam",
        g_lr=1e-4,
        d_lr=1e-4,
        betas=(0.5, 0.999),
        lr_decay=1.0,
        batch_size=batch,
        steps=steps,
        seed=seed,
        log_every=100,
    )


def method_name(k: int) -> str:
    return "standard GAN" if k == 0 else f"unrolled K={k}"


def make_gan(k: int, steps: int, batch: int, seed: int) -> GAN:
    """The GAN of method ``k`` (0: the standard GAN, plain simultaneous steps; else unrolled K = k)."""
    backend = get_backend("numpy")
    G, D = paper_networks(backend, seed)
    update = None
    if k:
        from minigan.game_updates import Unrolled

        update = Unrolled(steps=k)
    return GAN(paper_config(steps, batch, seed), G=G, D=D, update=update)


def run_method(job) -> dict:
    """Train one method on one seed: ``job`` = (k, seed, steps, every, batch). Returns its snapshots
    (step, samples to draw, metrics) and its training time (wall seconds in ``GAN.train``)."""
    k, seed, steps, every, batch = job
    gan = make_gan(k, steps, batch, seed)
    check_distinct_means(gan.data.means, gan.data.std)
    snaps = []
    while True:
        m = evaluate(gan, EVAL_SAMPLES)
        show = gan.sample(SHOW_SAMPLES, seed=1000 + seed)
        snaps.append({"step": gan.step, "metrics": _plain(m), "samples": show.astype(np.float32)})
        if gan.step >= steps:
            break
        gan.train(min(every, steps - gan.step))
    return {"k": k, "seed": seed, "snapshots": snaps, "seconds": gan.seconds, "steps": gan.step}


def run_all(jobs, workers: int) -> list[dict]:
    """``run_method`` of each job, in ``workers`` processes (or this one); a line as each ends."""

    def said(r: dict) -> dict:
        m = r["snapshots"][-1]["metrics"]
        print(
            f"  {method_name(r['k'])}, seed {r['seed']}: step {r['steps']:,}, {m['modes']}/8 modes, "
            f"{m['hq']:.1f} % high quality; {r['seconds']:.0f} s of training",
            flush=True,
        )
        return r

    if workers == 1:
        return [said(run_method(j)) for j in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return [said(f.result()) for f in as_completed([pool.submit(run_method, j) for j in jobs])]


def _plain(m: dict) -> dict:
    return {"modes": int(m["modes_covered"]), "hq": 100 * float(m["high_quality"]), "kl": float(m["kl"])}


# -- the figure and the table ---------------------------------------------------------------------------
def density(x: np.ndarray, bins: int = 120, bandwidth: float = 0.08) -> np.ndarray:
    """The samples x (N, 2) as a density on [−LIMIT, LIMIT]² (bins × bins, rows y): their 2-D
    histogram smoothed by a Gaussian of std ``bandwidth`` (a kernel density estimate on the grid,
    as the notebook's figure draws one; a mode of std 0.02 shows as a spot of std about 0.08)."""
    edges = np.linspace(-LIMIT, LIMIT, bins + 1)
    h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
    sigma = bandwidth / (edges[1] - edges[0])
    t = np.arange(-int(4 * sigma) - 1, int(4 * sigma) + 2)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in (0, 1):
        h = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), axis, h)
    return h.T


def shades(x: np.ndarray) -> np.ndarray:
    """√density of the samples x, scaled to its maximum and cut into SHADES levels (as the
    notebook's KDE contours are; flat shades also keep the figure's PNG small)."""
    d = np.sqrt(density(x))
    return np.floor(SHADES * d / max(float(d.max()), 1e-12)) / SHADES


def draw(results, data_samples, means, args):
    """Rows: the methods of the first seed; columns: the snapshots, then the data."""
    plt = _common.pyplot()
    seed = results[0]["seed"]
    rows = [r for r in results if r["seed"] == seed]
    cols = len(rows[0]["snapshots"]) + 1
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.55 * cols, 1.62 * len(rows)), squeeze=False)
    cmap = plt.get_cmap("Greens", SHADES)
    for i, r in enumerate(rows):
        panels = [(s["samples"], s) for s in r["snapshots"]] + [(data_samples, None)]
        for j, (x, s) in enumerate(panels):
            ax = axes[i, j]
            box = (-LIMIT, LIMIT, -LIMIT, LIMIT)
            ax.imshow(
                shades(x), origin="lower", extent=box, cmap=cmap, vmin=0, vmax=1, interpolation="nearest"
            )
            ax.scatter(means[:, 0], means[:, 1], s=30, facecolors="none", edgecolors="C3", linewidths=0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if i == 0:
                ax.set_title("data" if s is None else f"step {s['step']:,}")
            if s is not None:
                m = s["metrics"]
                ax.set_xlabel(f"{m['modes']}/8 modes, {m['hq']:.0f} %", fontsize=7)
        axes[i, 0].set_ylabel(method_name(r["k"]))
    fig.suptitle(
        f"Metz et al. Figure 2 with minigan: ring of 8 Gaussians, seed {seed}; "
        "under each panel: modes covered, % high quality (2,500 samples)",
        fontsize=8.5,
    )
    fig.tight_layout()
    return _common.save(fig, args, FIGURE)


def table_rows(results, ks):
    """Per method and snapshot: modes, % high quality, reverse KL (mean ± std over seeds)."""
    rows = []
    for k in ks:
        runs = [r for r in results if r["k"] == k]
        for idx, s in enumerate(runs[0]["snapshots"]):
            vals = {
                q: np.array([r["snapshots"][idx]["metrics"][q] for r in runs]) for q in ("modes", "hq", "kl")
            }
            rows.append([method_name(k), f"{s['step']:,}", *(_pm(vals[q], q) for q in ("modes", "hq", "kl"))])
    return rows


def _pm(v: np.ndarray, q: str) -> str:
    """One seed's value, or mean ± std over seeds (the finite values: KL is NaN without a
    high-quality sample)."""
    fmt = ".3f" if q == "kl" else ".1f" if v.size > 1 or q == "hq" else ".0f"
    return f"{float(v[0]):{fmt}}" if v.size == 1 else _ms(v.astype(float), fmt)


# -- the sweep of every game optimizer (--sweep) ---------------------------------------------------------
SWEEP_SPEC = _common.ROOT / "docs" / "sweeps" / "game_optimizers.toml"
SWEEP_FIGURE = "game_optimizers.png"
SHORT = {  # the bar charts' labels
    "alternating": "alt",
    "simultaneous": "sim",
    "extragradient": "EG",
    "optimistic": "OG",
    "consensus": "cons",
    "unrolled-K5": "U5",
    "unrolled-K5-minimax": "U5 mm",
}
TITLES = {"unrolled-K5": "unrolled K=5", "unrolled-K5-minimax": "unrolled K=5,\nminimax loss"}


def sweep_spec(quick: bool):
    """docs/sweeps/game_optimizers.toml; with ``quick``, 20 steps and one seed."""
    from minigan.app import sweep

    spec = sweep.load_spec(SWEEP_SPEC)
    if not quick:
        return spec
    axes = [(name, values[:1] if name == "seed" else values) for name, values in spec.axes]
    return sweep.make_spec({**spec.base, "steps": 20}, axes, spec.run, spec.name)


def run_game_sweep(args) -> dict:
    """Run (or pick up) the sweep in ``args.sweep`` through ``minigan.app.sweep``, then print its
    table (per method and data set: mean ± std over seeds) and draw game_optimizers.png."""
    from minigan.app import sweep

    spec = sweep_spec(args.quick)
    res = sweep.run_sweep(
        spec,
        args.sweep,
        use_dask=None if args.workers > 1 else False,
        workers=args.workers,
        quiet=args.quick,
        figure=False,
        command=f"demos/{NAME}.py --sweep",
    )
    methods = [sweep.label(v) for v in dict(spec.axes)["method"]]
    datasets = list(dict(spec.axes)["dataset"])
    cells: dict = {}
    for p, row in zip(res.points, res.rows):
        ok = row["status"] == "done"
        m = {k: row[k] for k in ("modes_covered", "modes", "high_quality", "kl")} if ok else None
        x = (
            minigan.load(os.path.join(args.sweep, "runs", p.name)).sample(EVAL_SAMPLES, seed=12345)
            if ok
            else None
        )
        cells.setdefault((p.values["method"], p.values["dataset"]), []).append(
            {"seed": int(p.values["seed"]), "metrics": m, "samples": x, "seconds": row["train_seconds"]}
        )
    print(
        _common.table(
            ["method", "data", "runs done", "modes", "% high quality", "reverse KL", "s / run"],
            sweep_rows(cells, methods, datasets),
        )
    )
    draw_sweep(cells, methods, datasets, args)
    return {"cells": cells, "methods": methods, "datasets": datasets, "seconds": res.seconds}


def sweep_rows(cells, methods, datasets):
    rows = []
    for d in datasets:
        for m in methods:
            runs = cells[(m, d)]
            done = [r for r in runs if r["metrics"] is not None]
            if not done:
                rows.append([m, d, f"0/{len(runs)}", "-", "-", "-", "-"])
                continue
            v = {
                k: np.array([r["metrics"][k] for r in done], dtype=float)
                for k in ("modes_covered", "high_quality", "kl")
            }
            secs = np.mean([float(r["seconds"]) for r in done])
            rows.append(
                [
                    m,
                    d,
                    f"{len(done)}/{len(runs)}",
                    f"{_ms(v['modes_covered'], '.1f')} / {done[0]['metrics']['modes']}",
                    _ms(100 * v["high_quality"], ".1f"),
                    _ms(v["kl"], ".3f"),
                    f"{secs:.0f}",
                ]
            )
    return rows


def _ms(v: np.ndarray, fmt: str) -> str:
    """mean ± std of the finite values of v (NaN: a run with no high-quality sample has no KL)."""
    v = v[np.isfinite(v)]
    return f"{v.mean():{fmt}} ± {v.std():{fmt}}" if v.size else "-"


def draw_sweep(cells, methods, datasets, args):
    """Per data set (rows): the first seed's final samples under each method, then modes covered
    and % high quality (mean ± std over seeds as a bar, each seed a dot)."""

    plt = _common.pyplot()
    n = len(methods)
    fig, axes = plt.subplots(
        len(datasets),
        n + 2,
        figsize=(1.7 * n + 7.4, 1.9 * len(datasets)),
        squeeze=False,
        gridspec_kw={"width_ratios": [1] * n + [2.5, 2.5]},
    )
    b = get_backend("numpy")
    for i, d in enumerate(datasets):
        means = make_dataset(d, b, b.random(0)).means
        lim = 1.25 * np.abs(means).max() + 0.3
        for j, m in enumerate(methods):
            ax, run = axes[i, j], cells[(m, d)][0]
            if run["samples"] is not None:
                x = run["samples"]
                ax.scatter(x[:, 0], x[:, 1], s=1.5, c="darkgreen", alpha=0.4, linewidths=0)
                mm = run["metrics"]
                ax.set_xlabel(
                    f"{mm['modes_covered']}/{mm['modes']} modes, {100 * mm['high_quality']:.0f} %", fontsize=7
                )
            ax.scatter(means[:, 0], means[:, 1], s=25, facecolors="none", edgecolors="C3", linewidths=0.5)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            if i == 0:
                ax.set_title(TITLES.get(m, m))
            if j == 0:
                ax.set_ylabel(f"{d}, seed {run['seed']}")
        for ax, key, title, scale in (
            (axes[i, n], "modes_covered", "modes covered", 1.0),
            (axes[i, n + 1], "high_quality", "% high quality", 100.0),
        ):
            for j, m in enumerate(methods):
                vals = [scale * r["metrics"][key] for r in cells[(m, d)] if r["metrics"] is not None]
                if vals:
                    ax.bar(
                        j, np.mean(vals), yerr=np.std(vals), color="C0", alpha=0.35, capsize=2, ecolor="C0"
                    )
                    ax.scatter(j + np.linspace(-0.15, 0.15, len(vals)), vals, s=6, c="C0")
            if key == "modes_covered":
                ax.axhline(len(means), color="C3", lw=0.8, ls="--")
                ax.set_ylim(0, 1.08 * len(means))
            ax.set_xticks(range(n))
            ax.set_xticklabels([SHORT.get(m, m) for m in methods], fontsize=7)
            ax.set_title(f"{d}: {title}")
    seeds = sorted({r["seed"] for v in cells.values() for r in v})
    fig.suptitle(
        f"minigan's game optimizers, {len(seeds)} seed(s): samples of the first seed; "
        "bars mean ± std over seeds, dots the seeds",
        fontsize=8.5,
    )
    fig.tight_layout()
    return _common.save(fig, args, SWEEP_FIGURE)


def print_settings():
    """SETTINGS as left-aligned columns, then DEVIATIONS."""
    w = [max(len(row[i]) for row in SETTINGS) for i in range(2)]
    print("Metz et al. 2017, Figure 2: the settings and their sources")
    for name, value, source in SETTINGS:
        print(f"  {name.ljust(w[0])}  {value.ljust(w[1])}  [{source}]")
    print("Deviations from the paper:")
    for d in DEVIATIONS:
        print(textwrap.fill(d, 100, initial_indent="  - ", subsequent_indent="    "))


def mass(x: np.ndarray, means: np.ndarray) -> str:
    """``i (p %)``: the mode i nearest to the most samples x (N, 2), and their share p."""
    k, _ = assign_modes(x, means, 1.0)
    counts = np.bincount(k, minlength=len(means))
    return f"{int(np.argmax(counts))} ({100 * counts.max() / len(k):.0f} %)"


def report(results, ks, seeds):
    """The table per method and snapshot, and the wall time of each method's training."""
    print(
        f"\nPacGAN's metrics on {EVAL_SAMPLES:,} samples"
        + (f", mean ± std over seeds {seeds}" if len(seeds) > 1 else f", seed {seeds[0]}")
    )
    print(
        _common.table(
            ["method", "step", "modes (of 8)", "% high quality", "reverse KL"], table_rows(results, ks)
        )
    )
    print(
        f"\nwhere G's samples sit: at each snapshot the mode nearest to most of the {SHOW_SAMPLES:,} "
        "drawn samples (mode i at angle 2πi/8) and their share"
    )
    b = get_backend("numpy")
    means = make_dataset("ring", b, b.random(0)).means
    for r in results:
        print(
            f"  {method_name(r['k'])}, seed {r['seed']}: "
            + ", ".join(mass(s["samples"], means) for s in r["snapshots"])
        )
    print("\nwall time of training (evaluation and figure apart)")
    timing = []
    for k in ks:
        runs = [r for r in results if r["k"] == k]
        ms = np.array([1000 * r["seconds"] / max(r["steps"], 1) for r in runs])
        timing.append(
            [method_name(k), f"{ms.mean():.2f}", f"{sum(r['seconds'] for r in runs) / len(runs):.0f}"]
        )
    print(_common.table(["method", "ms / step", "s / run"], timing))


def _ints(p, text: str, option: str, low: int) -> list[int]:
    """Comma-separated integers >= ``low``; else the parser's error (one line, exit code 2)."""
    try:
        vals = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        p.error(f"{option}: expected comma-separated integers, got {text!r}")
    if any(v < low for v in vals):
        p.error(f"{option}: expected integers >= {low}, got {text!r}")
    return vals


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=25_000, help="training steps per run (notebook: 25,000)")
    p.add_argument("--every", type=int, default=5_000, help="steps between snapshots (notebook: 5,000)")
    p.add_argument("--ks", default="1,5,10", help="unrolling steps K, comma-separated (paper: 1,5,10)")
    p.add_argument(
        "--seeds", default=None, help="seeds, comma-separated (default: --seed); the figure: the first"
    )
    p.add_argument("--batch", type=int, default=512, help="batch size m (notebook: 512)")
    p.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes, one run each (default 2)"
    )
    p.add_argument(
        "--sweep",
        type=str,
        default=None,
        metavar="DIR",
        help="instead: run or pick up docs/sweeps/game_optimizers.toml in DIR, print its table, "
        "draw game_optimizers.png",
    )
    p.add_argument(
        "--replot",
        action="store_true",
        help="train nothing: print the table and draw the figure again from OUT/results.npz",
    )
    args = p.parse_args(argv)
    if args.replot:
        if not (args.out / RESULTS).is_file():
            p.error(f"--replot: no {args.out / RESULTS}; run the demo with this --out first")
        return replot(args)
    if args.sweep is not None:
        if args.quick:
            args.workers = 1
        from minigan.app.sweep import SpecError

        try:
            return run_game_sweep(args)
        except SpecError as e:  # DIR holds another spec's sweep, or a run of another config
            p.error(f"--sweep: {e}")
    ks = list(dict.fromkeys([0, *_ints(p, args.ks, "--ks", 1)]))
    seeds = _ints(p, args.seeds, "--seeds", 0) if args.seeds is not None else [args.seed]
    seeds = list(dict.fromkeys(seeds))
    if not seeds:
        p.error(f"--seeds: expected at least one seed, got {args.seeds!r}")
    if args.quick:
        args.steps, args.every, args.batch, args.workers = 40, 20, 64, 1
        ks = ks[:3]  # the standard GAN, K = 1 and one K > 1: the backward sweep runs too
    for name in ("steps", "every", "batch", "workers"):
        if getattr(args, name) < 1:
            p.error(f"--{name}: expected a positive integer, got {getattr(args, name)}")

    print_settings()
    probe = make_gan(0, 0, args.batch, seeds[0])
    means, std = probe.data.means, probe.data.std
    gap = check_distinct_means(means, std)  # the data every run trains on (run_method checks it too)
    print(
        f"\nring: {len(means)} means, closest two {gap:.3f} apart > {DISTINCT_STDS:g} std = "
        f"{DISTINCT_STDS * std:.2f}: {len(means)} distinct modes"
    )
    jobs = [(k, s, args.steps, args.every, args.batch) for k in sorted(ks, reverse=True) for s in seeds]
    print(
        f"{len(jobs)} runs ({', '.join(method_name(k) for k in ks)}; seeds {seeds}) of {args.steps:,} "
        f"steps, batch {args.batch}, snapshots every {args.every:,}, {args.workers} process(es)\n",
        flush=True,
    )
    with _common.Timer() as t:
        done = run_all(jobs, args.workers)
    results = sorted(done, key=lambda r: (seeds.index(r["seed"]), ks.index(r["k"])))

    save_results(args.out / RESULTS, results, ks, seeds, t.seconds)
    return finish(results, ks, seeds, t.seconds, args)


def finish(results, ks, seeds, seconds: float, args) -> dict:
    """The table, the timings and the figure of finished runs."""
    report(results, ks, seeds)
    print(f"all runs: {seconds:.0f} s of wall time")
    b = get_backend("numpy")
    ring = make_dataset("ring", b, b.random(0))
    draw(results, ring.reference(SHOW_SAMPLES, seed=7), ring.means, args)
    return {"results": results, "ks": ks, "seeds": seeds, "means": ring.means, "seconds": seconds}


def save_results(path, results, ks, seeds, seconds: float) -> None:
    """Every run's snapshots — metrics and the samples drawn — as OUT/results.npz (``--replot``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "ks": ks,
        "seeds": seeds,
        "seconds": seconds,
        "runs": [
            {
                **{k: r[k] for k in ("k", "seed", "seconds", "steps")},
                "snapshots": [{"step": s["step"], "metrics": s["metrics"]} for s in r["snapshots"]],
            }
            for r in results
        ],
    }
    samples = np.stack([np.stack([s["samples"] for s in r["snapshots"]]) for r in results])
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), samples=samples)
    print(f"saved {path}")


def replot(args) -> dict:
    """The table and the figure again from OUT/results.npz, nothing trained."""
    with np.load(args.out / RESULTS) as f:
        meta, samples = json.loads(str(f["meta"])), f["samples"]
    results = [
        {**r, "snapshots": [{**s, "samples": x} for s, x in zip(r["snapshots"], xs)]}
        for r, xs in zip(meta["runs"], samples)
    ]
    return finish(results, meta["ks"], meta["seeds"], meta["seconds"], args)


if __name__ == "__main__":
    main()
