"""The game's own optimizers: updates that move both players from one state (docs/MATH.md §16).

A GAN's plain step (Algorithm 1, ``training.GAN.train_step``) moves each player along its own
gradient, D first or both at once (``mode``). The updates here treat the pair as one point
θ = (θ_G, θ_D) of the game, with g(θ) = (∇θG L_G, ∇θD L_D) both players' gradients at θ (one pass
over [x; G(z)]; D's includes its gradient penalty) and δ(g) each player's configured optimizer's
move for its part of g (SGD: lr·g; Adam: lr·m̂/(√v̂ + eps)), p ← p − δ::

    extragradient  θ' = θ_t − δ(g(θ_t));  θ_{t+1} = θ_t − δ(g(θ'))     (Korpelevich 1976; Gidel et al. 2019)
    optimistic     θ_{t+1} = θ_t − 2δ_t + δ_{t−1},  δ_t = δ(g(θ_t))      (Daskalakis et al. 2018)
    consensus      θ_{t+1} = θ_t − δ(g(θ_t) + λ·Jᵀv(θ_t)),  v = −g        (Mescheder et al. 2017)
    unrolled       θ_G ← θ_G − δ(df_K/dθ_G),  θ_D ← θ_D − δ(∇θD L_D), both at θ_t (Metz et al. 2017)

With SGD (no momentum) these are the textbook extragradient, optimistic gradient
θ ← θ − 2η g_t + η g_{t−1} and consensus optimization; with Adam, Gidel et al.'s extra-Adam (the
moments move at both evaluations) and Daskalakis et al.'s optimistic Adam. δ_{t−1} lives in each
optimizer's slot ``LAST_MOVE`` (as u = −δ), so checkpoints save it with the moments;
λ = ``Consensus.weight``, J = ∂v/∂θ the game's Jacobian (its product Jᵀv:
``second_order.game_jacobian_transpose_vector``, docs/MATH.md §15.4). The unrolled objective
f_K = f(θ_G, θ_D^K), θ_D^K after K steps of D's optimizer, and its gradient through those steps:
``unrolled`` (docs/MATH.md §17).

An update runs on a **game** (``Game``): two players' live parameter dicts and optimizers, a
batch drawer and the gradients at the current point — ``training.GAN`` is one, the Dirac-GAN of
``demos/demo7_dirac.py`` another. ``check`` refuses the settings an update has no meaning with
(one ValueError naming ``update``); ``make_update`` builds one by name.
"""

from __future__ import annotations

from typing import Any, Protocol

from . import unrolled
from ._checks import check_int, check_positive
from ._types import Array, Grads

__all__ = [
    "UPDATES",
    "LAST_MOVE",
    "DEFAULT_CONSENSUS_WEIGHT",
    "SMOOTH_D_LOSSES",
    "Game",
    "GameUpdate",
    "Plain",
    "Extragradient",
    "Optimistic",
    "Consensus",
    "Unrolled",
    "DEFAULT_UNROLL_STEPS",
    "make_update",
    "as_update",
]

UPDATES = ("plain", "extragradient", "optimistic", "consensus", "unrolled")
LAST_MOVE = "last_move"  # the optimizer slot of the optimistic update: u_{t−1} = −δ_{t−1} per parameter
# λ of ½‖v‖², chosen on the default ring run with Adam at 1e-3 (docs/MATH.md §16.3): 0.01-0.03 train,
# 0.1 and above lose the modes' quality
DEFAULT_CONSENSUS_WEIGHT = 0.03
DEFAULT_UNROLL_STEPS = 5  # K of the authors' notebook (their Figure 2 shows K = 10)
# the discriminator losses whose second derivative in the logits exists everywhere (second_order.D_FORMS)
SMOOTH_D_LOSSES = ("bce", "least_squares", "wasserstein")


class Game(Protocol):
    """What an update needs of a game (``training.GAN`` has all of it)."""

    g_opt: Any  # G's optim.Optimizer
    d_opt: Any  # D's optim.Optimizer

    def parameters(self) -> tuple[dict[str, Array], dict[str, Array]]:
        """(θ_G, θ_D): the live arrays each optimizer moves, in place."""
        ...

    def draw(self) -> Any:
        """A new batch (for a GAN: noise z and data x)."""
        ...

    def gradients(self, batch: Any) -> tuple[Grads, Grads, Any]:
        """(∇θG L_G, ∇θD L_D, record) at the current parameters on ``batch``; record: what the step
        returns (for a GAN: L_D, L_G and the logits of the pass)."""
        ...

    def jacobian_transpose_vector(self, batch: Any, w_G: Grads, w_D: Grads) -> tuple[Grads, Grads]:
        """Jᵀw on ``batch`` at the current parameters, J = ∂v/∂θ, v = −(∇θG L_G, ∇θD L_D)."""
        ...

    def project(self) -> None:
        """After each move of D: its constraint (weight clipping), or nothing."""
        ...

    def unrolling(self, batch: Any) -> Any:
        """For ``Unrolled``: the batch's ``second_order.UnrollPass`` (or an object with its four
        methods), G's pass made once, D's taken at its parameters as they are at each call."""
        ...


class GameUpdate:
    """Base class: ``step(game)`` moves both players once and returns the game's record of the
    point the step started from; ``check(...)`` refuses settings without a meaning here."""

    name = "plain"

    def step(self, game: Game) -> Any:
        raise NotImplementedError(f"update {self.name!r}: the GAN's own step (Algorithm 1) runs it")

    def check(
        self,
        *,
        mode: str,
        k: int,
        penalty: bool,
        clip: float | None,
        g_loss: str | None,
        d_loss: str | None,
        real_target: float = 1.0,
    ) -> None:
        """One ValueError, naming ``update``, unless this update has a meaning with these settings:
        ``mode`` and ``k`` of Algorithm 1, whether D has a gradient ``penalty``, its weight ``clip``,
        the loss forms by name (None: a function) and the label smoothing ``real_target``."""
        if self.name == "plain":
            return
        if mode != "simultaneous":
            raise ValueError(
                f"update: {self.name!r} moves both players from one state, so it needs "
                f"mode='simultaneous'; got mode={mode!r} (TrainConfig() has mode='fresh' by default)"
            )
        if k != 1:
            raise ValueError(
                f"update: {self.name!r} takes one step of both players from one state, so it needs "
                f"k=1; got k={k!r}"
            )

    def config(self) -> dict[str, Any]:
        """The update's name and settings (JSON-able): ``make_update(**config())`` rebuilds it."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Plain(GameUpdate):
    """Algorithm 1 as ``mode`` and ``k`` say (``GAN.train_step``'s own path): the default."""

    name = "plain"


class Extragradient(GameUpdate):
    """Two evaluations a step (Korpelevich 1976; Gidel et al. 2019, arXiv 1802.10551):
    θ' = θ_t − δ(g(θ_t)) (the extrapolation), then θ_{t+1} = θ_t − δ(g(θ')), each g on a new batch.
    The optimizers' state moves at both (so extra-Adam's moments see g(θ_t) and g(θ'), and its
    bias corrections count two steps); D's constraint is applied after each of its moves."""

    name = "extragradient"

    def step(self, game: Game) -> Any:
        params = game.parameters()
        start = [{k: _copy(p) for k, p in ps.items()} for ps in params]  # θ_t
        g_G, g_D, record = game.gradients(game.draw())  # g(θ_t)
        _descend(game, g_G, g_D)  # θ' = θ_t − δ(g(θ_t))
        g_G, g_D, _ = game.gradients(game.draw())  # g(θ')
        for ps, saved in zip(params, start):
            for k, p in ps.items():
                p[...] = saved[k]  # back to θ_t, in place
        _descend(game, g_G, g_D)  # θ_{t+1} = θ_t − δ(g(θ'))
        return record


class Optimistic(GameUpdate):
    """θ_{t+1} = θ_t − 2δ_t + δ_{t−1}, δ_t = δ(g(θ_t)) (Daskalakis et al. 2018, arXiv 1711.00141):
    with SGD θ ← θ − 2η g_t + η g_{t−1}, with Adam optimistic Adam. One evaluation a step. Each
    optimizer keeps u_{t−1} = −δ_{t−1} in its slot ``LAST_MOVE`` (0 before the first step, which is
    then θ_1 = θ_0 − 2δ_1); D's constraint is applied after its move."""

    name = "optimistic"

    def step(self, game: Game) -> Any:
        g_G, g_D, record = game.gradients(game.draw())  # g(θ_t), both players at one point
        for ps, opt, g in zip(game.parameters(), (game.g_opt, game.d_opt), (g_G, g_D)):
            u = opt.moves(g)  # u_t = −δ_t (the optimizer's state advances once)
            last = opt.slots.setdefault(LAST_MOVE, {})
            for k, p in ps.items():
                previous = last.get(k)
                p += 2.0 * u[k] if previous is None else 2.0 * u[k] - previous  # θ + 2u_t − u_{t−1}
                last[k] = u[k]
        game.project()
        return record


class Consensus(GameUpdate):
    """Consensus optimization (Mescheder, Nowozin & Geiger 2017, arXiv 1705.10461): both players also
    descend L = ½‖v‖² of the game's field v = −(∇θG L_G, ∇θD L_D), whose gradient is Jᵀv:
    each optimizer gets g + λ·Jᵀv (its part), λ = ``weight``. One evaluation and one Jᵀv a step.
    Refused with a gradient penalty (its Jᵀv would need third derivatives), with weight
    clipping, and with a loss that has no second derivative (hinge) or is not given by name."""

    name = "consensus"

    def __init__(self, weight: float = DEFAULT_CONSENSUS_WEIGHT) -> None:
        self.weight = check_positive("consensus_weight", weight, "a positive finite weight λ of ½‖v‖²")

    def step(self, game: Game) -> Any:
        batch = game.draw()
        g_G, g_D, record = game.gradients(batch)
        j_G, j_D = game.jacobian_transpose_vector(batch, _minus(g_G), _minus(g_D))  # ∇½‖v‖² = Jᵀv
        lam = self.weight
        _descend(
            game, {k: g + lam * j_G[k] for k, g in g_G.items()}, {k: g + lam * j_D[k] for k, g in g_D.items()}
        )
        return record

    def check(self, **settings: Any) -> None:
        super().check(**settings)
        _smooth_game("consensus", settings)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "consensus_weight": self.weight}


class Unrolled(GameUpdate):
    """Unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein 2017, arXiv 1611.02163; docs/MATH.md §17): from
    one state and one batch, G descends f_K = f(θ_G, θ_D^K), θ_D^K after ``steps`` = K steps of D's own
    optimizer (a clone, its moments and bias corrections carried on), by the exact gradient through
    those steps (``unrolled.unrolled_gradients``), and D takes its ordinary step (the paper's Eqs. 10-11);
    the unrolled copies are dropped. f is −L_D for a zero-sum pair (g_loss minimax or wasserstein: the
    paper's value) and L_G otherwise. ``constant=True``: θ_D^K held constant (the paper's ablation).
    Refused with a gradient penalty, weight clipping, a D loss without a second derivative, label
    smoothing or K outside 0..``unrolled.MAX_STEPS``."""

    name = "unrolled"

    def __init__(self, steps: int = DEFAULT_UNROLL_STEPS, constant: bool = False) -> None:
        self.steps = check_int(
            "unroll_steps", steps, 0, unrolled.MAX_STEPS, what=f"an integer K from 0 to {unrolled.MAX_STEPS}"
        )
        if not isinstance(constant, bool):
            raise TypeError(f"unroll_constant: expected True or False, got {constant!r}")
        self.constant = constant

    def step(self, game: Game) -> Any:
        params_G, params_D = game.parameters()
        at = game.unrolling(game.draw())
        g_G, g_D, record = unrolled.unrolled_gradients(at, game.d_opt, params_D, self.steps, self.constant)
        _descend(game, {k: g_G[k] for k in params_G}, g_D)  # both from θ_t: Eqs. 10-11
        return record

    def check(self, **settings: Any) -> None:
        super().check(**settings)
        _smooth_game("unrolled", settings)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "unroll_steps": self.steps, "unroll_constant": self.constant}


def make_update(
    name: str = "plain",
    consensus_weight: float = DEFAULT_CONSENSUS_WEIGHT,
    unroll_steps: int = DEFAULT_UNROLL_STEPS,
    unroll_constant: bool = False,
) -> GameUpdate:
    """The update called ``name`` (one of ``UPDATES``); ``consensus_weight`` is consensus's λ,
    ``unroll_steps`` unrolled's K and ``unroll_constant`` its ablation (θ_D^K held constant)."""
    if name == "consensus":
        return Consensus(consensus_weight)
    if name == "unrolled":
        return Unrolled(unroll_steps, unroll_constant)
    rules = {"plain": Plain, "extragradient": Extragradient, "optimistic": Optimistic}
    if name not in rules:
        raise ValueError(f"update: expected one of {UPDATES}, got {name!r}")
    return rules[name]()


def as_update(update: str | GameUpdate | None) -> GameUpdate:
    """A GameUpdate from a name, an update, or None (``Plain``)."""
    if update is None:
        return Plain()
    if isinstance(update, str):
        return make_update(update)
    if not isinstance(update, GameUpdate):
        raise TypeError(
            f"update: expected one of {UPDATES} or a game_updates.GameUpdate, got {type(update).__name__}"
        )
    return update


def _descend(game: Game, g_G: Grads, g_D: Grads) -> None:
    """Both players' optimizers step from the gradients (G's and D's at one point); D's constraint."""
    params_G, params_D = game.parameters()
    game.g_opt.step(params_G, g_G)
    game.d_opt.step(params_D, g_D)
    game.project()


def _copy(a: Array) -> Array:
    return a.__array_namespace__().asarray(a, copy=True)


def _minus(g: Grads) -> Grads:
    return {k: -a for k, a in g.items()}


def _smooth_game(name: str, settings: dict[str, Any]) -> None:
    """One ValueError naming ``update`` unless the game is smooth enough for the second-order update
    ``name``: no gradient penalty, no weight clipping, the losses by name, a D loss with a second
    derivative, no label smoothing."""
    if settings["penalty"]:
        raise ValueError(
            f"update: {name!r} needs penalty=None: R1/R2/GP would need third derivatives "
            "(TrainConfig() has penalty='r1' by default)"
        )
    if settings["clip"] is not None:
        raise ValueError(
            f"update: {name!r} needs clip=None: a clipped D follows no smooth field; got "
            f"clip={settings['clip']!r} (g_loss='wasserstein' clips unless penalty='gp')"
        )
    g_loss, d_loss = settings["g_loss"], settings["d_loss"]
    if g_loss is None or d_loss is None:
        raise ValueError(
            f"update: {name!r} takes the losses' second derivatives, so it needs them by name "
            f"(g_loss, d_loss); got a function for {'g_loss' if g_loss is None else 'd_loss'}"
        )
    if d_loss not in SMOOTH_D_LOSSES:
        raise ValueError(
            f"update: {name!r} needs a D loss with a second derivative, one of {SMOOTH_D_LOSSES}; "
            f"got {d_loss!r} (its kinks have none)"
        )
    if settings.get("real_target", 1.0) != 1.0:
        raise ValueError(
            f"update: {name!r} takes the bce loss without label smoothing: it needs "
            f"real_target=1; got {settings['real_target']!r}"
        )
