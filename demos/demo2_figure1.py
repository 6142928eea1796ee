"""Demo 2: the paper's Figure 1, live (Goodfellow et al. 2014, Fig. 1; docs/MATH.md §10).

A 1-D GAN: p_data = N(4, 0.5²) (black dotted), the generator's density p_g (green), the
discriminator D(x) (blue dashed) and, from Proposition 1, the optimal discriminator for
the current G, D*(x) = p_data / (p_data + p_g) (purple), at several moments of training.
The lines at the bottom show G mapping the z-line (z ~ N(0, 1), lower) onto the x-line
(upper), as in the paper's figure. Training ends near p_g = p_data and D = ½.

By default G is affine, G(z) = w·z + b, so p_g = N(b, w²) is known exactly and D*, JSD and
C(G) = −log 4 + 2·JSD are computed from exact densities (minigan.theory); D is a 32×32
tanh MLP, both trained by minigan's non-saturating GAN (Adam). With ``--g-hidden 32 32``
G is an MLP and p_g is a kernel density estimate from 20,000 samples instead.

    python demos/demo2_figure1.py [--steps 2000] [--snapshots 0 150 300 600 2000]
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import numpy as np

from minigan import theory
from minigan.training import GAN, TrainConfig

NAME = "demo2_figure1"
DATA_MEAN, DATA_STD = 4.0, 0.5


def generator_density(gan, x):
    """p_g on the grid x: exact N(b, w²) for an affine G, else a KDE of 20,000 samples."""
    if not gan.config.g_hidden:
        p = gan.G.params()
        w = float(gan.backend.to_numpy(p["0.W"])[0, 0])
        b = float(gan.backend.to_numpy(p["0.b"]).reshape(-1)[0])
        return theory.Normal(b, abs(w)).pdf(x), f"exact N({b:.2f}, {abs(w):.2f}²)"
    s = gan.sample(20_000, seed=3)[:, 0]
    return theory.gaussian_kde(s, x), f"KDE, mean {s.mean():.2f} std {s.std():.2f}"


def snapshot(gan, x, p_data):
    p_g, how = generator_density(gan, x)
    d = gan.discriminate(x[:, None])
    d_star = theory.optimal_discriminator(p_data, p_g)
    w = 0.5 * (p_data + p_g)  # where either density has mass
    js = theory.jsd(p_data, p_g, x)
    return {
        "step": gan.step,
        "p_g": p_g,
        "how": how,
        "D": d,
        "D*": d_star,
        "jsd": js,
        "C": -theory.LOG4 + 2 * js,
        "V": theory.value(np.clip(d, 1e-12, 1 - 1e-12), p_data, p_g, x),
        "gap_D": theory.integrate(np.abs(d - d_star) * w, x),
        "gap_half": theory.integrate(np.abs(d - 0.5) * w, x),
        "z": np.linspace(-2.5, 2.5, 21),
        "x": x,
        "p_data": p_data,  # the grid and p_data, for the tests' own quadrature
    }


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    p.add_argument(
        "--snapshots",
        type=int,
        nargs="+",
        default=[0, 150, 300, 600],
        help="steps at which to draw a panel (the last step is always drawn)",
    )
    p.add_argument(
        "--g-hidden",
        type=int,
        nargs="*",
        default=[],
        help="G's hidden widths (default none: an affine G with an exact density)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 20)
    plt = _common.pyplot()

    cfg = TrainConfig(
        dataset="gaussian",
        data_params={"mean": DATA_MEAN, "std": DATA_STD},
        noise_dim=1,
        g_hidden=tuple(args.g_hidden),
        d_hidden=(32, 32),
        activation="tanh",
        batch_size=256,
        g_lr=1e-2 if not args.g_hidden else 1e-3,
        d_lr=3e-3,
        lr_decay=1.0,
        seed=args.seed,
        log_every=50,
        penalty=None,
    )
    gan = GAN(cfg)
    x = np.linspace(-3.0, 9.0, 1201)
    p_data = theory.Normal(DATA_MEAN, DATA_STD).pdf(x)
    moments = sorted({s for s in args.snapshots if s <= args.steps} | {args.steps})
    snaps = []
    with _common.Timer() as t:
        for s in moments:
            gan.train(s - gan.step)
            snap = snapshot(gan, x, p_data)
            zt = gan.backend.asarray(snap["z"][:, None], dtype=gan.backend.float_dtype)
            snap["Gz"] = gan.backend.to_numpy(gan.G.forward(zt, train=False)[0])[:, 0]
            snaps.append(snap)

    # ---- numbers ------------------------------------------------------------------------
    print(
        f"1-D GAN, p_data = N({DATA_MEAN}, {DATA_STD}²), {args.steps} steps in {t.seconds:.1f} s; "
        f"p_g: {'exact (affine G)' if not args.g_hidden else 'KDE'}"
    )
    rows = [[s["step"], s["how"], s["jsd"], s["C"], s["V"], s["gap_D"], s["gap_half"]] for s in snaps]
    print(_common.table(["step", "p_g", "JSD", "C(G)=-log4+2JSD", "V(D,G)", "E|D-D*|", "E|D-1/2|"], rows))
    print(
        f"(E over (p_data + p_g)/2; -log 4 = {-theory.LOG4:.4f}; V(D, G) <= C(G) for every D: "
        "the gap is how far D is from D*)"
    )
    print(
        "lesson: D* is computable from the two densities and D tracks it; as p_g -> p_data, D* -> 1/2 "
        "and C(G) -> -log 4, the game's value at its equilibrium."
    )

    # ---- figure -------------------------------------------------------------------------
    n = len(snaps)
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.1), sharey=True)
    axes = np.atleast_1d(axes)
    letters = "abcdefghij"
    for i, (ax, s) in enumerate(zip(axes, snaps)):
        ax.plot(x, p_data, "k:", lw=1.5, label="p_data")
        ax.plot(x, s["p_g"], "g-", lw=1.2, label="p_g")
        ax.plot(x, s["D"], "b--", lw=1.2, label="D(x)")
        # D* only where there is mass to define it (it is 0/0 in the far tails)
        mass = p_data + s["p_g"]
        d_star = np.where(mass > 1e-3 * mass.max(), s["D*"], np.nan)
        ax.plot(x, d_star, color="purple", ls="-.", lw=0.9, alpha=0.8, label="D*(x)")
        y_x, y_z = -0.12, -0.32
        ax.axhline(y_x, color="0.4", lw=0.6)
        ax.axhline(y_z, color="0.4", lw=0.6)
        for z, gz in zip(s["z"], s["Gz"]):
            if x[0] <= gz <= x[-1]:
                ax.annotate(
                    "",
                    xy=(gz, y_x),
                    xytext=(z, y_z),
                    arrowprops={"arrowstyle": "->", "lw": 0.5, "color": "0.3"},
                )
        ax.text(x[0] + 0.1, y_z + 0.03, "z", fontsize=8)
        ax.text(x[0] + 0.1, y_x + 0.03, "x", fontsize=8)
        ax.set_ylim(-0.38, 1.05)
        ax.set_title(f"({letters[i % 10]}) step {s['step']}: JSD {s['jsd']:.3f}, C(G) {s['C']:.3f}")
        ax.set_xlabel("x")
        if i == 0:
            ax.legend(loc="upper left")
    fig.tight_layout()
    _common.save(fig, args, "figure1.png")
    return {"snapshots": snaps, "seconds": t.seconds}


if __name__ == "__main__":
    main()
