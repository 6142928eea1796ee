"""Demo 4: the min-max value is not the total loss, and neither is a quality score (the seed article).

One GAN on the 8-Gaussian ring (non-saturating G, Adam). Every step minigan records, on
the step's discriminator batch (l_r, l_f = D's logits on real and generated samples):

    L_D     = mean sp(−l_r) + mean sp(l_f)        D's binary cross-entropy   (equilibrium log 4)
    L_G^ns  = mean sp(−l_f) = −mean log D(G(z))   G's non-saturating loss    (equilibrium log 2)
    total   = L_D + L_G^ns                        the article's total loss   (equilibrium 3 log 2)
    V       = −L_D                                the min-max value function (equilibrium −log 4)

(equilibrium: D ≡ ½, docs/MATH.md §4). Beside them, the sample quality the losses do not show:
PacGAN's modes covered and % high-quality samples (minigan.metrics) on 2,500 samples.

    python demos/demo4_total_loss.py [--steps 4000] [--eval-every 250] [--dataset ring]
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import numpy as np

from minigan.metrics import evaluate
from minigan.training import GAN, HISTORY, TrainConfig, equilibrium_values

NAME = "demo4_total_loss"
CURVES = [
    ("L_D", "L_D (D's loss)", "log 4"),
    ("L_G_ns", "L_G^ns (G's loss)", "log 2"),
    ("total", "total = L_D + L_G^ns", "3 log 2"),
    ("V", "V(D, G) = −L_D (min-max value)", "−log 4"),
]


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4000, help="training steps (default 4000)")
    p.add_argument("--eval-every", type=int, default=250, help="steps between quality evaluations")
    p.add_argument("--dataset", default="ring", choices=("ring", "grid"), help="2-D mixture (default ring)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.eval_every = min(args.steps, 20), min(args.eval_every, 10)
    plt = _common.pyplot()

    gan = GAN(
        TrainConfig(
            dataset=args.dataset,
            g_hidden=(128, 128),
            lr_decay=1.0,
            seed=args.seed,
            log_every=50,
            penalty=None,
        )
    )
    evals = []
    with _common.Timer() as t:
        evals.append(evaluate(gan, n=2500))
        while gan.step < args.steps:
            gan.train(min(args.eval_every, args.steps - gan.step))
            evals.append(evaluate(gan, n=2500))
    h = gan.history_array()
    eq = equilibrium_values()
    col = {name: h[:, HISTORY.index(name)] for name in ("L_D", "L_G_ns", "total", "V", "D_real", "D_fake")}

    # ---- numbers ------------------------------------------------------------------------
    print(
        f"{args.dataset}, {args.steps} steps in {t.seconds:.1f} s (non-saturating G, mode fresh, k = 1, Adam)"
    )
    w = max(1, args.eval_every // 2)
    rows = []
    for e in evals[1:]:
        s = e["step"]
        sl = slice(max(0, s - w), s)
        rows.append(
            [s]
            + [float(col[k][sl].mean()) for k, _, _ in CURVES]
            + [f"{e['modes_covered']}/{e['modes']}", f"{100 * e['high_quality']:.1f}"]
        )
    print(f"losses: means over the {w} steps before each evaluation")
    print(_common.table(["step", "L_D", "L_G^ns", "total", "V", "modes", "% high quality"], rows, "{:.3f}"))
    print("equilibrium (D = 1/2): " + ", ".join(f"{k} {eq[k]:.4f}" for k, _, _ in CURVES))
    r = np.array([[row[3], float(row[6])] for row in rows], dtype=float)
    near = int(np.argmin(np.abs(r[:, 0] - eq["total"])))
    print(
        f"the total loss was nearest its equilibrium 3 log 2 at step {rows[near][0]} ({r[near, 0]:.3f}), "
        f"with {r[near, 1]:.1f} % high-quality samples; the best quality, {r[:, 1].max():.1f} %, "
        f"came at step {rows[int(np.argmax(r[:, 1]))][0]} (total {r[int(np.argmax(r[:, 1])), 0]:.3f})"
    )
    if r.shape[0] >= 3 and np.std(r[:, 0]) > 0 and np.std(r[:, 1]) > 0:
        corr = float(np.corrcoef(r[:, 0], r[:, 1])[0, 1])
        print(
            f"correlation of the total loss with % high quality over the evaluations: {corr:+.2f} "
            "(a loss that tracked quality would be strongly negative)"
        )
    print("what each tells you, and what it does not:")
    print(
        "  L_D     how well THIS D separates real from fake now; near log 4 it cannot. Not whether G is good:"
    )
    print("          a weak or lagging D also sits at log 4.")
    print(
        "  L_G^ns  how well G fools THIS D (log 2: D(G(z)) ~ 1/2). Low values can mean D is poor, not G good."
    )
    print("  total   L_D + L_G^ns: both minimised, both in [0, inf), so the sum is a consistent number (the")
    print("          article's point); but no player minimises it, and at equilibrium it is 3 log 2, not 0.")
    print(
        "  V       the min-max objective: D ascends it, G descends it; it is just -L_D, so it shows D's side"
    )
    print(
        "          only. With an optimal D it equals -log 4 + 2 JSD (demo 3); with a real D, a lower bound."
    )
    print(
        "lesson: GAN losses oscillate around their equilibrium values instead of decreasing; judge G by its"
    )
    print("        samples (modes, quality), not by the loss curves.")

    # ---- figure -------------------------------------------------------------------------
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.2))
    ax = axes.ravel()
    steps = np.arange(1, h.shape[0] + 1)
    smooth = max(1, min(50, h.shape[0] // 20))
    for i, (key, label, eqname) in enumerate(CURVES):
        ax[i].plot(steps, col[key], color="0.75", lw=0.5)
        ax[i].plot(
            steps,
            _common.moving_average(col[key], smooth),
            color=f"C{i}",
            lw=1.2,
            label=f"{label}, {smooth}-step mean",
        )
        ax[i].axhline(eq[key], color="k", ls="--", lw=1, label=f"equilibrium {eqname} = {eq[key]:.3f}")
        ax[i].set(xlabel="step", title=label)
        ax[i].legend(loc="best")
    es = [e["step"] for e in evals]
    ax[4].plot(es, [100 * e["high_quality"] for e in evals], "o-", ms=3, color="C4", label="% high quality")
    ax[4].set(xlabel="step", ylabel="% high-quality samples", title="what the losses do not show: quality")
    ax4b = ax[4].twinx()
    ax4b.plot(es, [e["modes_covered"] for e in evals], "s--", ms=3, color="C5", label="modes covered")
    ax4b.set_ylabel(f"modes covered (of {evals[0]['modes']})")
    ax4b.set_ylim(0, evals[0]["modes"] + 0.5)
    ax4b.grid(False)
    lines = ax[4].get_legend_handles_labels(), ax4b.get_legend_handles_labels()
    ax[4].legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], loc="lower right")
    x = gan.sample(2500, seed=7)
    ax[5].scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, label="G(z)")
    ax[5].scatter(gan.data.means[:, 0], gan.data.means[:, 1], marker="x", color="r", s=30, label="modes")
    ax[5].set(title=f"samples at step {gan.step}", aspect="equal")
    ax[5].legend(loc="upper right")
    fig.tight_layout()
    _common.save(fig, args, "total_loss.png")
    return {"history": h, "evals": evals, "rows": rows, "seconds": t.seconds}


if __name__ == "__main__":
    main()
