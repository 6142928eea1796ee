"""Demo 8: watch the game — minimax against non-saturating on the ring, with the force on each sample.

The same GAN (minigan train's defaults, with D kept ahead: k = 3 discriminator steps per
generator step, Algorithm 1) trained twice on the 8-Gaussian ring, once per generator loss:

    minimax          L_G = mean log(1 − D(G(z))),   force on a sample ∝ D(G(z))      (docs/MATH.md §3)
    non-saturating   L_G = −mean log D(G(z)),        force on a sample ∝ 1 − D(G(z))

Each run writes an animation of the game (``minigan.figures.game.Animation``: D(x) over the plane, the
samples, and the force −∂ℓ/∂G(z) of the run's own loss on each, computed with D's hand-written
input gradient), the game at its last step, and its diagnostics (``minigan.app.diagnostics``: modes
covered, high-quality fraction and sliced W1 every 250 steps, and the warnings that fired).
Both animations draw forces on the same scale F₀, so their arrows compare.

    python demos/demo8_game.py [--steps 3000] [--k 3]      (--quick: a smoke test; --docs: README figures)
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import json

import numpy as np

from minigan.app.diagnostics import Diagnostics
from minigan.figures import game
from minigan.training import GAN, HISTORY, TrainConfig

NAME = "demo8_game"
LOSSES = ("minimax", "nonsaturating")


def run(g_loss, args, force_unit, out):
    """Train one run with its animation and diagnostics; return what the figure needs."""
    small = dict(g_hidden=(16, 16), d_hidden=(16, 16), batch_size=32, log_every=10) if args.quick else {}
    gan = GAN(TrainConfig(g_loss=g_loss, k=args.k, steps=args.steps, seed=args.seed, penalty=None, **small))
    printed = []
    diag = Diagnostics(
        gan,
        max(gan.config.log_every, args.steps // 12),
        n=1000,
        say=lambda m: printed.append(f"{g_loss}: {m}"),
    )
    anim = game.Animation(
        out / f"game_{g_loss}.gif",
        game.frame_interval(args.steps, gan.config.log_every, 30),
        args.steps,
        fps=6,
        title=g_loss,
        force_unit=force_unit,
    )
    anim(gan)  # the start
    with _common.Timer() as t, np.errstate(over="ignore", invalid="ignore"):
        gan.train(callback=lambda g: (diag(g), anim(g)))
    anim.close()
    for line in printed:
        print(line)
    diag.write_csv(out / f"evals_{g_loss}.csv")
    print(
        f"{g_loss}: {args.steps} steps in {t.seconds:.1f} s; warnings: "
        f"{', '.join(f'{k} (step {s})' for k, (s, _) in diag.warnings.items()) or 'none'}"
    )
    return {
        "gan": gan,
        "diag": diag,
        "snapshot": game.snapshot(gan, lims=anim.lims),
        "history": gan.history_array(),
    }


def main(argv=None):
    p = _common.parser(NAME, __doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=3000, help="training steps per run (default 3000)")
    p.add_argument("--k", type=int, default=3, help="discriminator steps per generator step (default 3)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps = 60
    args.out.mkdir(parents=True, exist_ok=True)
    # one force unit for both runs: the median force at step 0 under the non-saturating loss
    f0 = float(
        np.median(
            np.linalg.norm(
                game.snapshot(
                    GAN(
                        TrainConfig(
                            seed=args.seed,
                            penalty=None,
                            **(dict(g_hidden=(16, 16), d_hidden=(16, 16)) if args.quick else {}),
                        )
                    )
                ).force,
                axis=1,
            )
        )
    )
    runs = {g: run(g, args, f0, args.out) for g in LOSSES}

    plt = _common.pyplot()
    for g, r in runs.items():  # the game at the last step, same F₀
        fig = game.GameFigure(r["snapshot"], force_unit=f0, title=f"{g}, k={args.k}").fig
        fig.set_dpi(80)
        _common.save(fig, args, f"game_{g}.png")

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    col = {c: i for i, c in enumerate(HISTORY)}
    for g, color in zip(LOSSES, ("C3", "C0")):
        h, t = runs[g]["history"], runs[g]["diag"].table()
        w = max(1, h.shape[0] // 60)
        steps = np.arange(1, h.shape[0] + 1)
        axes[0].plot(
            steps[w - 1 :], _common.moving_average(h[:, col["D_fake"]], w)[w - 1 :], color=color, label=g
        )
        axes[1].semilogy(
            steps[w - 1 :], _common.moving_average(h[:, col["grad_norm_G"]], w)[w - 1 :], color=color, label=g
        )
        axes[2].plot(t[:, 0], t[:, 1], "o-", color=color, ms=3, label=f"{g}: modes covered")
        axes[2].plot(t[:, 0], 8 * t[:, 2], "--", color=color, label=f"{g}: 8 × high quality")
        for name, (s, _) in runs[g]["diag"].warnings.items():
            for ax in axes:
                ax.axvline(s, color=color, ls=":", lw=1)
            axes[0].annotate(name, (s, 0.9), color=color, fontsize=7, rotation=90, va="top")
    axes[0].set(title="mean D(G(z)) (dotted: a warning fired)", xlabel="step", ylim=(-0.02, 1.02))
    axes[1].set(title="‖∇θg L_G‖: the gradient G receives", xlabel="step")
    axes[2].set(
        title="sample quality (diagnostics, every few hundred steps)", xlabel="step", ylim=(-0.2, 8.4)
    )
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    _common.save(fig, args, "game_diagnostics.png")

    if args.docs:  # the README's animations: copies of the two GIFs
        for g in LOSSES:
            (_common.DOCS_FIGURES / f"game_{g}.gif").write_bytes((args.out / f"game_{g}.gif").read_bytes())
    summary = {
        g: {"warnings": r["diag"].summary(), "evals": {k: v.tolist() for k, v in r["diag"].as_dict().items()}}
        for g, r in runs.items()
    }
    (args.out / "diagnostics.json").write_text(json.dumps(summary, indent=1))
    for g in LOSSES:
        t = runs[g]["diag"].table()
        print(
            f"{g}: modes covered at the last evaluations {t[-3:, 1].astype(int).tolist()}, "
            f"high quality {np.round(t[-1, 2], 3)}"
        )
    return {
        "runs": {
            g: {"warnings": dict(r["diag"].warnings), "evals": r["diag"].table()} for g, r in runs.items()
        }
    }


if __name__ == "__main__":
    main()
