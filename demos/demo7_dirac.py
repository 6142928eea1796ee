"""Demo 7: the Dirac-GAN — what the article's shortcut (simultaneous updates) does, and what a gradient penalty fixes.

Mescheder, Geiger & Nowozin (ICML 2018, arXiv 1801.04406): p_data = δ₀, G = δ_θ, D(x) = ψ·x (a logit).
Each player descends its own loss; the field v(θ, ψ) = (−∂L_G/∂θ, −∂(L_D + P)/∂ψ) is computed here by
minigan itself: D is an ``MLP`` with one Linear layer (W = ψ, b = 0 held fixed), G an ``MLP`` with one
Linear layer (W = 0, b = θ), the loss forms come from ``minigan.losses`` and the penalties, with their
hand-written second derivatives, from ``minigan.penalties`` (docs/MATH.md §12, §13).

From the same start, N steps of size h for each game:
    simultaneous  (θ, ψ) += h·v(θ, ψ)                       (the article's shortcut: steps 5-6 skipped)
    alternating   ψ += h·v_ψ(θ, ψ), then θ += h·v_θ(θ, ψ)   (Algorithm 1 with k = 1)
and the Jacobian of v at the equilibrium (0, 0), by centred differences of the field, beside the
eigenvalues the paper derives.

    python demos/demo7_dirac.py [--steps 2000] [--lr 0.1] [--gamma 0.5] [--gp-weight 1]

``--toy STEPS`` instead trains the default ring/grid GAN (``TrainConfig``, ``STEPS`` steps) four ways —
non-saturating with and without R1, WGAN with clipping and WGAN-GP — over ``--seeds`` seeds and prints
PacGAN's modes and high-quality fraction (2,500 samples) with the wall time (minutes, not seconds).
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

import math

import numpy as np

from minigan import losses, penalties
from minigan.backend import get_backend
from minigan.networks import MLP, MLPSpec

NAME = "demo7_dirac"
B = get_backend("numpy", dtype="float64")
# name -> (generator loss, discriminator loss, penalty or None)
GAMES = {
    "GAN (minimax)": ("minimax", "bce", None),
    "non-saturating GAN": ("nonsaturating", "bce", None),
    "WGAN (no clipping)": ("wasserstein", "wasserstein", None),
    "WGAN-GP": ("wasserstein", "wasserstein", "gp"),
    "non-saturating + R1": ("nonsaturating", "bce", "r1"),
}


class Dirac:
    """The Dirac-GAN built from minigan's parts; ``field(θ, ψ)`` = (−∂L_G/∂θ, −∂(L_D + P)/∂ψ)."""

    def __init__(self, game, gamma=0.5, gp_weight=1.0):
        self.g_loss, d_loss, self.penalty = GAMES[game]
        self.d_loss = losses.get_discriminator_loss(d_loss)
        self.g_loss = losses.get_generator_loss(self.g_loss)
        self.weight = gp_weight if self.penalty == "gp" else gamma
        self.D, self.G = MLP(MLPSpec((1, 1)), B), MLP(MLPSpec((1, 1)), B)
        self.G.set_param("0.W", B.zeros((1, 1)))  # G(z) = 0·z + θ = θ
        self.x_real, self.z = B.zeros((1, 1)), B.zeros((1, 1))
        self.eps = B.asarray(np.full((1, 1), 0.5))  # gp's interpolate; ∇ₓ(ψx) = ψ wherever it is

    def field(self, theta, psi):
        self.G.set_param("0.b", B.asarray(np.array([theta])))
        self.D.set_param("0.W", B.asarray(np.array([[psi]])))
        fake, g_cache = self.G.forward(self.z)
        l_r, c_r = self.D.forward(self.x_real)
        l_f, c_f = self.D.forward(fake)
        _, dl_r, dl_f = self.d_loss(l_r, l_f)  # D: descend L_D
        d_psi = self.D.backward(dl_r, c_r)[1]["0.W"] + self.D.backward(dl_f, c_f)[1]["0.W"]
        if self.penalty is not None:  # + ∂P/∂ψ, a second derivative of D's logit (§12)
            d_psi = d_psi + penalties.penalty(self.penalty, self.weight, self.D, self.x_real, fake, self.eps)[1]["0.W"]
        dx, _ = self.D.backward(self.g_loss(l_f)[1], c_f, need_grads=False)  # G: descend L_G through D (§7.1)
        d_theta = self.G.backward(dx, g_cache, need_dx=False)[1]["0.b"]
        return -float(d_theta[0]), -float(d_psi[0, 0])


def trajectory(dirac, start, lr, steps, simultaneous):
    """(steps + 1, 2) array of (θ, ψ) from ``start``."""
    th, ps = start
    out = [(th, ps)]
    for _ in range(steps):
        if simultaneous:
            vt, vp = dirac.field(th, ps)
            th, ps = th + lr * vt, ps + lr * vp
        else:
            ps = ps + lr * dirac.field(th, ps)[1]  # D first (steps 1-4), then G against the new D
            th = th + lr * dirac.field(th, ps)[0]
        out.append((th, ps))
        if not math.isfinite(th + ps) or abs(th) + abs(ps) > 1e6:
            break
    return np.array(out)


def jacobian(dirac, h=1e-6):
    """∂v/∂(θ, ψ) at (0, 0) by centred differences of minigan's field (2, 2)."""
    J = np.zeros((2, 2))
    for j, e in enumerate(((h, 0.0), (0.0, h))):
        J[:, j] = (np.array(dirac.field(*e)) - np.array(dirac.field(-e[0], -e[1]))) / (2 * h)
    return J


def predicted(game, gamma):
    """The paper's eigenvalues at the equilibrium (f'(0) = ½ for the GAN losses, 1 for WGAN)."""
    if game in ("GAN (minimax)", "non-saturating GAN"):
        return "±0.5i  (±f'(0)i, f'(0) = 1/2)"
    if game == "WGAN (no clipping)":
        return "±1i  (f'(0) = 1)"
    if game == "WGAN-GP":
        return "none: v jumps at ψ = 0 (not differentiable)"
    r = complex(gamma * gamma / 4 - 0.25) ** 0.5
    return f"{-gamma / 2:+.3g} ± {r.imag:.3g}i  (−γ/2 ± √(γ²/4 − f'(0)²))" if r.imag else \
        f"{-gamma / 2 + r.real:.3g}, {-gamma / 2 - r.real:.3g}"


def fmt_eig(ev):
    return ", ".join(f"{z.real:+.3f}{z.imag:+.3f}i" for z in ev)


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="gradient steps per trajectory (default 2000)")
    p.add_argument("--lr", type=float, default=0.1, help="step size h (default 0.1)")
    p.add_argument("--gamma", type=float, default=0.5, help="R1's γ (default 0.5)")
    p.add_argument("--gp-weight", type=float, default=1.0, help="WGAN-GP's λ (default 1)")
    p.add_argument("--toy", type=int, metavar="STEPS", help="the ring/grid table instead (see above)")
    p.add_argument("--seeds", type=int, default=3, help="seeds of the --toy table (default 3)")
    p.add_argument("--datasets", default="ring,grid", help="datasets of the --toy table (default ring,grid)")
    args = p.parse_args(argv)
    if args.toy:
        return toy_table(args)
    if args.quick:
        args.steps = min(args.steps, 30)
    plt = _common.pyplot()
    start = (1.0, 1.0)

    rows, results = [], {}
    with _common.Timer() as t:
        for game in GAMES:
            dirac = Dirac(game, args.gamma, args.gp_weight)
            J = jacobian(dirac)
            ev = np.linalg.eigvals(J)
            smooth = game != "WGAN-GP"
            tr = {mode: trajectory(dirac, start, args.lr, args.steps, mode == "simultaneous")
                  for mode in ("simultaneous", "alternating")}
            dist = {m: float(np.hypot(*tr[m][-1])) for m in tr}
            half = {m: float(np.hypot(*tr[m][min(args.steps // 2, len(tr[m]) - 1)])) for m in tr}
            results[game] = {"eig": ev if smooth else None, "dist": dist, "traj": tr,
                             "radius": {m: float(np.max(np.abs(1 + args.lr * ev))) if smooth else None for m in tr}}
            for m in tr:
                verdict = ("converges" if dist[m] < 1e-3 else "spirals out" if dist[m] > 1.1 * half[m]
                           else "creeps in (sublinear)" if dist[m] < 0.8 * half[m] else "orbits: no convergence")
                rows.append([game, m, fmt_eig(ev) if smooth else "(jumps at ψ = 0)", predicted(game, args.gamma),
                             f"{half[m]:.3g}", f"{dist[m]:.3g}", verdict])
                results[game].setdefault("verdict", {})[m] = verdict

    print(f"Dirac-GAN, start (θ, ψ) = {start}, step h = {args.lr}, {args.steps} steps, R1 γ = {args.gamma}, "
          f"WGAN-GP λ = {args.gp_weight}  ({t.seconds:.1f} s)")
    print(_common.table(["game", "updates", "eigenvalues of J at (0,0), computed", "the paper's",
                         f"‖(θ,ψ)‖ step {args.steps // 2}", f"step {args.steps}", "verdict"], rows))
    mm = results["GAN (minimax)"]
    print(f"\nThe article's shortcut: near (0, 0) a simultaneous step multiplies the distance by |1 + h·λ| = "
          f"{mm['radius']['simultaneous']:.5f} (λ = ±i/2); the minimax GAN goes from {math.hypot(*start):.3g} to "
          f"{mm['dist']['simultaneous']:.3g} simultaneously and stays at {mm['dist']['alternating']:.3g} alternating; "
          f"with R1 both updates converge.")

    # ---- figure ---------------------------------------------------------------------------
    fig, axes = plt.subplots(1, len(GAMES), figsize=(16, 3.5))
    grid = np.linspace(-2, 2, 15)
    for ax, game in zip(axes, GAMES):
        dirac = Dirac(game, args.gamma, args.gp_weight)
        V = np.array([[dirac.field(a, b) for a in grid] for b in grid])
        ax.quiver(grid, grid, V[..., 0], V[..., 1], color="0.6", angles="xy", width=0.004)
        for m, c in (("simultaneous", "C3"), ("alternating", "C0")):
            tr = results[game]["traj"][m]
            tr = tr[np.all(np.abs(tr) < 2.2, axis=1)]
            ax.plot(tr[:, 0], tr[:, 1], color=c, lw=1.0, label=f"{m} ({results[game]['dist'][m]:.2g})")
        ax.plot(*start, "ko", ms=4)
        ax.plot(0, 0, "k*", ms=8)
        ax.set(xlim=(-2, 2), ylim=(-2, 2), xlabel="θ (generator)", title=game)
        ax.legend(loc="lower left", title="updates (‖·‖ at end)", title_fontsize=7)
    axes[0].set_ylabel("ψ (discriminator)")
    fig.suptitle(f"Dirac-GAN: the field and {args.steps} steps of h = {args.lr} from (1, 1)", y=1.02)
    _common.save(fig, args, "dirac.png")
    return {"results": results, "rows": rows}


TOY = {"non-saturating": {"penalty": None}, "non-saturating + R1 (γ=1)": {"penalty": "r1", "gamma": 1.0},
       "WGAN, clipping 0.01": {"g_loss": "wasserstein", "penalty": None},
       "WGAN-GP (λ=10)": {"g_loss": "wasserstein", "penalty": "gp"}}


def toy_table(args):
    """The default GAN on ring/grid, four ways, ``args.seeds`` seeds of ``args.toy`` steps each."""
    from minigan.metrics import evaluate
    from minigan.training import GAN, TrainConfig

    rows, out = [], {}
    for ds in args.datasets.split(","):
        for name, kw in TOY.items():
            ms = []
            for seed in range(args.seeds):
                with _common.Timer() as t:
                    gan = GAN(TrainConfig(dataset=ds, steps=args.toy, seed=seed, **kw)).train()
                ms.append({**evaluate(gan, n=2500), "seconds": t.seconds})
            modes, hq = np.array([m["modes_covered"] for m in ms]), np.array([m["high_quality"] for m in ms]) * 100
            secs = np.mean([m["seconds"] for m in ms])
            rows.append([ds, name, f"{modes.mean():.1f} ± {modes.std():.1f} / {ms[0]['modes']}",
                         f"{hq.mean():.1f} ± {hq.std():.1f}", f"{secs:.0f}"])
            out[(ds, name)] = ms
            print(_common.table(["data", "game", "modes", "% high quality", "s/run"], rows[-1:]), flush=True)
    print(f"\n{args.toy} steps, seeds 0..{args.seeds - 1}, TrainConfig defaults otherwise")
    print(_common.table(["data", "game", "modes", "% high quality", "s/run"], rows))
    return {"toy": out, "rows": rows}


if __name__ == "__main__":
    main()
