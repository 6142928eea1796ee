"""Demo 3: Proposition 1 and Theorem 1, measured (Goodfellow et al. 2014, Sec. 4; docs/MATH.md §10).

Fix p_data and p_g — two known 1-D densities; p_g is sampled directly, no generator —
and train only D (a minigan MLP with minigan's binary cross-entropy loss L_D = −V and its
Adam) on minibatches from both. Theory says the best D is

    D*(x) = p_data(x) / (p_data(x) + p_g(x))                         (Proposition 1)

and the value it reaches is

    max_D V(D, G) = −log 4 + 2·JSD(p_data ‖ p_g) = C(G)                (Theorem 1).

For each pair the table gives C(G) from the JSD (quadrature), max_D V computed directly
as ∫ p_data log D* + p_g log(1 − D*), the trained D's V(D, G) (quadrature over the
known densities, and a Monte Carlo estimate on fresh samples), the gap C(G) − V(D, G)
(≥ 0 for every D) and the mean |D − D*| under (p_data + p_g)/2.

    python demos/demo3_optimal_d.py [--steps 2000] [--batch 256]
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import math

import numpy as np

from minigan import losses, theory
from minigan.backend import get_backend
from minigan.networks import MLP, MLPSpec
from minigan.optim import make_optimizer
from minigan.theory import LOG2, LOG4, Mixture, Normal, Uniform

NAME = "demo3_optimal_d"

# (label, p_data, p_g, closed-form C(G) or None)
PAIRS = [
    ("identical", Normal(0, 1), Normal(0, 1), -LOG4),
    ("shifted by 1", Normal(0, 1), Normal(1, 1), None),
    ("wider p_g", Normal(0, 1), Normal(0, 2), None),
    ("shifted by 3", Normal(0, 1), Normal(3, 1), None),
    ("half-overlapping uniforms", Uniform(0, 1), Uniform(0.5, 1.5), -LOG4 + 2 * 0.5 * LOG2),
    ("disjoint uniforms", Uniform(0, 1), Uniform(2, 3), 0.0),
    ("bimodal vs unimodal", Mixture([Normal(-2, 0.5), Normal(2, 0.5)]), Normal(0, 1.5), None),
]


def train_d(p_data, p_g, args, seed):
    """A 1 → 64 → 64 → 1 leaky-ReLU MLP trained on L_D (= −V) with minibatches of both densities."""
    b = get_backend("numpy")
    D = MLP(MLPSpec((1, 64, 64, 1), "leaky_relu", init="he"), b, seed=seed)
    opt = make_optimizer("adam", args.lr, betas=(0.9, 0.999))
    rng = np.random.default_rng(seed)
    m = args.batch
    xp = b.xp
    for step in range(args.steps):
        if step == int(0.8 * args.steps):  # a smaller step at the end: less minibatch noise
            opt.lr = args.lr / 10
        x = np.concatenate([p_data.sample(m, rng), p_g.sample(m, rng)])[:, None]
        logits, cache = D.forward(b.asarray(x, dtype=b.float_dtype), check=False)
        _, dl_r, dl_f = losses.discriminator_loss(logits[:m, :], logits[m:, :], check=False)
        _, grads = D.backward(xp.concat([dl_r, dl_f], axis=0), cache, need_dx=False)
        opt.step(D.params(), grads)
    return D


def logits_of(D, x):
    b = D.backend
    return b.to_numpy(D.forward(b.asarray(np.asarray(x)[:, None], dtype=b.float_dtype), train=False)[0])[:, 0]


def evaluate_pair(label, p_data, p_g, closed, args, seed):
    D = train_d(p_data, p_g, args, seed)
    x = theory.common_grid(p_data, p_g, n=8001 if args.quick else 40001, margin=1.0)
    pd, pg = p_data.pdf(x), p_g.pdf(x)
    l = logits_of(D, x).astype(np.float64)
    d = 1.0 / (1.0 + np.exp(-l))
    # V(D, G) by quadrature from the logits: log D = −sp(−l), log(1 − D) = −sp(l)
    sp = lambda v: np.logaddexp(0.0, v)  # noqa: E731
    v_trained = theory.integrate(-pd * sp(-l) - pg * sp(l), x)
    rng = np.random.default_rng(10_000 + seed)
    n = 5_000 if args.quick else 100_000
    lr_, lf_ = logits_of(D, p_data.sample(n, rng)), logits_of(D, p_g.sample(n, rng))
    v_mc = float(-np.mean(sp(-lr_.astype(np.float64))) - np.mean(sp(lf_.astype(np.float64))))
    d_star = theory.optimal_discriminator(pd, pg)
    js = theory.jsd(pd, pg, x)
    c = -LOG4 + 2 * js
    return {
        "label": label,
        "p_data": p_data.name,
        "p_g": p_g.name,
        "jsd": js,
        "C": c,
        "closed": closed,
        "max_V": theory.max_value(pd, pg, x),
        "V": v_trained,
        "V_mc": v_mc,
        "gap": c - v_trained,
        "D_err": theory.integrate(np.abs(d - d_star) * 0.5 * (pd + pg), x),
        "x": x,
        "pd": pd,
        "pg": pg,
        "D": d,
        "D*": d_star,
    }


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="D training steps per pair")
    p.add_argument("--batch", type=int, default=256, help="samples of each density per step")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (÷10 for the last 20%%)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.batch = min(args.steps, 20), min(args.batch, 64)
    plt = _common.pyplot()

    with _common.Timer() as t:
        res = [evaluate_pair(*pair, args, args.seed + i) for i, pair in enumerate(PAIRS)]

    # ---- numbers ------------------------------------------------------------------------
    print(
        f"D alone, {args.steps} Adam steps of {args.batch} + {args.batch} samples per pair "
        f"({t.seconds:.1f} s)"
    )
    rows = []
    for r in res:
        closed = "—" if r["closed"] is None else f"{r['closed']:.4f}"
        rows.append(
            [
                r["p_data"],
                r["p_g"],
                r["jsd"],
                closed,
                r["C"],
                r["max_V"],
                r["V"],
                r["V_mc"],
                r["gap"],
                r["D_err"],
            ]
        )
    print(
        _common.table(
            [
                "p_data",
                "p_g",
                "JSD",
                "C closed form",
                "C=-log4+2JSD",
                "max_D V direct",
                "V(trained D)",
                "V (MC, 1e5)",
                "gap C-V",
                "E|D-D*|",
            ],
            rows,
        )
    )
    worst = max(abs(r["C"] - r["max_V"]) for r in res)
    print(
        f"Theorem 1 by quadrature: max |C(G) − max_D V| over the pairs = {worst:.1e}; "
        f"-log 4 = {-LOG4:.4f}, -log 2 = {-LOG2:.4f}"
    )
    print(
        "lesson: a discriminator trained on samples alone finds D* = p_data/(p_data + p_g), and its value "
        "V reaches -log 4 + 2 JSD: the D-step of the game measures a Jensen-Shannon divergence."
    )
    print(
        "where D* jumps (the uniforms' edges) a smooth network approaches it slowly: that gap shrinks with "
        "--steps (measured: 0.028 at 2000 steps, 0.010 at 5000)."
    )

    # ---- figure -------------------------------------------------------------------------
    n = len(res)
    cols = 4
    rows_ = math.ceil(n / cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(3.4 * cols, 2.7 * rows_))
    axes = np.atleast_1d(axes).ravel()
    for ax, r in zip(axes, res):
        x = r["x"]
        top = max(r["pd"].max(), r["pg"].max())
        ax.plot(x, r["pd"] / top, "k:", lw=1.3, label="p_data (scaled)")
        ax.plot(x, r["pg"] / top, "g-", lw=1.0, label="p_g (scaled)")
        mass = r["pd"] + r["pg"]
        ax.plot(
            x,
            np.where(mass > 1e-3 * mass.max(), r["D*"], np.nan),
            color="purple",
            lw=2.2,
            alpha=0.45,
            label="D* (theory)",
        )
        ax.plot(x, r["D"], "b--", lw=1.0, label="trained D")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"{r['label']}: C {r['C']:.3f}, V {r['V']:.3f}", fontsize=8)
    for ax in axes[n:]:
        ax.axis("off")
    axes[0].legend(loc="center left", fontsize=6.5)
    fig.tight_layout()
    _common.save(fig, args, "optimal_d.png")
    return {"results": res, "seconds": t.seconds}


if __name__ == "__main__":
    main()
