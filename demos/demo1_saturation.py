"""Demo 1: why the generator loss was changed (Goodfellow et al. 2014, Sec. 3; docs/MATH.md §3).

"Early in learning, when G is poor, D can reject samples with high confidence [...]
log(1 − D(G(z))) saturates. Rather than training G to minimize log(1 − D(G(z))) we can
train G to maximize log D(G(z))."

With the logit l (D = σ(l)):
    minimax        L_G^mm = log(1 − D) = −sp(l),   ∂L/∂l = −σ(l)     = −D      → 0 as D → 0
    non-saturating L_G^ns = −log D     =  sp(−l),  ∂L/∂l = σ(l) − 1  = −(1 − D) → −1 as D → 0
    max. likelihood L_G^ml = −½ e^l   = −½ D/(1 − D), ∂L/∂l = −½ e^l  → 0 as D → 0
    (the third cost of Goodfellow's NIPS 2016 tutorial, arXiv 1701.00160, §3.2.3 and its Figure 16;
    drawn in (a) and (b) only: like minimax it saturates, and it puts almost all the gradient on the
    samples D already believes)

Left: the two losses and the magnitude of their logit gradients against D(G(z)).
Right, measured: a 1-D GAN (data N(8, 0.5²), G's first samples near 0) whose D is first
trained alone until it rejects G's samples and then kept ahead (k = 5 D steps per G step);
the same run (same initial weights, same random stream) continued under each loss, G
trained with SGD + momentum (the paper's optimizer): G's gradient norm over the first
steps, and where G's samples go, over a few seeds.

    python demos/demo1_saturation.py [--steps 300] [--d-steps 1000] [--k 5] [--seeds 4]
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import numpy as np

from minigan.optim import make_optimizer
from minigan.training import GAN, HISTORY, TrainConfig

NAME = "demo1_saturation"


def run(loss, seed, args):
    cfg = TrainConfig(
        dataset="gaussian",
        data_params={"mean": 8.0, "std": 0.5},
        noise_dim=1,
        g_hidden=(32, 32),
        d_hidden=(32, 32),
        batch_size=128,
        g_loss=loss,
        k=args.k,
        optimizer="adam",
        d_lr=3e-3,
        lr_decay=1.0,
        seed=seed,
        log_every=10,
        penalty=None,
    )
    # D trained ahead: alone first (Adam, to get it confident fast; G frozen), then k D steps
    # per G step; G itself is trained by ``args.optimizer``
    lr = args.lr if args.lr is not None else (0.01 if args.optimizer == "sgd" else 1e-3)
    gan = GAN(cfg, g_opt=make_optimizer(args.optimizer, lr, momentum=0.5))
    _common.train_discriminator_only(gan, args.d_steps)
    means = [float(np.mean(gan.sample(512, seed=1)))]
    for _ in range(args.steps):
        gan.train_step()
        means.append(float(np.mean(gan.sample(512, seed=1))))
    h = gan.history_array()
    return {
        "grad_norm_G": h[:, HISTORY.index("grad_norm_G")],
        "D_fake": h[:, HISTORY.index("D_fake")],
        "mean_G": np.array(means),
    }


def geo_mean(v):
    return float(np.exp(np.mean(np.log(np.maximum(v, 1e-30)))))


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="G steps measured under each loss")
    p.add_argument("--d-steps", type=int, default=1000, help="steps of D alone first (D trained ahead)")
    p.add_argument("--k", type=int, default=5, help="D steps per G step during the measured run")
    p.add_argument("--seeds", type=int, default=4, help="runs per loss (seeds 0..n-1 after --seed)")
    p.add_argument(
        "--optimizer",
        default="sgd",
        choices=("sgd", "adam"),
        help="G's optimizer (sgd: momentum 0.5, the paper's)",
    )
    p.add_argument("--lr", type=float, default=None, help="G's learning rate (default 0.01 sgd, 1e-3 adam)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.d_steps, args.seeds = min(args.steps, 20), min(args.d_steps, 50), min(args.seeds, 1)
    plt = _common.pyplot()

    seeds = [args.seed + i for i in range(args.seeds)]
    with _common.Timer() as t:
        res = {loss: [run(loss, s, args) for s in seeds] for loss in ("minimax", "nonsaturating")}

    # ---- numbers ------------------------------------------------------------------------
    print(
        f"data N(8, 0.5²); D trained alone for {args.d_steps} steps, then k = {args.k} D steps per G step; "
        f"G: {args.optimizer}; {args.steps} G steps per loss and seed ({t.seconds:.1f} s)"
    )
    w = min(100, args.steps)
    rows = []
    for i, s in enumerate(seeds):
        mm, ns = res["minimax"][i], res["nonsaturating"][i]
        rows.append(
            [
                s,
                float(mm["D_fake"][0]),
                float(mm["grad_norm_G"][0]),
                float(ns["grad_norm_G"][0]),
                geo_mean(mm["grad_norm_G"][:w]),
                geo_mean(ns["grad_norm_G"][:w]),
                float(mm["mean_G"][-1]),
                float(ns["mean_G"][-1]),
            ]
        )
    print(
        _common.table(
            [
                "seed",
                "D(G(z)) step 1",
                "|∇G| mm step 1",
                "|∇G| ns step 1",
                f"mm geo-mean 1..{w}",
                f"ns geo-mean 1..{w}",
                "E[G(z)] mm end",
                "E[G(z)] ns end",
            ],
            rows,
            "{:.3g}",
        )
    )
    r = np.array(rows)
    print(
        f"step 1, median over seeds: the non-saturating gradient is {np.median(r[:, 3] / r[:, 2]):.0f}x the "
        f"minimax one (per sample the logit gradients are 1 − D vs D); over steps 1..{w}: "
        f"{np.median(r[:, 5] / r[:, 4]):.0f}x (geometric means). Data mean: 8."
    )
    print(
        "lesson: against a confident D the minimax loss gives G almost no gradient; the non-saturating "
        "loss has the same fixed point (D = ½) but a strong gradient exactly when G is poor."
    )
    if args.optimizer == "adam":
        print(
            "note: Adam divides each update by a running RMS of the gradient, which hides much of the "
            "saturation in the steps taken (not in the gradient itself)."
        )

    # ---- figure -------------------------------------------------------------------------
    fig, ax = plt.subplots(1, 4, figsize=(15, 3.4))
    d = np.linspace(1e-3, 1 - 1e-3, 400)
    ax[0].plot(d, np.log(1 - d), label="minimax: log(1 − D)")
    ax[0].plot(d, -np.log(d), label="non-saturating: −log D")
    ax[0].plot(d, -0.5 * d / (1 - d), label="maximum likelihood: −½·D/(1 − D)")
    ax[0].set_ylim(-6, 7)
    ax[0].axvspan(0, 0.1, color="0.85", label="early training: D(G(z)) ≈ 0")
    ax[0].set(
        xlabel="D(G(z))",
        ylabel="generator loss (minimised)",
        title="(a) three generator losses (tutorial Fig. 16)",
    )
    ax[0].legend()
    dl = np.logspace(-4, 0, 200)[:-1]
    ax[1].loglog(dl, dl, label="minimax: |∂L/∂l| = D")
    ax[1].loglog(dl, 1 - dl, label="non-saturating: |∂L/∂l| = 1 − D")
    ax[1].loglog(dl, 0.5 * dl / (1 - dl), label="max. likelihood: |∂L/∂l| = ½D/(1 − D)")
    ax[1].set(xlabel="D(G(z))", ylabel="|gradient w.r.t. the logit l|", title="(b) their gradients")
    ax[1].legend()
    steps = np.arange(1, args.steps + 1)
    for loss, color in (("minimax", "C0"), ("nonsaturating", "C1")):
        for i, r_ in enumerate(res[loss]):
            label = ("minimax" if loss == "minimax" else "non-saturating") if i == 0 else None
            ax[2].semilogy(
                steps,
                _common.moving_average(r_["grad_norm_G"], 5),
                color=color,
                alpha=1.0 if i == 0 else 0.35,
                lw=1.2 if i == 0 else 0.8,
                label=label,
            )
            ax[3].plot(
                np.arange(args.steps + 1),
                r_["mean_G"],
                color=color,
                alpha=1.0 if i == 0 else 0.35,
                lw=1.2 if i == 0 else 0.8,
                label=label,
            )
    ax[2].set(
        xlabel="G step (D trained ahead)",
        ylabel="‖∇θg L_G‖ (5-step mean)",
        title=f"(c) measured: G's gradient norm, {len(seeds)} seeds",
    )
    ax[2].legend()
    ax[3].axhline(8.0, color="k", ls=":", label="data mean")
    ax[3].set(xlabel="G step", ylabel="mean of G(z)", title="(d) where G's samples go")
    ax[3].legend()
    fig.tight_layout()
    _common.save(fig, args, "saturation.png")
    return {"results": res, "table": rows, "seconds": t.seconds}


if __name__ == "__main__":
    main()
