"""The training loop: Algorithm 1 of Goodfellow et al. (2014), and the article's six steps.

One training step (``GAN.train_step``; docs/MATH.md §7.2)::

    repeat k times:                                   # steps 1-4: discriminator_step()
        z ~ p_z (m draws), x ~ p_data (m draws)
        logits = D([x; G(z)])                         # one D pass over real and fake
        descend ∇θd L_D(l_real, l_fake)               # = ascend V(D, G)
    generator update                                  # steps 5-6, by ``mode``:
        fresh:        new z, the updated D            generator_step()  (the paper's Algorithm 1)
        reuse:        the same G(z), the updated D    generator_step(fakes)  (common in tutorials)
        simultaneous: G's gradient from the step-4    simultaneous_step()  (the article's shortcut:
                      pass, before either net changed                       steps 5-6 skipped)
    descend ∇θg L_G(D(G(z)))

The gradient reaches G through D (docs/MATH.md §7.1): dl = ∂L_G/∂l_fake, dx = D.backward(dl)
(input gradient only), then G.backward(dx).

A ``GAN`` is built from parts — generator, discriminator, data, optimizers, loss forms — and
``TrainConfig`` builds whichever are not given. ``TrainConfig()`` holds every default, the same
as ``minigan train``'s.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import losses
from ._types import Array, ArrayLike, Cache, DLoss, GLoss, Grads
from .backend import Random, get_backend
from .config import MODES, TrainConfig
from .data import ArrayDataset, Dataset, make_dataset
from .networks import MLP
from .optim import Optimizer

__all__ = ["GAN", "TrainConfig", "MODES", "HISTORY", "DivergenceError", "equilibrium_values"]

# One row of history per step, in this order.
HISTORY = ("L_D", "L_G", "L_G_ns", "V", "total", "D_real", "D_fake", "grad_norm_G", "grad_norm_D")


class DivergenceError(FloatingPointError):
    """Training diverged: at ``step`` the quantity ``quantity`` (a column of ``HISTORY`` or a
    parameter's name) is ``value`` (NaN or inf; None for a parameter with some entry not finite).
    ``last_checkpoint``: the step of the last checkpoint written before it (set by the run driver)."""

    def __init__(
        self, step: int, quantity: str, value: float | None = None, last_checkpoint: int | None = None
    ) -> None:
        self.step, self.quantity, self.value, self.last_checkpoint = step, quantity, value, last_checkpoint
        what = "not finite" if value is None else str(value)
        super().__init__(f"step {step}: {quantity} is {what} (training diverged)")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its attributes (a sweep's worker process)
        return (type(self), (self.step, self.quantity, self.value, self.last_checkpoint))


# D's gradient penalty: (D, x_real, x_fake) -> (P, ∂P/∂θd by parameter name), e.g. penalties.Penalty
DPenalty = Callable[[MLP, Array, Array], tuple[Array, Grads]]


class GAN:
    """A generator, a discriminator, their optimizers, the data and the history of a run.

    >>> gan = GAN(TrainConfig(steps=2000))                    # everything from the config
    >>> gan = GAN(data=x, G=my_generator, g_loss="minimax")   # or from your own parts
    >>> gan.train()                 # or gan.train_step() one step at a time
    >>> x = gan.sample(1000)        # (1000, data_dim) NumPy array

    Parts (each optional; ``config`` builds what is not given):

    - ``G``, ``D``: ``MLP``s, G: (N, noise_dim) → (N, data_dim), D: (N, data_dim) → (N, 1) logits;
    - ``data``: a ``data.Dataset`` or an (N, data_dim) array (rows drawn with replacement);
    - ``g_opt``, ``d_opt``: ``optim.Optimizer``s;
    - ``g_loss``: a name in ``losses.GENERATOR_LOSSES`` or a function ``l_fake -> (L_G, ∂L_G/∂l_fake)``;
      ``d_loss``: a name in ``losses.DISCRIMINATOR_LOSSES`` or ``(l_real, l_fake) -> (L_D, ∂/∂l_real,
      ∂/∂l_fake)``; by default the pair of ``config.g_loss`` (with its label smoothing);
    - ``d_penalty``: ``(D, x_real, x_fake) -> (P, ∂P/∂θd by name)``, e.g. ``penalties.Penalty``.

    ``rng``: the run's ``backend.Random`` (default: seeded with ``config.seed``). Other keyword
    arguments that are ``TrainConfig`` fields override the config's.
    """

    data: Dataset
    g_loss: GLoss
    d_loss: DLoss
    d_penalty: DPenalty | None
    _p_grads: Grads  # the penalty's gradient, from _d_gradient to _update_d

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        G: MLP | None = None,
        D: MLP | None = None,
        data: Dataset | ArrayLike | None = None,
        g_opt: Optimizer | None = None,
        d_opt: Optimizer | None = None,
        g_loss: str | GLoss | None = None,
        d_loss: str | DLoss | None = None,
        d_penalty: DPenalty | None = None,
        rng: Random | None = None,
        **overrides: Any,
    ) -> None:
        if config is None:
            config = TrainConfig(**overrides)
        elif overrides:
            config = TrainConfig.from_dict({**config.to_dict(), **overrides})
        self.config = c = config
        given = next((n for n in (G, D) if isinstance(n, MLP)), None)
        self.backend = b = given.backend if given is not None else get_backend(c.backend, dtype=c.dtype)
        self.xp = b.xp
        self.rng = rng if rng is not None else b.random(c.seed)
        data_given = data
        if data is None:
            data = make_dataset(c.dataset, b, self.rng, **c.data_params)
        elif not isinstance(data, Dataset):
            data = ArrayDataset(b, self.rng, data)
        self.data, self.data_from_config, dim = data, data_given is None, data.dim
        G = G if G is not None else c.build_generator(dim, b, self.rng)
        D = D if D is not None else c.build_discriminator(dim, b, self.rng)
        self.g_opt = g_opt if g_opt is not None else c.build_optimizer("g")
        self.d_opt = d_opt if d_opt is not None else c.build_optimizer("d")
        _check_parts(G, D, dim, b, self.g_opt, self.d_opt)
        self.G, self.D, self.noise_dim = G, D, G.spec.sizes[0]
        self.g_loss = _loss("g_loss", g_loss, c.g_loss, losses.get_generator_loss, {})
        smoothing = {"real_target": c.real_target} if c.real_target != 1.0 else {}
        self.d_loss = _loss(
            "d_loss", d_loss, losses.PAIRED_D_LOSS[c.g_loss], losses.get_discriminator_loss, smoothing
        )
        self.d_penalty = d_penalty if d_penalty is not None else c.build_penalty(self.rng)
        self.step = 0
        self.seconds = 0.0  # wall time spent in train(), over every resume (kept by checkpoints)
        self.history: list[list[float]] = []  # host rows, one per step, columns HISTORY
        self._pending: list[Array] = []  # device rows not yet copied to the host

    # -- the article's steps ------------------------------------------------------------
    def _real_and_fake_pass(self, keep_g_cache):
        """Steps 1-3: z ~ p_z and x ~ p_data (m each), G(z), and one D pass over [x; G(z)].

        Returns G(z), G's cache (None unless ``keep_g_cache``: a pass whose fakes G will not be
        trained on keeps no G activations through D's backward), the logits [l_r; l_f] (2m, 1)
        and D's cache.
        """
        m = self.config.batch_size
        z = self.rng.normal((m, self.noise_dim))
        x = self.data.sample(m)
        fake, g_cache = self.G.forward(z, check=False)
        self._batch = (x, fake)  # for a gradient penalty
        kept = g_cache if keep_g_cache else None  # before D's pass: G's activations are not held through it
        del g_cache
        logits, d_cache = self.D.forward(self.xp.concat([x, fake], axis=0), check=False)
        return fake, kept, logits, d_cache

    def _d_gradient(self, logits):
        """L_D and ∂L_D/∂[l_r; l_f] for the logits of a step-3 pass."""
        m = self.config.batch_size
        L_D, dl_r, dl_f = self.d_loss(logits[:m, :], logits[m:, :])
        if self.d_penalty is not None:  # R1, R2, WGAN-GP: P joins L_D, ∂P/∂θd D's gradient (docs/MATH.md §12)
            P, self._p_grads = self.d_penalty(self.D, *self._batch)
            L_D = L_D + P
        return L_D, self.xp.concat([dl_r, dl_f], axis=0)

    def _update_d(self, d_grads):
        if self.d_penalty is not None:
            d_grads = {k: g + self._p_grads[k] for k, g in d_grads.items()}
        self.d_opt.step(self.D.params(), d_grads, check=False)
        if self.config.clip is not None:  # the Wasserstein critic's weight clipping
            c = self.config.clip
            for name, p in self.D.params().items():
                self.D.set_param(name, self.xp.clip(p, -c, c), check=False)

    def _generator_gradients(self, l_f, d_cache, g_cache, rows=0):
        """L_G and ∂L_G/∂θg for fake logits l_f: back through D (input gradient only), then G.
        ``rows`` = m when l_f are the rows [m:] of a pass over [x; G(z)]: ∂L_G/∂l_r = 0, so the
        backward through D runs over the fake rows alone (``MLP.cache_rows``)."""
        L_G, dl_f = self.g_loss(l_f)
        if rows:  # back through D on the fake rows alone (the real rows' gradient is 0) ...
            fake_rows = self.D.cache_rows(d_cache, slice(rows, None))
            if fake_rows is not None:
                d_cache = fake_rows
            else:  # ... unless batch norm in D ties the rows: then on every row, the real ones with 0
                dl_f = self.xp.concat([self.xp.zeros_like(dl_f), dl_f], axis=0)
        dx, _ = self.D.backward(dl_f, d_cache, need_dx=True, need_grads=False, release=True, check=False)
        _, g_grads = self.G.backward(
            dx[dx.shape[0] - l_f.shape[0] :, :], g_cache, need_dx=False, release=True, check=False
        )
        return L_G, g_grads

    def discriminator_step(self, keep_fakes: bool = False) -> tuple[Array, Array, tuple[Array, Cache] | None]:
        """Steps 1-4: a D pass over m real and m generated samples, then descend ∇θd L_D.

        Returns (L_D, the logits [l_r; l_f] of shape (2m, 1), fakes): ``fakes`` = (G(z), G's
        cache) when ``keep_fakes`` (for ``generator_step`` on the same samples), else None.
        """
        fake, g_cache, logits, d_cache = self._real_and_fake_pass(keep_g_cache=keep_fakes)
        L_D, dl = self._d_gradient(logits)
        _, d_grads = self.D.backward(dl, d_cache, need_dx=False, release=True, check=False)
        self._update_d(d_grads)
        return L_D, logits, ((fake, g_cache) if keep_fakes else None)

    def generator_step(self, fakes: tuple[Array, Cache] | None = None) -> Array:
        """Steps 5-6: G(z) for new noise (or ``fakes`` = (G(z), G's cache) from a discriminator
        step), through D as it is now; descend ∇θg L_G. Returns L_G."""
        if fakes is None:
            fakes = self.G.forward(self.rng.normal((self.config.batch_size, self.noise_dim)), check=False)
        fake, g_cache = fakes
        l_f, d_cache = self.D.forward(fake, check=False)
        L_G, g_grads = self._generator_gradients(l_f, d_cache, g_cache)
        self.g_opt.step(self.G.params(), g_grads, check=False)
        return L_G

    def simultaneous_step(self) -> tuple[Array, Array, Array]:
        """The article's shortcut (steps 5-6 skipped): both gradients from one pass over
        [x; G(z)], before either network changes; then both updates. Returns (L_D, L_G, logits)."""
        m = self.config.batch_size
        fake, g_cache, logits, d_cache = self._real_and_fake_pass(keep_g_cache=True)
        L_D, dl = self._d_gradient(logits)
        _, d_grads = self.D.backward(dl, d_cache, need_dx=False, check=False)
        L_G, g_grads = self._generator_gradients(logits[m:, :], d_cache, g_cache, rows=m)
        self._update_d(d_grads)
        self.g_opt.step(self.G.params(), g_grads, check=False)
        return L_D, L_G, logits

    def train_step(self) -> Array:
        """One iteration of Algorithm 1 (k discriminator steps, then the generator's, by mode);
        returns this step's history row (a device array)."""
        c = self.config
        if c.lr_decay != 1.0 and self.step % c.log_every == 0:
            f = self.lr_factor(self.step)
            assert c.g_lr is not None and c.d_lr is not None  # TrainConfig.__post_init__ set both
            self.g_opt.lr, self.d_opt.lr = c.g_lr * f, c.d_lr * f
        for _ in range(c.k - 1):
            self.discriminator_step()
        if c.mode == "simultaneous":
            L_D, L_G, logits = self.simultaneous_step()
        else:
            L_D, logits, fakes = self.discriminator_step(keep_fakes=c.mode == "reuse")
            L_G = self.generator_step(fakes)
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
        return xp.stack(
            [
                L_D,
                L_G,
                ns,
                -bce_d,
                bce_d + ns,
                means[1, 2],
                means[1, 3],
                # ‖∇‖ = sqrt(Σ g²) of the gradients each optimizer just applied (it keeps Σ g²)
                xp.sqrt(self.g_opt.grad_sq),
                xp.sqrt(self.d_opt.grad_sq),
            ]
        )

    def flush(self) -> None:
        """Copy pending history rows to the host; raise DivergenceError on NaN/inf."""
        if not self._pending:
            return
        rows = self.backend.to_numpy(self.xp.stack(self._pending))
        first = self.step - len(self._pending) + 1
        self._pending = []
        bad = ~np.isfinite(rows)
        if bad.any():
            r, col = np.argwhere(bad)[0]
            self.history.extend(rows[:r].tolist())
            raise DivergenceError(first + int(r), HISTORY[col], float(rows[r, col]))
        self.history.extend(rows.tolist())

    def train(self, steps: int | None = None, callback: Callable[[GAN], Any] | None = None) -> GAN:
        """Run ``steps`` steps (default: config.steps); ``callback(gan)`` after each flush."""
        steps = self.config.steps if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps: expected a non-negative integer number of steps, got {steps!r}")
        if callback is not None and not callable(callback):
            raise TypeError(
                f"callback: expected a function of the GAN or None, got {type(callback).__name__}"
            )
        t0, before = time.perf_counter(), self.seconds
        for _ in range(steps):
            self.train_step()
            if callback is not None and not self._pending:
                self.seconds = before + time.perf_counter() - t0
                callback(self)
        self.flush()
        self.seconds = before + time.perf_counter() - t0
        return self

    # -- using the generator --------------------------------------------------------------
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """n generated samples (eval mode) as a NumPy array; ``seed`` gives a separate stream."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n: expected a positive integer number of samples, got {n!r}")
        rng = self.rng if seed is None else self.backend.random(seed)
        z = rng.normal((n, self.noise_dim))
        return self.data.decode(self.backend.to_numpy(self.G.forward(z, train=False)[0]))  # the data's scale

    def discriminate(self, x: ArrayLike) -> np.ndarray:
        """D(x) = σ(logit) for a NumPy array x (N, dim) in the data's own scale, eval mode."""
        xb = self.backend.asarray(
            self.data.encode(np.asarray(x, dtype=np.float64)), dtype=self.backend.float_dtype
        )
        return self.backend.to_numpy(losses.sigmoid(self.D.forward(xb, train=False)[0]))[:, 0]

    def set_history(self, rows: list[list[float]]) -> None:
        """Replace the history by ``rows`` (host rows, columns HISTORY) and drop the rows not yet
        copied from the device (a checkpoint being loaded into this GAN)."""
        self.history = [list(r) for r in rows]
        self._pending = []

    def history_array(self) -> np.ndarray:
        """The history so far, (steps, len(HISTORY))."""
        self.flush()
        return np.asarray(self.history, dtype=np.float64).reshape(-1, len(HISTORY))


def equilibrium_values() -> dict[str, float]:
    """The history quantities at D ≡ ½ (docs/MATH.md §4): the reference lines of the loss plots."""
    return {
        "L_D": math.log(4),
        "L_G_ns": math.log(2),
        "V": -math.log(4),
        "total": 3 * math.log(2),
        "D_real": 0.5,
        "D_fake": 0.5,
    }


def _loss(arg, given, default_name, get, extra):
    """A loss function of the logits alone (inputs unchecked: the step's own arrays)."""
    given = default_name if given is None else given
    if isinstance(given, str):
        return functools.partial(get(given), check=False, **extra)
    if not callable(given):
        raise TypeError(f"{arg}: expected a loss name or a function, got {type(given).__name__}")
    return given


def _check_parts(G, D, dim, backend, g_opt, d_opt):
    """One clear line if a part is not what it should be, or the parts do not fit together."""
    for name, part, cls in (
        ("G", G, MLP),
        ("D", D, MLP),
        ("g_opt", g_opt, Optimizer),
        ("d_opt", d_opt, Optimizer),
    ):
        if not isinstance(part, cls):
            raise TypeError(
                f"{name}: expected {'an MLP' if cls is MLP else 'an optim.Optimizer'}, "
                f"got {type(part).__name__}"
            )
    if G.spec.sizes[-1] != dim:
        raise ValueError(f"G: its output has {G.spec.sizes[-1]} features, the data {dim}")
    if D.spec.sizes[0] != dim or D.spec.sizes[-1] != 1:
        raise ValueError(f"D: expected sizes ({dim}, ..., 1) (data in, one logit out), got {D.spec.sizes}")
    for name, net in (("G", G), ("D", D)):
        if net.backend.spec != backend.spec or net.dtype != backend.float_dtype:
            raise ValueError(
                f"{name}: built on {net.backend.spec} in {net.dtype}, the run is on "
                f"{backend.spec} in {backend.float_dtype}"
            )
