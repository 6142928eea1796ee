"""The training loop: Algorithm 1 of Goodfellow et al. (2014), and the article's six steps.

One training step (``GAN.train_step``)::

    repeat k times:                                   # steps 1-4
        z ~ p_z (m draws), x ~ p_data (m draws)
        logits = D([x; G(z)])                         # one D pass over real and fake
        descend ∇θd L_D(l_real, l_fake)               # = ascend V(D, G)
    generator update                                  # steps 5-6, by ``mode``:
        fresh:        new z, the updated D            (the paper's Algorithm 1)
        reuse:        the same G(z), the updated D    (common in tutorials)
        simultaneous: G's gradient from the step-4 pass, before either net changed
                      (the article's shortcut: steps 5-6 skipped)
    descend ∇θg L_G(D(G(z)))

The gradient reaches G through D: dl = ∂L_G/∂l_fake, dx = D.backward(dl) (input gradient
only), then G.backward(dx).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from . import losses
from .backend import get_backend
from .data import make_dataset
from .networks import MLP, MLPSpec
from .optim import OPTIMIZERS, make_optimizer

MODES = ("fresh", "reuse", "simultaneous")

# One row of history per step, in this order.
HISTORY = ("L_D", "L_G", "L_G_ns", "V", "total", "D_real", "D_fake", "grad_norm_G", "grad_norm_D")


class DivergenceError(FloatingPointError):
    """A loss or gradient became NaN or inf; the message names the step and the quantity."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (JSON-able, saved in checkpoints).

    Game:      g_loss (minimax | nonsaturating | least_squares | hinge | wasserstein),
               mode (fresh | reuse | simultaneous), k (D steps per G step),
               batch_size (m), real_target (one-sided label smoothing α; 1 = none),
               clip (D weight clipping c for wasserstein; None = off).
    Data:      dataset (one of data.DATASETS: gaussian, ring, grid, pacgan_ring, pacgan_grid,
               digits), data_params (dict passed to the dataset, e.g. train_size).
    Networks:  noise_dim, g_hidden, d_hidden, activation, g_output (None | tanh | sigmoid:
               G's output activation; tanh for data scaled to [−1, 1]), g_batch_norm,
               d_maxout (pieces), d_dropout, init.
    Optimizer: optimizer (sgd | adam | rmsprop) for G, d_optimizer for D (None: the same),
               g_lr, d_lr, betas (adam), momentum (sgd).
    Schedule:  lr_decay: the learning rates fall linearly from (g_lr, d_lr) at step 0 to
               lr_decay × those at step ``steps`` (1 = constant). They change only at
               multiples of log_every, so a resumed run sets the same rates at the same steps.
    Run:       steps, seed, backend, dtype, log_every (steps between host syncs).
    """

    dataset: str = "ring"
    data_params: dict = field(default_factory=dict)
    g_loss: str = "nonsaturating"
    mode: str = "fresh"
    k: int = 1
    batch_size: int = 256
    real_target: float = 1.0
    clip: float | None = None
    noise_dim: int = 2
    g_hidden: tuple = (128, 128)
    d_hidden: tuple = (128, 128)
    activation: str = "relu"
    g_output: str | None = None
    g_batch_norm: bool = False
    d_maxout: int | None = None
    d_dropout: float = 0.0
    init: str = "he"
    optimizer: str = "adam"
    d_optimizer: str | None = None
    g_lr: float = 1e-3
    d_lr: float = 1e-3
    betas: tuple = (0.5, 0.999)
    momentum: float = 0.5
    lr_decay: float = 1.0
    steps: int = 5000
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    log_every: int = 50

    def __post_init__(self):
        self.g_hidden = tuple(self.g_hidden)
        self.d_hidden = tuple(self.d_hidden)
        self.betas = tuple(self.betas)
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {self.mode!r}")
        losses.get_generator_loss(self.g_loss)
        for name in ("k", "batch_size", "noise_dim", "steps", "log_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0 and not (name == "steps" and v == 0):
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if not 0.0 < self.real_target <= 1.0:
            raise ValueError(f"real_target: expected 0 < real_target <= 1, got {self.real_target!r}")
        if self.real_target != 1.0 and losses.PAIRED_D_LOSS[self.g_loss] != "bce":
            raise ValueError(f"real_target: label smoothing applies to the bce losses, not g_loss={self.g_loss!r}")
        for name in ("optimizer", "d_optimizer"):
            v = getattr(self, name)
            if v not in OPTIMIZERS and not (name == "d_optimizer" and v is None):
                raise ValueError(f"{name}: expected one of {OPTIMIZERS}, got {v!r}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay: expected 0 < lr_decay <= 1, got {self.lr_decay!r}")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip: expected None or a positive number, got {self.clip!r}")
        if self.clip is None and self.g_loss == "wasserstein":
            self.clip = 0.01  # Arjovsky et al. 2017: the critic must stay Lipschitz

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"config: unknown keys {sorted(unknown)}")
        return cls(**d)


class GAN:
    """A generator, a discriminator, their optimizers, the data and the history of a run.

    >>> gan = GAN(TrainConfig(steps=2000))
    >>> gan.train()                 # or gan.train_step() one step at a time
    >>> x = gan.sample(1000)        # (1000, data_dim) NumPy array
    """

    def __init__(self, config: TrainConfig | None = None, **overrides):
        if config is None:
            config = TrainConfig(**overrides)
        elif overrides:
            config = TrainConfig.from_dict({**config.to_dict(), **overrides})
        self.config = c = config
        self.backend = b = get_backend(c.backend, dtype=c.dtype)
        self.xp = b.xp
        self.rng = b.random(c.seed)
        self.data = make_dataset(c.dataset, b, self.rng, **c.data_params)
        dim = self.data.dim
        self.G = MLP(MLPSpec((c.noise_dim, *c.g_hidden, dim), c.activation, c.g_output, None, 0.0, c.g_batch_norm, c.init), b, rng=self.rng)
        self.D = MLP(MLPSpec((dim, *c.d_hidden, 1), c.activation, None, c.d_maxout, c.d_dropout, False, c.init), b, rng=self.rng)
        opt_kw = {"betas": c.betas, "momentum": c.momentum}
        self.g_opt = make_optimizer(c.optimizer, c.g_lr, **opt_kw)
        self.d_opt = make_optimizer(c.d_optimizer or c.optimizer, c.d_lr, **opt_kw)
        self.d_loss = losses.get_discriminator_loss(losses.PAIRED_D_LOSS[c.g_loss])
        self.g_loss = losses.get_generator_loss(c.g_loss)
        self.step = 0
        self.history: list[list[float]] = []  # host rows, one per step, columns HISTORY
        self._pending = []  # device rows not yet copied to the host

    # -- the pieces of a step ---------------------------------------------------------
    def _d_loss(self, l_r, l_f):
        if self.config.real_target != 1.0:
            return self.d_loss(l_r, l_f, real_target=self.config.real_target, check=False)
        return self.d_loss(l_r, l_f, check=False)

    def _discriminator_pass(self, keep_g_cache=True):
        """Steps 1-4 up to D's gradient: draw z and x, one D pass over [x; G(z)].

        ``keep_g_cache=False`` drops G's forward cache at once (returns None for it): a pass
        whose fakes G will not be trained on keeps no G activations through D's backward.
        """
        c, xp, m = self.config, self.xp, self.config.batch_size
        z = self.rng.normal((m, c.noise_dim))
        x = self.data.sample(m)
        fake, g_cache = self.G.forward(z, check=False, inplace=True)
        if not keep_g_cache:
            g_cache = None
        logits, d_cache = self.D.forward(xp.concat([x, fake], axis=0), check=False, inplace=True)
        l_r, l_f = logits[:m, :], logits[m:, :]
        L_D, dl_r, dl_f = self._d_loss(l_r, l_f)
        dl = xp.concat([dl_r, dl_f], axis=0)
        return fake, g_cache, logits, d_cache, L_D, dl

    def _update_d(self, d_grads):
        self.d_opt.step(self.D.params(), d_grads)
        if self.config.clip is not None:
            c = self.config.clip
            for name, p in self.D.params().items():
                self.D.set_param(name, self.xp.clip(p, -c, c))

    def _generator_grads(self, l_f, d_cache, g_cache, rows=None):
        """L_G and ∂L_G/∂θg for fake logits l_f: back through D (input gradient only), then G."""
        L_G, dl_f = self.g_loss(l_f, check=False)
        if rows is not None:  # l_f are rows [m:] of a pass over [x; G(z)]: zero the real rows
            dl_f = self.xp.concat([self.xp.zeros_like(dl_f), dl_f], axis=0)
        dx, _ = self.D.backward(dl_f, d_cache, need_dx=True, need_grads=False, release=True)
        if rows is not None:
            dx = dx[rows:, :]
        _, g_grads = self.G.backward(dx, g_cache, need_dx=False, release=True)
        return L_G, g_grads

    def train_step(self):
        """One iteration of Algorithm 1; returns this step's history row (a device array)."""
        c, xp, m = self.config, self.xp, self.config.batch_size
        if c.lr_decay != 1.0 and self.step % c.log_every == 0:
            f = self.lr_factor(self.step)
            self.g_opt.lr, self.d_opt.lr = c.g_lr * f, c.d_lr * f
        for i in range(c.k):
            last = i == c.k - 1
            fake, g_cache, logits, d_cache, L_D, dl = self._discriminator_pass(keep_g_cache=last and c.mode != "fresh")
            if last and c.mode == "simultaneous":
                # both gradients from this one pass, before either network changes
                _, d_grads = self.D.backward(dl, d_cache, need_dx=False)
                L_G, g_grads = self._generator_grads(logits[m:, :], d_cache, g_cache, rows=m)
                self._update_d(d_grads)
                break
            # release: D's activations go as its backward moves down (this cache is done)
            _, d_grads = self.D.backward(dl, d_cache, need_dx=False, release=True)
            self._update_d(d_grads)
        if c.mode == "fresh":
            z = self.rng.normal((m, c.noise_dim))
            fake, g_cache = self.G.forward(z, check=False, inplace=True)
        if c.mode in ("fresh", "reuse"):
            l_f, d2_cache = self.D.forward(fake, check=False, inplace=True)
            L_G, g_grads = self._generator_grads(l_f, d2_cache, g_cache)
        self.g_opt.step(self.G.params(), g_grads)
        self.step += 1
        row = self._record(logits, L_D, L_G)
        self._pending.append(row)
        if len(self._pending) >= c.log_every:
            self.flush()
        return row

    def lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step``: 1 − (1 − lr_decay)·s₀/steps, where s₀ is
        ``step`` rounded down to a multiple of log_every (and at most ``steps``)."""
        c = self.config
        if c.steps <= 0 or c.lr_decay == 1.0:
            return 1.0
        s0 = min((step // c.log_every) * c.log_every, c.steps)
        return 1.0 - (1.0 - c.lr_decay) * s0 / c.steps

    def _record(self, logits, L_D, L_G):
        """The history row, computed on the device from the step-4 logits [l_r; l_f] (no sync).

        With the article's L_D = mean sp(−l_r) + mean sp(l_f) (whatever the loss form),
        L_G^ns = mean sp(−l_f), V = −L_D, total = L_D + L_G^ns, D_real = mean σ(l_r),
        D_fake = mean σ(l_f). All come from one softplus/sigmoid pass over
        u = [−l_r; −l_f; l_r; l_f], whose four blocks of m are averaged at once.
        """
        xp, m = self.xp, self.config.batch_size
        u = xp.concat([-logits, logits], axis=0)
        sp, sg = losses.softplus_sigmoid(u)
        # (2, 4) block means: rows sp, σ; columns the blocks −l_r, −l_f, l_r, l_f
        means = xp.sum(xp.reshape(xp.stack([sp, sg]), (2, 4, m)), axis=2) / m
        bce_d = means[0, 0] + means[0, 3]
        ns = means[0, 1]
        return xp.stack([
            L_D, L_G, ns, -bce_d, bce_d + ns, means[1, 2], means[1, 3],
            # ‖∇‖ = sqrt(Σ g²) of the gradients each optimizer just applied (it keeps Σ g²)
            xp.sqrt(self.g_opt.grad_sq), xp.sqrt(self.d_opt.grad_sq),
        ])

    def flush(self):
        """Copy pending history rows to the host; raise DivergenceError on NaN/inf."""
        if not self._pending:
            return
        rows = self.backend.to_numpy(self.xp.stack(self._pending))
        first = self.step - len(self._pending) + 1
        self._pending = []
        bad = ~np.isfinite(rows)
        if bad.any():
            r, col = np.argwhere(bad)[0]
            good = rows[: r].tolist()
            self.history.extend(good)
            raise DivergenceError(f"step {first + r}: {HISTORY[col]} is {rows[r, col]} (training diverged)")
        self.history.extend(rows.tolist())

    def train(self, steps: int | None = None, callback=None):
        """Run ``steps`` steps (default: config.steps); ``callback(gan)`` after each flush."""
        steps = self.config.steps if steps is None else steps
        for _ in range(steps):
            self.train_step()
            if callback is not None and not self._pending:
                callback(self)
        self.flush()
        return self

    # -- using the generator --------------------------------------------------------------
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """n generated samples (eval mode) as a NumPy array; ``seed`` gives a separate stream."""
        rng = self.rng if seed is None else self.backend.random(seed)
        z = rng.normal((n, self.config.noise_dim))
        return self.backend.to_numpy(self.G.forward(z, train=False)[0])

    def discriminate(self, x) -> np.ndarray:
        """D(x) = σ(logit) for a NumPy array x (N, dim), eval mode."""
        xb = self.backend.asarray(np.asarray(x, dtype=np.float64), dtype=self.backend.float_dtype)
        return self.backend.to_numpy(losses.sigmoid(self.D.forward(xb, train=False)[0]))[:, 0]

    def history_array(self) -> np.ndarray:
        """The history so far, (steps, len(HISTORY))."""
        self.flush()
        return np.asarray(self.history, dtype=np.float64).reshape(-1, len(HISTORY))


def equilibrium_values() -> dict:
    """The history quantities at D ≡ ½ (MATH.md): the reference lines of the loss plots."""
    return {"L_D": math.log(4), "L_G_ns": math.log(2), "V": -math.log(4), "total": 3 * math.log(2),
            "D_real": 0.5, "D_fake": 0.5}
