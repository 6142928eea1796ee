"""Demo 7: the Dirac-GAN — what simultaneous and alternating steps do, what a gradient penalty fixes,
and what the game's own optimizers (extragradient, optimism, consensus, unrolling) and momentum do.

Mescheder, Geiger & Nowozin (ICML 2018, arXiv 1801.04406): p_data = δ₀, G = δ_θ, D(x) = ψ·x (a logit).
Each player descends its own loss; the field v(θ, ψ) = (−∂L_G/∂θ, −∂(L_D + P)/∂ψ) is computed here by
minigan itself: D is an ``MLP`` with one Linear layer (W = ψ, b = 0 held fixed), G an ``MLP`` with one
Linear layer (W = 0, b = θ), the loss forms come from ``minigan.losses`` and the penalties, with their
hand-written second derivatives, from ``minigan.penalties`` (docs/MATH.md §12, §13).

Part 1, for five games, from the same start, N steps of size h:
    simultaneous  (θ, ψ) += h·v(θ, ψ)                       (the article's shortcut: steps 5-6 skipped)
    alternating   ψ += h·v_ψ(θ, ψ), then θ += h·v_θ(θ, ψ)   (Algorithm 1 with k = 1)
and the Jacobian of v at the equilibrium (0, 0), by centred differences of the field, beside the
eigenvalues the paper derives.

Part 2, for one game (``--game``): the updates of ``minigan.game_updates`` (extragradient, optimistic,
consensus, unrolled with K = 1, 5, 10 steps of D's SGD and the ablation with θ_D^K held constant) and SGD
with momentum, run on this game by the library's own code — the Dirac-GAN is a
``game_updates.Game``, its players' optimizers are ``minigan.optim``'s — with, for each SGD-type
update, the eigenvalues of the update map at the equilibrium (of the state (θ, ψ) and, for optimism
and momentum, the previous move or the velocity) by centred differences of one step of that code,
beside the values docs/MATH.md §13.1 and §17.4 derive and the papers'. Adam-type updates: trajectories only.

    python demos/demo7_dirac.py [--steps 2000] [--lr 0.1] [--gamma 0.5] [--gp-weight 1]
                                [--game "GAN (minimax)"] [--momentum 0.5] [--consensus-weight 1]
                                [--adam-lr 0.01]

``--toy STEPS`` instead trains the default ring/grid GAN (``TrainConfig``, ``STEPS`` steps) four ways —
non-saturating with and without R1, WGAN with clipping and WGAN-GP — over ``--seeds`` seeds and prints
PacGAN's modes and high-quality fraction (2,500 samples) with the wall time (minutes, not seconds).
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split

import math

import numpy as np

from minigan import game_updates, losses, penalties, second_order
from minigan.backend import get_backend
from minigan.networks import MLP, MLPSpec
from minigan.optim import SGD, Adam

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
SMOOTH_GAMES = ("GAN (minimax)", "non-saturating GAN", "WGAN (no clipping)")  # part 2's choices
F_PRIME = {"GAN (minimax)": 0.5, "non-saturating GAN": 0.5, "WGAN (no clipping)": 1.0}  # f'(0)


class Dirac:
    """The Dirac-GAN built from minigan's parts, as a ``game_updates.Game``: θ is G's bias "0.b" (1,),
    ψ is D's weight "0.W" (1, 1); ``field(θ, ψ)`` = (−∂L_G/∂θ, −∂(L_D + P)/∂ψ)."""

    def __init__(self, game, gamma=0.5, gp_weight=1.0):
        self.g_name, self.d_name, self.penalty = GAMES[game]
        self.d_loss = losses.get_discriminator_loss(self.d_name)
        self.g_loss = losses.get_generator_loss(self.g_name)
        self.weight = gp_weight if self.penalty == "gp" else gamma
        self.D, self.G = MLP(MLPSpec((1, 1)), B), MLP(MLPSpec((1, 1)), B)
        self.G.set_param("0.W", B.zeros((1, 1)))  # G(z) = 0·z + θ = θ
        self.D.set_param("0.b", B.zeros((1,)))  # D(x) = ψ·x + 0
        self.x_real, self.z = B.zeros((1, 1)), B.zeros((1, 1))
        self.eps = B.asarray(np.full((1, 1), 0.5))  # gp's interpolate; ∇ₓ(ψx) = ψ wherever it is
        self.g_opt = self.d_opt = None  # each run's optimizers (``use``)

    def use(self, g_opt, d_opt, start=None):
        """Play with these optimizers, from ``start`` = (θ, ψ) if given."""
        self.g_opt, self.d_opt = g_opt, d_opt
        if start is not None:
            self.set(*start)
        return self

    def set(self, theta, psi):
        self.G.set_param("0.b", B.asarray(np.array([theta])))
        self.D.set_param("0.W", B.asarray(np.array([[psi]])))

    def position(self):
        return float(self.G.params()["0.b"][0]), float(self.D.params()["0.W"][0, 0])

    # -- the game, as game_updates sees it -------------------------------------------------------
    def parameters(self):
        return {"0.b": self.G.params()["0.b"]}, {"0.W": self.D.params()["0.W"]}

    def draw(self):
        return None  # nothing random: one real point, one generated point

    def gradients(self, batch=None):
        """(∂L_G/∂θ, ∂(L_D + P)/∂ψ, None) at the current (θ, ψ): D's gradient from D.backward, G's
        through D's input gradient (docs/MATH.md §7.1)."""
        fake, g_cache = self.G.forward(self.z)
        l_r, c_r = self.D.forward(self.x_real)
        l_f, c_f = self.D.forward(fake)
        _, dl_r, dl_f = self.d_loss(l_r, l_f)  # D: descend L_D
        d_psi = self.D.backward(dl_r, c_r)[1]["0.W"] + self.D.backward(dl_f, c_f)[1]["0.W"]
        if self.penalty is not None:  # + ∂P/∂ψ, a second derivative of D's logit (§12)
            P = penalties.penalty(self.penalty, self.weight, self.D, self.x_real, fake, self.eps)
            d_psi = d_psi + P[1]["0.W"]
        dx, _ = self.D.backward(self.g_loss(l_f)[1], c_f, need_grads=False)  # G: descend L_G through D
        d_theta = self.G.backward(dx, g_cache, need_dx=False)[1]["0.b"]
        return {"0.b": d_theta}, {"0.W": d_psi}, None

    def jacobian_transpose_vector(self, batch, w_G, w_D):
        """Jᵀw from ``second_order`` (docs/MATH.md §15.4), the held parameters' directions 0."""
        wg = {"0.W": B.zeros((1, 1)), "0.b": w_G["0.b"]}
        wd = {"0.W": w_D["0.W"], "0.b": B.zeros((1,))}
        j_G, j_D = second_order.game_jacobian_transpose_vector(
            self.G, self.D, self.z, self.x_real, wg, wd, d_form=self.d_name, g_form=self.g_name
        )
        return {"0.b": j_G["0.b"]}, {"0.W": j_D["0.W"]}

    def project(self):
        pass  # no constraint on ψ

    def unrolling(self, batch):
        """The unrolled update's passes (docs/MATH.md §17): ``second_order.UnrollPass`` on this game's
        one real and one generated point; only ψ takes D's unrolled steps (``parameters()``)."""
        return second_order.UnrollPass(self.G, self.D, self.z, self.x_real, self.d_name, self.g_name)

    def field(self, theta, psi):
        self.set(theta, psi)
        g_G, g_D, _ = self.gradients()
        return -float(g_G["0.b"][0]), -float(g_D["0.W"][0, 0])


# -- part 1: five games, simultaneous and alternating SGD ---------------------------------------------
def trajectory(dirac, start, lr, steps, simultaneous):
    """(steps + 1, 2) array of (θ, ψ) from ``start``."""
    kind = "simultaneous" if simultaneous else "alternating"
    return run(dirac.use(SGD(lr, 0.0), SGD(lr, 0.0), start), kind, None, steps)


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
    if r.imag:
        return f"{-gamma / 2:+.3g} ± {r.imag:.3g}i  (−γ/2 ± √(γ²/4 − f'(0)²))"
    return f"{-gamma / 2 + r.real:.3g}, {-gamma / 2 - r.real:.3g}"


def fmt_eig(ev):
    return ", ".join(f"{z.real:+.3f}{z.imag:+.3f}i" for z in sorted(ev, key=lambda z: (-abs(z), z.imag)))


def verdict_of(half, end):
    if end < 1e-3:
        return "converges"
    if end > 1.1 * half:
        return "spirals out"
    return "creeps in (sublinear)" if end < 0.8 * half else "orbits: no convergence"


def games_table(args, start):
    """Part 1: each game's Jacobian at (0, 0) and its simultaneous and alternating trajectories."""
    rows, results = [], {}
    for game in GAMES:
        dirac = Dirac(game, args.gamma, args.gp_weight)
        ev = np.linalg.eigvals(jacobian(dirac))
        smooth = game != "WGAN-GP"
        tr = {m: trajectory(dirac, start, args.lr, args.steps, m == "simultaneous") for m in MODES}
        dist = {m: float(np.hypot(*tr[m][-1])) for m in tr}
        half = {m: float(np.hypot(*tr[m][min(args.steps // 2, len(tr[m]) - 1)])) for m in tr}
        radius = {m: float(np.max(np.abs(1 + args.lr * ev))) if smooth else None for m in tr}
        results[game] = {"eig": ev if smooth else None, "dist": dist, "traj": tr, "radius": radius}
        for m in tr:
            verdict = verdict_of(half[m], dist[m])
            eig = fmt_eig(ev) if smooth else "(jumps at ψ = 0)"
            rows.append(
                [game, m, eig, predicted(game, args.gamma), f"{half[m]:.3g}", f"{dist[m]:.3g}", verdict]
            )
            results[game].setdefault("verdict", {})[m] = verdict
    return rows, results


MODES = ("simultaneous", "alternating")


def trend(half, end, steps):
    """Part 2's verdict from the distance to (0, 0) at the middle and at the end of a trajectory."""
    if end < 1e-3:
        return "converges"
    if end > 1.1 * half:
        return "spirals out"
    if end < 0.8 * half:
        return f"moves in (×{end / half:.2g} in {steps} steps)"
    return "orbits: no convergence"


# -- part 2: the game's own optimizers and momentum on one game --------------------------------------------
# name -> (how a step runs: "simultaneous" | "alternating" | a game_updates name, the optimizer)
METHODS = {
    "simultaneous": ("simultaneous", "sgd"),
    "alternating": ("alternating", "sgd"),
    "extragradient": ("extragradient", "sgd"),
    "optimistic": ("optimistic", "sgd"),
    "consensus": ("consensus", "sgd"),
    "simultaneous, momentum": ("simultaneous", "momentum"),
    "alternating, momentum": ("alternating", "momentum"),
    "simultaneous Adam": ("simultaneous", "adam"),
    "extra-Adam": ("extragradient", "adam"),
    "optimistic Adam": ("optimistic", "adam"),
    "unrolled, K = 1": ("unrolled:1", "sgd"),
    "unrolled, K = 5": ("unrolled:5", "sgd"),
    "unrolled, K = 10": ("unrolled:10", "sgd"),
    "unrolled, K = 5, θ_D^K constant": ("unrolled:5:constant", "sgd"),
}
SGD_TYPE = [m for m, (_, opt) in METHODS.items() if opt != "adam"]


def optimizers(kind, args):
    """A new (G's, D's) pair of minigan optimizers for ``kind``: sgd, momentum or adam."""
    if kind == "adam":
        return Adam(args.adam_lr, (0.5, 0.999)), Adam(args.adam_lr, (0.5, 0.999))
    mu = args.momentum if kind == "momentum" else 0.0
    return SGD(args.lr, mu), SGD(args.lr, mu)


def make_update(how, args):
    """None for the plain steps; else the library's update: "unrolled:K[:constant]" is the unrolled GAN
    with K steps of D's SGD (θ_D^K held constant: the paper's ablation)."""
    if how in MODES:
        return None
    if how.startswith("unrolled:"):
        _, K, *constant = how.split(":")
        return game_updates.Unrolled(int(K), constant=bool(constant))
    return game_updates.make_update(how, consensus_weight=args.consensus_weight)


def one_step(dirac, how, update):
    """One step of ``how``: the plain simultaneous or alternating step with the game's optimizers, else
    ``update.step`` (the library's extragradient, optimistic or consensus)."""
    if how == "simultaneous":
        g_G, g_D, _ = dirac.gradients()
        p_G, p_D = dirac.parameters()
        dirac.g_opt.step(p_G, g_G)
        dirac.d_opt.step(p_D, g_D)
    elif how == "alternating":  # D first (steps 1-4), then G against the new D
        dirac.d_opt.step(dirac.parameters()[1], dirac.gradients()[1])
        dirac.g_opt.step(dirac.parameters()[0], dirac.gradients()[0])
    else:
        update.step(dirac)


def run(dirac, how, update, steps):
    """(steps + 1, 2) array of (θ, ψ) from where ``dirac`` is; stops early past 1e6 or at NaN."""
    out = [dirac.position()]
    for _ in range(steps):
        one_step(dirac, how, update)
        th, ps = dirac.position()
        out.append((th, ps))
        if not math.isfinite(th + ps) or abs(th) + abs(ps) > 1e6:
            break
    return np.array(out)


def slot_of(method):
    """The optimizer slot that is part of the state: the velocity or the previous move, or None."""
    how, kind = METHODS[method]
    return "v" if kind == "momentum" else game_updates.LAST_MOVE if how == "optimistic" else None


def update_map(dirac, method, args, s):
    """One step of ``method``'s code from the state s = (θ, ψ[, G's slot, D's slot]) → the next state."""
    how, kind = METHODS[method]
    g_opt, d_opt = optimizers(kind, args)
    dirac.use(g_opt, d_opt, (s[0], s[1]))
    slot = slot_of(method)
    if slot is not None:
        g_opt.slots[slot] = {"0.b": B.asarray(np.array([s[2]]))}
        d_opt.slots[slot] = {"0.W": B.asarray(np.array([[s[3]]]))}
    one_step(dirac, how, make_update(how, args))
    out = list(dirac.position())
    if slot is not None:
        out += [float(g_opt.slots[slot]["0.b"][0]), float(d_opt.slots[slot]["0.W"][0, 0])]
    return np.array(out)


def update_eigenvalues(dirac, method, args, h=1e-6):
    """The eigenvalues of the update map's Jacobian at the equilibrium (every state entry 0), by centred
    differences of one step of the code (``update_map``)."""
    n = 4 if slot_of(method) else 2
    M = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        M[:, j] = (update_map(dirac, method, args, e) - update_map(dirac, method, args, -e)) / (2 * h)
    return np.linalg.eigvals(M)


def derived_eigenvalues(method, h, a, mu, lam):
    """docs/MATH.md §13.1: the update map's eigenvalues at (0, 0) for J = [[0, a], [−a, 0]], step h."""
    roots = lambda *c: np.roots(np.array(c, dtype=complex))
    if method == "simultaneous":
        return np.array([1 + 1j * h * a, 1 - 1j * h * a])
    if method == "alternating":
        return roots(1, -(2 - h * h * a * a), 1)
    if method == "extragradient":
        return np.array([1 - h * h * a * a + s * 1j * h * a for s in (1, -1)])
    if method == "optimistic":
        return np.concatenate([roots(1, -(1 + 2 * s * 1j * h * a), s * 1j * h * a) for s in (1, -1)])
    if method == "consensus":
        return np.array([1 - h * lam * a * a + s * 1j * h * a for s in (1, -1)])
    if method.startswith("unrolled"):  # §17.4: look-ahead c·K·h²a² in θ's own coefficient, c = 2 or 1
        K = int(METHODS[method][0].split(":")[1])
        c = 1 if method.endswith("constant") else 2
        return roots(1, -(2 - c * K * h * h * a * a), 1 - (c * K - 1) * h * h * a * a)
    if method == "simultaneous, momentum":
        return np.concatenate([roots(1, -(1 + mu + s * 1j * h * a), mu) for s in (1, -1)])
    # alternating with momentum: ((z − 1)(z − μ))² + h²a² z³ = 0
    p = np.polymul([1, -1], [1, -mu])
    return roots(*np.polyadd(np.polymul(p, p), [h * h * a * a, 0, 0, 0]))


PAPER = {
    "simultaneous": "1 ± h f'(0) i: |·| > 1, diverges (Mescheder et al. 2018, §2)",
    "alternating": "|·| = 1 for h f'(0) < 2: no convergence (Mescheder et al. 2018, §2)",
    "extragradient": "converges on bilinear games for small h (Gidel et al. 2019)",
    "optimistic": "converges on bilinear games for small h (Daskalakis et al. 2018)",
    "consensus": "1 + h(−γ f'(0)² ± f'(0) i), γ = our λ: converges for small h (Mescheder et al. 2018)",
    "simultaneous, momentum": "diverges for any momentum β ≥ 0 (Gidel et al. 2019b)",
    "alternating, momentum": "converges only with negative momentum (Gidel et al. 2019b)",
    "unrolled, K = 1": "none given; derived (MATH.md §17.4): |z|² = 1 − (2K − 1)h²f'(0)²",
    "unrolled, K = 5": "as K = 1: |z|² = 1 − 9h²f'(0)²",
    "unrolled, K = 10": "as K = 1: |z|² = 1 − 19h²f'(0)²",
    "unrolled, K = 5, θ_D^K constant": "derived: |z|² = 1 − (K − 1)h²f'(0)² (K = 1: alternating)",
}


def methods_table(args, start):
    """Part 2: each method's trajectory on ``args.game`` and, for the SGD-type ones, the eigenvalues
    of its update map at (0, 0): from the code, from docs/MATH.md §13.1, and the papers'."""
    dirac, a = Dirac(args.game), F_PRIME[args.game]
    rows, results = [], {}
    for method, (how, kind) in METHODS.items():
        tr = run(dirac.use(*optimizers(kind, args), start), how, make_update(how, args), args.steps)
        half = float(np.hypot(*tr[min(args.steps // 2, len(tr) - 1)]))
        end = float(np.hypot(*tr[-1]))
        res = {"traj": tr, "dist": end, "verdict": trend(half, end, args.steps - args.steps // 2)}
        code = derived = None
        if method in SGD_TYPE:
            code = update_eigenvalues(dirac, method, args)
            derived = derived_eigenvalues(method, args.lr, a, args.momentum, args.consensus_weight)
            res.update(code=code, derived=derived, radius=float(np.max(np.abs(code))))
            res["error"] = float(max(np.min(np.abs(code - d)) for d in derived))
        results[method] = res
        rows.append([
            method,
            "—" if code is None else fmt_eig(code),
            "—" if derived is None else fmt_eig(derived),
            "—" if code is None else f"{res['error']:.1e}",
            "—" if code is None else f"{res['radius']:.6f}",
            PAPER.get(method, "(trajectory only)"),
            f"{half:.3g}",
            f"{end:.3g}",
            res["verdict"],
        ])  # fmt: skip
    return rows, results


# -- the figures -------------------------------------------------------------------------------------------
def games_figure(plt, args, start, results):
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


def methods_figure(plt, args, start, results):
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5))
    colors = plt.get_cmap("tab20").colors  # 14 methods: one colour each
    for i, (method, res) in enumerate(results.items()):
        tr = res["traj"]
        style = "--" if method not in SGD_TYPE else ":" if method.startswith("unrolled") else "-"
        inside = tr[np.all(np.abs(tr) < 2.2, axis=1)]
        if method in SGD_TYPE:
            ax.plot(inside[:, 0], inside[:, 1], style, color=colors[i], lw=0.9, label=method)
        bx.semilogy(np.hypot(tr[:, 0], tr[:, 1]), style, color=colors[i], lw=1.2, label=method)
    ax.plot(*start, "ko", ms=4)
    ax.plot(0, 0, "k*", ms=8)
    ax.set(xlim=(-2, 2), ylim=(-2, 2), xlabel="θ (generator)", ylabel="ψ (discriminator)",
           title=f"{args.game}: SGD-type updates, h = {args.lr}")  # fmt: skip
    ax.legend(loc="lower left", fontsize=6, ncol=2)
    bx.set(
        xlabel="step",
        ylabel="‖(θ, ψ)‖",
        title=f"distance to the equilibrium (Adam dashed, lr {args.adam_lr}; unrolled dotted)",
    )
    bx.set_ylim(1e-4, 1e3)  # consensus falls below, to the rounding of float64
    bx.legend(loc="lower left", fontsize=6, ncol=2)
    _common.save(fig, args, "dirac_methods.png")


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="gradient steps per trajectory (default 2000)")
    p.add_argument("--lr", type=float, default=0.1, help="step size h (default 0.1)")
    p.add_argument("--gamma", type=float, default=0.5, help="R1's γ (default 0.5)")
    p.add_argument("--gp-weight", type=float, default=1.0, help="WGAN-GP's λ (default 1)")
    p.add_argument("--game", default="GAN (minimax)", choices=SMOOTH_GAMES, help="part 2's game")
    p.add_argument("--momentum", type=float, default=0.5, help="SGD's momentum μ in part 2 (default 0.5)")
    p.add_argument("--consensus-weight", type=float, default=1.0, help="consensus's λ (default 1)")
    p.add_argument("--adam-lr", type=float, default=0.01, help="Adam's rate in part 2 (default 0.01)")
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

    with _common.Timer() as t:
        rows, results = games_table(args, start)
        method_rows, methods = methods_table(args, start)
    print(
        f"Dirac-GAN, start (θ, ψ) = {start}, step h = {args.lr}, {args.steps} steps, R1 γ = {args.gamma}, "
        f"WGAN-GP λ = {args.gp_weight}  ({t.seconds:.1f} s)"
    )
    head = ["game", "updates", "eigenvalues of J at (0,0), computed", "the paper's"]
    head += [f"‖(θ,ψ)‖ step {args.steps // 2}", f"step {args.steps}", "verdict"]
    print(_common.table(head, rows))
    mm = results["GAN (minimax)"]
    print(
        f"\nThe article's shortcut: near (0, 0) a simultaneous step multiplies the distance by |1 + h·λ| = "
        f"{mm['radius']['simultaneous']:.5f} (λ = ±i/2); the minimax GAN goes from {math.hypot(*start):.3g} "
        f"to {mm['dist']['simultaneous']:.3g} simultaneously and stays at {mm['dist']['alternating']:.3g} "
        "alternating; with R1 both updates converge."
    )
    print(
        f"\n{args.game}: the game's own optimizers and momentum (h = {args.lr}, μ = {args.momentum}, "
        f"consensus λ = {args.consensus_weight}, Adam lr = {args.adam_lr}); eigenvalues of the update "
        "map at (0, 0), largest first"
    )
    head = ["update", "eigenvalues: the code", "docs/MATH.md §13.1", "|difference|", "spectral radius"]
    head += ["the paper's"]
    head += [f"‖(θ,ψ)‖ step {args.steps // 2}", f"step {args.steps}", "verdict"]
    print(_common.table(head, method_rows))

    games_figure(plt, args, start, results)
    methods_figure(plt, args, start, methods)
    return {"results": results, "rows": rows, "methods": methods, "method_rows": method_rows}


TOY = {
    "non-saturating": {"penalty": None},
    "non-saturating + R1 (γ=1)": {"penalty": "r1", "gamma": 1.0},
    "WGAN, clipping 0.01": {"g_loss": "wasserstein", "penalty": None},
    "WGAN-GP (λ=10)": {"g_loss": "wasserstein", "penalty": "gp"},
}


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
            modes = np.array([m["modes_covered"] for m in ms])
            hq = np.array([m["high_quality"] for m in ms]) * 100
            secs = np.mean([m["seconds"] for m in ms])
            rows.append([
                ds,
                name,
                f"{modes.mean():.1f} ± {modes.std():.1f} / {ms[0]['modes']}",
                f"{hq.mean():.1f} ± {hq.std():.1f}",
                f"{secs:.0f}",
            ])  # fmt: skip
            out[(ds, name)] = ms
            print(_common.table(["data", "game", "modes", "% high quality", "s/run"], rows[-1:]), flush=True)
    print(f"\n{args.toy} steps, seeds 0..{args.seeds - 1}, TrainConfig defaults otherwise")
    print(_common.table(["data", "game", "modes", "% high quality", "s/run"], rows))
    return {"toy": out, "rows": rows}


if __name__ == "__main__":
    main()
