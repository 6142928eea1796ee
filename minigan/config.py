"""``TrainConfig``: everything that defines a training run, and every default of one.

``GAN(TrainConfig())`` trains exactly what ``minigan train`` trains: the command's options take
their defaults from these fields (``tests/test_cli.py`` checks that they agree).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from . import game_updates, losses, unrolled
from ._checks import check_fraction, check_int, check_positive, is_int, is_number
from .backend import Backend, Random
from .data import PRESETS
from .networks import MLP, MLPSpec
from .optim import OPTIMIZERS, Optimizer, default_lr, make_optimizer
from .penalties import PENALTIES, Penalty

MODES = ("fresh", "reuse", "simultaneous")

# What a run can hold on one machine: beyond these, numbers are typos (or hang or exhaust memory).
LIMITS = {
    "k": 1000,
    "batch_size": 10**6,
    "noise_dim": 10**5,
    "steps": 10**9,
    "log_every": 10**9,
    "width": 10**5,
    "params": 10**9,
    "activation_bytes": 64 * 2**30,  # activation_bytes(): a step's arrays, more than a machine here holds
}
ACTIVATION_COPIES = 3  # each layer's output is kept for the backward pass with its input and gradient


@dataclass
class TrainConfig:
    """Everything that defines a training run (JSON-able, saved in checkpoints).

    Game:      g_loss (minimax | nonsaturating | least_squares | hinge | wasserstein),
               mode (fresh | reuse | simultaneous), k (D steps per G step),
               batch_size (m), real_target (one-sided label smoothing α; 1 = none),
               clip (D weight clipping c for wasserstein; None = off; with penalty gp, off),
               penalty (None | r1 | r2 | gp: a gradient penalty on D, docs/MATH.md §12), gamma
               (R1/R2's γ), gp_weight (WGAN-GP's λ).
    Update:    update (plain | extragradient | optimistic | consensus | unrolled: how a step
               moves the players, ``game_updates``, docs/MATH.md §16-§17; all but plain need mode
               simultaneous and k = 1, consensus and unrolled also penalty None and a smooth
               loss), consensus_weight (consensus's λ of ½‖v‖²), unroll_steps (unrolled's K, the
               steps of D's optimizer G looks through, 0 to ``unrolled.MAX_STEPS``) and
               unroll_constant (unrolled with θ_D^K held constant: the paper's ablation).
    Data:      dataset (one of data.DATASETS: gaussian, ring, grid, pacgan_ring, pacgan_grid,
               digits), data_params (dict passed to the dataset, e.g. train_size).
    Networks:  noise_dim, g_hidden, d_hidden, activation, g_output (None | tanh | sigmoid:
               G's output activation; "auto": the one the dataset asks for, tanh for digits
               scaled to [−1, 1], else None), g_batch_norm, d_maxout (pieces), d_dropout, init.
    Optimizer: optimizer (sgd | adam | rmsprop) for G, d_optimizer for D (None: the same),
               g_lr, d_lr (None: optim.default_lr of the optimizer and loss), betas (adam), momentum (sgd).
    Schedule:  lr_decay: the learning rates fall linearly from (g_lr, d_lr) at step 0 to
               lr_decay × those at step ``steps`` (1 = constant). They change only at
               multiples of log_every, so a resumed run sets the same rates at the same steps.
    Run:       steps, seed, backend, dtype, log_every (steps between host syncs).

    These defaults are ``minigan train``'s (tuned on the ring; minigan/app/train.py says how): a
    3-layer generator, Adam at 1e-3, 6000 steps, learning rates falling to 5 %, and a small R1
    penalty on D (γ = 0.03), with which every seed of 0-7 covers the ring's 8 modes (README);
    ``penalty=None`` is the article's plain game.
    """

    dataset: str = "ring"
    data_params: dict[str, Any] = field(default_factory=dict)
    g_loss: str = "nonsaturating"
    mode: str = "fresh"
    k: int = 1
    batch_size: int = 256
    real_target: float = 1.0
    clip: float | None = None
    penalty: str | None = "r1"
    gamma: float = 0.03
    gp_weight: float = 10.0
    update: str = "plain"
    consensus_weight: float = game_updates.DEFAULT_CONSENSUS_WEIGHT
    unroll_steps: int = game_updates.DEFAULT_UNROLL_STEPS
    unroll_constant: bool = False
    noise_dim: int = 2
    g_hidden: tuple[int, ...] = (128, 128, 128)
    d_hidden: tuple[int, ...] = (128, 128)
    activation: str = "relu"
    g_output: str | None = "auto"
    g_batch_norm: bool = False
    d_maxout: int | None = None
    d_dropout: float = 0.0
    init: str = "he"
    optimizer: str = "adam"
    d_optimizer: str | None = None
    g_lr: float | None = None
    d_lr: float | None = None
    betas: tuple[float, ...] = (0.5, 0.999)  # (β1, β2)
    momentum: float = 0.5
    lr_decay: float = 0.05
    steps: int = 6000
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    log_every: int = 50

    def __post_init__(self) -> None:
        self.g_hidden = tuple(self.g_hidden)
        self.d_hidden = tuple(self.d_hidden)
        self.betas = tuple(self.betas)
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {self.mode!r}")
        losses.get_generator_loss(self.g_loss)
        self._check_counts()
        self._check_networks()
        self._check_memory()
        self._check_game()
        self._check_optimizers()
        if self.clip is None and self.g_loss == "wasserstein" and self.penalty != "gp":
            self.clip = 0.01  # Arjovsky et al. 2017: the critic must stay Lipschitz
        self._check_update()
        if self.g_lr is None:
            self.g_lr = default_lr(self.optimizer, self.g_loss)
        if self.d_lr is None:
            self.d_lr = default_lr(self.d_optimizer or self.optimizer, self.g_loss)
        if self.g_output == "auto":
            self.g_output = PRESETS[self.dataset][0].output if self.dataset in PRESETS else None

    def _check_counts(self) -> None:
        """k, batch_size, noise_dim, steps (0 allowed: a GAN built, not trained), log_every, seed."""
        for name in ("k", "batch_size", "noise_dim", "steps", "log_every"):
            v = check_int(name, getattr(self, name), 0 if name == "steps" else 1, what="a positive integer")
            if v > LIMITS[name]:
                raise ValueError(f"{name}: {v} is more than minigan takes (at most {LIMITS[name]:,})")
            setattr(self, name, v)
        self.seed = check_int("seed", self.seed, 0, 2**63 - 1, what="an integer in [0, 2**63)")

    def _check_networks(self) -> None:
        """The hidden widths, and each network's number of weights."""
        for name in ("g_hidden", "d_hidden"):
            widths = getattr(self, name)
            if not all(is_int(w) and 0 < w <= LIMITS["width"] for w in widths):
                raise ValueError(f"{name}: expected widths from 1 to {LIMITS['width']:,}, got {widths!r}")
            widths = tuple(int(w) for w in widths)
            setattr(self, name, widths)
            sizes = (self.noise_dim, *widths) if name == "g_hidden" else widths
            if sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) > LIMITS["params"]:
                raise ValueError(
                    f"{name}: {widths!r} makes more than {LIMITS['params']:,} weights, more than a "
                    "network here can hold"
                )

    def activation_bytes(self) -> int:
        """About the memory of a training step's arrays: batch_size × (noise_dim + Σ g_hidden +
        2 Σ d_hidden (D on real and fake rows; × d_maxout pieces)) values × ACTIVATION_COPIES × the
        dtype's bytes. The data's own columns are left out (the config does not know them)."""
        m = self.d_maxout
        pieces = int(m) if m is not None and is_int(m) and m > 1 else 1
        d_values = sum(self.d_hidden) * pieces
        values = self.noise_dim + sum(self.g_hidden) + 2 * d_values
        return self.batch_size * values * ACTIVATION_COPIES * (8 if self.dtype == "float64" else 4)

    def _check_memory(self) -> None:
        """activation_bytes() within LIMITS: a batch and widths that no machine here holds are refused now,
        not by an allocation that fails in the first step."""
        need, most = self.activation_bytes(), LIMITS["activation_bytes"]
        if need > most:
            raise ValueError(
                f"batch_size: {self.batch_size:,} rows with noise_dim {self.noise_dim:,} and these hidden "
                f"widths need about {need / 2**30:,.0f} GiB of activations a step, more than minigan takes "
                f"({most / 2**30:,.0f} GiB); use a smaller batch_size, noise_dim or widths"
            )

    def _check_game(self) -> None:
        """real_target (bce losses only), clip, the penalty and its weights, lr_decay."""
        self.real_target = losses.check_real_target(self.real_target)  # the rule the losses apply
        if self.real_target != 1.0 and losses.PAIRED_D_LOSS[self.g_loss] != "bce":
            raise ValueError(
                f"real_target: label smoothing applies to the bce losses, not g_loss={self.g_loss!r}"
            )
        if not (is_number(self.lr_decay) and 0.0 < self.lr_decay <= 1.0):
            raise ValueError(f"lr_decay: expected 0 < lr_decay <= 1, got {self.lr_decay!r}")
        if self.clip is not None:
            check_positive("clip", self.clip, "None or a positive number")
        if self.penalty not in (None, *PENALTIES):
            raise ValueError(f"penalty: expected None or one of {PENALTIES}, got {self.penalty!r}")
        for name in ("gamma", "gp_weight"):
            check_positive(name, getattr(self, name), "a positive number")

    def _check_update(self) -> None:
        """The update's name, λ, K and ablation, and whether it has a meaning with this game
        (``GameUpdate.check``: mode, k, the penalty, the clip, the losses, the label smoothing)."""
        self.consensus_weight = check_positive(
            "consensus_weight", self.consensus_weight, "a positive finite weight λ of ½‖v‖²"
        )
        most = unrolled.MAX_STEPS
        self.unroll_steps = check_int(
            "unroll_steps", self.unroll_steps, 0, most, what=f"an integer K from 0 to {most}"
        )
        if not isinstance(self.unroll_constant, bool):
            raise ValueError(f"unroll_constant: expected True or False, got {self.unroll_constant!r}")
        if not isinstance(self.update, str) or self.update not in game_updates.UPDATES:
            raise ValueError(f"update: expected one of {game_updates.UPDATES}, got {self.update!r}")
        self.build_update().check(
            mode=self.mode,
            k=self.k,
            penalty=self.penalty is not None,
            clip=self.clip,
            g_loss=self.g_loss,
            d_loss=losses.PAIRED_D_LOSS[self.g_loss],
            real_target=self.real_target,
        )

    def _check_optimizers(self) -> None:
        """The optimizers' names, learning rates (None: the default), betas and momentum."""
        for name in ("optimizer", "d_optimizer"):
            v = getattr(self, name)
            if v not in OPTIMIZERS and not (name == "d_optimizer" and v is None):
                raise ValueError(f"{name}: expected one of {OPTIMIZERS}, got {v!r}")
        for name in ("g_lr", "d_lr"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        if len(self.betas) != 2 or not all(is_number(b) and 0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas: expected two numbers (β1, β2) in [0, 1), got {self.betas!r}")
        check_fraction("momentum", self.momentum, "[0, 1)")

    # -- the parts a GAN is built from, where it is not given them ----------------------------
    def build_generator(self, data_dim: int, backend: Backend, rng: Random) -> MLP:
        """G: noise (N, noise_dim) → samples (N, data_dim), hidden layers g_hidden."""
        return MLP(
            MLPSpec(
                (self.noise_dim, *self.g_hidden, data_dim),
                activation=self.activation,
                output=self.g_output,
                batch_norm=self.g_batch_norm,
                init=self.init,
            ),
            backend,
            rng=rng,
        )

    def build_discriminator(self, data_dim: int, backend: Backend, rng: Random) -> MLP:
        """D: samples (N, data_dim) → logits (N, 1), hidden layers d_hidden (maxout, dropout)."""
        return MLP(
            MLPSpec(
                (data_dim, *self.d_hidden, 1),
                activation=self.activation,
                maxout_pieces=self.d_maxout,
                dropout=self.d_dropout,
                init=self.init,
            ),
            backend,
            rng=rng,
        )

    def build_penalty(self, rng: Random) -> Penalty | None:
        """D's gradient penalty (None: none); gp draws its interpolation weights from ``rng``."""
        return (
            None
            if self.penalty is None
            else Penalty(self.penalty, self.gp_weight if self.penalty == "gp" else self.gamma, rng)
        )

    def build_optimizer(self, net: str) -> Optimizer:
        """The optimizer of G (``net="g"``) or D (``"d"``)."""
        name = self.optimizer if net == "g" else (self.d_optimizer or self.optimizer)
        lr = self.g_lr if net == "g" else self.d_lr
        assert lr is not None  # __post_init__ set both
        return make_optimizer(name, lr, betas=self.betas, momentum=self.momentum)

    def build_update(self) -> game_updates.GameUpdate:
        """How a step moves the players: ``game_updates.make_update`` of ``update`` with its
        settings (``consensus_weight``, ``unroll_steps``, ``unroll_constant``)."""
        return game_updates.make_update(
            self.update, self.consensus_weight, self.unroll_steps, self.unroll_constant
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"config: unknown keys {sorted(unknown)}")
        return cls(**d)
