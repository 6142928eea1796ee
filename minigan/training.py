"""The training loop: Algorithm 1 of Goodfellow et al. (2014), and the article's six steps.

The article's steps (docs/MATH.md §7.2), and the ``GAN`` method that runs each::

    1. draw m noise vectors z and generate G(z)            discriminator_step()
    2. draw m real samples x                               discriminator_step()
    3. show both to D: logits = D([x; G(z)])               discriminator_step()
    4. compute L_D and descend ∇θd L_D (= ascend V)        discriminator_step()
    5. draw new noise and generate G'(z)                   generator_step()
    6. show G'(z) to D, compute L_G, descend ∇θg L_G       generator_step()

One training step (``GAN.train_step``) is Algorithm 1: steps 1-4 k times, then G's update, whose
source ``mode`` chooses:

    fresh:         steps 5-6 as written, through the updated D      (the paper's Algorithm 1)
    reuse:         step 6 on the step-1 samples, the updated D      generator_step(fakes)
    simultaneous:  G's gradient from the step-3 pass, before either  simultaneous_step()
                   network changed; steps 5-6 skipped               (the article's shortcut)

The gradient reaches G through D (docs/MATH.md §7.1): dl = ∂L_G/∂l_fake, dx = D's input
gradient (``input_gradient``), then G.backward(dx).

Three choices here make a step cheaper without changing a number: a discriminator step whose
samples G will not train on drops G's cache before D's pass (``GAN._generate``); the simultaneous
step takes G's gradient back through D's cache cut to the fake rows (``input_gradient``); and the
history row's means come from one softplus/sigmoid pass (``history_row``). Every other speed
trick lives behind ``backend.ops`` (``minigan.engine``). The networks check their inputs and the
optimizers their gradients on every call (O(1) each); the loss forms are called unchecked, their
check being a pass over the logits and a device sync (a NaN still reaches the history row).

A ``GAN`` is built from parts — generator, discriminator, data, optimizers, loss forms — and
``TrainConfig`` builds whichever are not given. ``TrainConfig()`` holds every default, the same
as ``minigan train``'s.

``update`` replaces Algorithm 1 by one of the game's own optimizers (``game_updates``;
docs/MATH.md §16): extragradient, optimistic or consensus, each moving both players from one
state (``mode="simultaneous"``, ``k=1``). For them a ``GAN`` is a ``game_updates.Game``:
``parameters``, ``draw``, ``gradients`` (both players' at one point), ``jacobian_transpose_vector``
(``second_order``) and ``project`` (D's weight clipping).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import losses, second_order
from ._checks import check_int
from ._types import Array, ArrayLike, Cache, DLoss, GLoss, Grads
from .backend import Random, get_backend
from .config import MODES, TrainConfig
from .data import ArrayDataset, Dataset, make_dataset
from .game_updates import UPDATES, GameUpdate, as_update
from .networks import MLP
from .optim import Optimizer

__all__ = [
    "GAN",
    "TrainConfig",
    "MODES",
    "HISTORY",
    "DivergenceError",
    "equilibrium_values",
    "history_row",
    "input_gradient",
    "clip_weights",
]

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
    - ``d_penalty``: ``(D, x_real, x_fake) -> (P, ∂P/∂θd by name)``, e.g. ``penalties.Penalty``;
    - ``update``: how a step moves the players: a name in ``game_updates.UPDATES`` (it goes into
      the config, ``TrainConfig.update``), a ``game_updates.GameUpdate`` (recorded in the config
      when its fields rebuild it), or None: the config's (``build_update``; by default "plain",
      Algorithm 1 by ``mode`` and ``k``); checked against the settings (``set_update``).

    ``rng``: the run's ``backend.Random`` (default: seeded with ``config.seed``). Other keyword
    arguments that are ``TrainConfig`` fields override the config's.
    """

    data: Dataset
    g_loss: GLoss
    d_loss: DLoss
    d_penalty: DPenalty | None

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
        update: str | GameUpdate | None = None,
        **overrides: Any,
    ) -> None:
        if isinstance(update, str):  # a name goes into the config, which records it
            overrides["update"] = update
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
        d_name = losses.PAIRED_D_LOSS[c.g_loss]
        self.d_loss = _loss("d_loss", d_loss, d_name, losses.get_discriminator_loss, smoothing)
        # the forms by name (None: a function), for the second-order products of "consensus"
        self.loss_names = (_name(g_loss, c.g_loss), _name(d_loss, d_name))
        self.d_penalty = d_penalty if d_penalty is not None else c.build_penalty(self.rng)
        self.set_update(c.build_update() if update is None or isinstance(update, str) else update)
        if isinstance(update, GameUpdate):
            self.config = c = _recorded(c, update)
        self.step = 0
        self.seconds = 0.0  # wall time spent in train(), over every resume (kept by checkpoints)
        self.history: list[list[float]] = []  # host rows, one per step, columns HISTORY
        self._pending: list[Array] = []  # device rows not yet copied to the host

    # -- the article's steps ------------------------------------------------------------
    def discriminator_step(self, keep_fakes: bool = False) -> tuple[Array, Array, tuple[Array, Cache] | None]:
        """Steps 1-4: a D pass over m real and m generated samples, then descend ∇θd L_D.

        Returns (L_D, the logits [l_r; l_f] of shape (2m, 1), fakes): ``fakes`` = (G(z), G's
        cache) when ``keep_fakes`` (for ``generator_step`` on the same samples), else None.
        """
        z, x = self._draw()  # steps 1-2: z ~ p_z, x ~ p_data
        fake, g_cache = self._generate(z, keep_cache=keep_fakes)  # step 1: G(z)
        logits, d_cache = self.D.forward(self.xp.concat([x, fake], axis=0))  # step 3: D on [x; G(z)]
        L_D, dl, p_grads = self._discriminator_loss(logits, x, fake)  # step 4: L_D, ∂L_D/∂logits
        _, d_grads = self.D.backward(dl, d_cache, need_dx=False, release=True)  # ∂L_D/∂θd
        self._update_discriminator(d_grads, p_grads)
        return L_D, logits, ((fake, g_cache) if keep_fakes else None)

    def generator_step(self, fakes: tuple[Array, Cache] | None = None) -> Array:
        """Steps 5-6: G(z) for new noise (or ``fakes`` = (G(z), G's cache) from a discriminator
        step), through D as it is now; descend ∇θg L_G. Returns L_G."""
        if fakes is None:  # step 5: new noise, G'(z)
            fakes = self.G.forward(self.rng.normal((self.config.batch_size, self.noise_dim)))
        fake, g_cache = fakes
        l_f, d_cache = self.D.forward(fake)  # step 6: D on G'(z), then L_G and ∂L_G/∂θg
        L_G, g_grads = self._generator_gradients(l_f, d_cache, g_cache)
        self.g_opt.step(self.G.params(), g_grads)
        return L_G

    def simultaneous_step(self) -> tuple[Array, Array, Array]:
        """The article's shortcut (steps 5-6 skipped): both gradients from one pass over
        [x; G(z)], before either network changes; then both updates. Returns (L_D, L_G, logits)."""
        g_grads, d_grads, (L_D, L_G, logits) = self.gradients(self._draw())  # steps 1-4, and G's
        self._update_discriminator(d_grads, None)  # then both updates
        self.g_opt.step(self.G.params(), g_grads)
        return L_D, L_G, logits

    def train_step(self) -> Array:
        """One iteration of Algorithm 1 (k discriminator steps, then the generator's, by mode);
        returns this step's history row (a device array)."""
        c = self.config
        self._decay_learning_rates()
        if self.update.name != "plain":  # one of the game's own optimizers (docs/MATH.md §16)
            L_D, L_G, logits = self.update.step(self)
        else:
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

    # -- the game, as game_updates sees it (docs/MATH.md §16) ----------------------------------
    def set_update(self, update: str | GameUpdate | None) -> None:
        """Use ``update`` from the next step on (a name in ``game_updates.UPDATES``, a
        ``GameUpdate``, or None: "plain"), after one clear ValueError if it has no meaning with this
        run's settings. The config records it (``update``, ``consensus_weight``, ``unroll_steps``,
        ``unroll_constant``) when it is one of ``game_updates.UPDATES``, so a checkpoint saved
        afterwards restores it."""
        update = as_update(update)
        c = self.config
        update.check(
            mode=c.mode,
            k=c.k,
            penalty=self.d_penalty is not None,
            clip=c.clip,
            g_loss=self.loss_names[0],
            d_loss=self.loss_names[1],
            real_target=c.real_target,
        )
        self.update = update
        self.config = _recorded(self.config, update)

    def parameters(self) -> tuple[dict[str, Array], dict[str, Array]]:
        """(θ_G, θ_D): the live parameter arrays of G and D (``MLP.params()``)."""
        return self.G.params(), self.D.params()

    def draw(self) -> tuple[Array, Array]:
        """A new batch (z, x): m noise vectors and m data points (steps 1-2)."""
        return self._draw()

    def gradients(self, batch: tuple[Array, Array]) -> tuple[Grads, Grads, tuple[Array, Array, Array]]:
        """(∂L_G/∂θg, ∂(L_D + P)/∂θd, (L_D, L_G, logits)) at the current parameters, from one pass
        over [x; G(z)] for the batch z (m, noise_dim), x (m, dim): steps 3-4 and G's gradient
        through the same pass (the simultaneous step's); gradients keyed as ``MLP.params()``, the
        logits [l_r; l_f] (2m, 1), P D's gradient penalty (if any)."""
        z, x = batch
        fake, g_cache = self.G.forward(z)
        logits, d_cache = self.D.forward(self.xp.concat([x, fake], axis=0))  # step 3
        L_D, dl, p_grads = self._discriminator_loss(logits, x, fake)  # step 4's gradient ...
        _, d_grads = self.D.backward(dl, d_cache, need_dx=False)  # (D's cache is kept for G's)
        m = self.config.batch_size
        L_G, g_grads = self._generator_gradients(logits[m:, :], d_cache, g_cache)  # ... and G's
        if p_grads is not None:
            d_grads = {k: g + p_grads[k] for k, g in d_grads.items()}
        return g_grads, d_grads, (L_D, L_G, logits)

    def jacobian_transpose_vector(
        self, batch: tuple[Array, Array], w_G: Grads, w_D: Grads
    ) -> tuple[Grads, Grads]:
        """Jᵀw for the game's field v = −(∂L_G/∂θg, ∂L_D/∂θd) on the batch (z, x), at the current
        parameters (``second_order.game_jacobian_transpose_vector``; docs/MATH.md §15.4): one
        forward pass of its own (new dropout masks), batch norm on this batch's statistics."""
        z, x = batch
        g_form, d_form = self.loss_names
        if g_form is None or d_form is None:
            raise ValueError("jacobian_transpose_vector: needs the loss forms by name, not functions")
        return second_order.game_jacobian_transpose_vector(
            self.G, self.D, z, x, w_G, w_D, d_form=d_form, g_form=g_form
        )

    def unrolling(self, batch: tuple[Array, Array]) -> second_order.UnrollPass:
        """The unrolled update's view of the batch (z, x): ``second_order.UnrollPass`` with this
        run's loss forms (docs/MATH.md §17)."""
        z, x = batch
        g_form, d_form = self.loss_names
        if g_form is None or d_form is None:
            raise ValueError("unrolling: needs the loss forms by name, not functions")
        return second_order.UnrollPass(self.G, self.D, z, x, d_form=d_form, g_form=g_form)

    def project(self) -> None:
        """D's constraint after each of its moves: the weight clipping ``config.clip``, if set."""
        if self.config.clip is not None:
            clip_weights(self.D, self.config.clip)

    # -- the pieces of the steps ----------------------------------------------------------
    def _draw(self) -> tuple[Array, Array]:
        """m noise vectors z ~ p_z (m, noise_dim) and m data points x ~ p_data (m, dim), in this order."""
        m = self.config.batch_size
        z = self.rng.normal((m, self.noise_dim))
        return z, self.data.sample(m)

    def _generate(self, z: Array, keep_cache: bool) -> tuple[Array, Cache]:
        """G(z), and G's cache if ``keep_cache``, else None: when G will not be trained on these
        samples its activations are freed here, before D's pass, instead of living through it."""
        fake, g_cache = self.G.forward(z)
        return fake, (g_cache if keep_cache else None)

    def _discriminator_loss(self, logits: Array, x: Array, fake: Array) -> tuple[Array, Array, Grads | None]:
        """L_D and ∂L_D/∂[l_r; l_f] (2m, 1) for the logits of a pass over [x; G(z)]. With a
        gradient penalty P (R1, R2, WGAN-GP; docs/MATH.md §12) L_D includes P, and the third value
        is ∂P/∂θd by parameter name (None without one)."""
        m = self.config.batch_size
        L_D, dl_r, dl_f = self.d_loss(logits[:m, :], logits[m:, :])
        p_grads = None
        if self.d_penalty is not None:
            P, p_grads = self.d_penalty(self.D, x, fake)
            L_D = L_D + P
        return L_D, self.xp.concat([dl_r, dl_f], axis=0), p_grads

    def _update_discriminator(self, d_grads: Grads, p_grads: Grads | None) -> None:
        """θd ← θd − δ(∂L_D/∂θd (+ ∂P/∂θd)); then the Wasserstein critic's weight clipping, if set."""
        if p_grads is not None:
            d_grads = {k: g + p_grads[k] for k, g in d_grads.items()}
        self.d_opt.step(self.D.params(), d_grads)
        if self.config.clip is not None:
            clip_weights(self.D, self.config.clip)

    def _generator_gradients(self, l_f: Array, d_cache: Cache, g_cache: Cache) -> tuple[Array, Grads]:
        """L_G and ∂L_G/∂θg for the fake logits l_f (docs/MATH.md §7.1): dl = ∂L_G/∂l_f, back
        through D to its input (D's parameter gradients not formed), then through G."""
        L_G, dl = self.g_loss(l_f)
        dx = input_gradient(self.D, dl, d_cache)
        _, g_grads = self.G.backward(dx, g_cache, need_dx=False, release=True)
        return L_G, g_grads

    def _decay_learning_rates(self) -> None:
        """At each multiple of log_every, both rates ← their configured value · lr_factor(step)."""
        c = self.config
        if c.lr_decay != 1.0 and self.step % c.log_every == 0:
            f = self.lr_factor(self.step)
            assert c.g_lr is not None and c.d_lr is not None  # TrainConfig.__post_init__ set both
            self.g_opt.lr, self.d_opt.lr = c.g_lr * f, c.d_lr * f

    def lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step``: 1 − (1 − lr_decay)·s₀/steps, where s₀ is
        ``step`` rounded down to a multiple of log_every (and at most ``steps``)."""
        c = self.config
        if c.steps <= 0 or c.lr_decay == 1.0:
            return 1.0
        s0 = min((step // c.log_every) * c.log_every, c.steps)
        return 1.0 - (1.0 - c.lr_decay) * s0 / c.steps

    def _record(self, logits: Array, L_D: Array, L_G: Array) -> Array:
        """This step's row of HISTORY (``history_row`` with the Σ g² each optimizer just applied)."""
        return history_row(logits, L_D, L_G, self.g_opt.grad_sq, self.d_opt.grad_sq)

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
        steps = check_int("steps", steps, low=0, what="a non-negative integer number of steps")
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
        n = check_int("n", n, what="a positive integer number of samples")
        rng = self.rng if seed is None else self.backend.random(seed)
        z = rng.normal((n, self.noise_dim))
        return self.data.decode(host_forward(self.G, z))  # in the data's scale

    def discriminate(self, x: ArrayLike) -> np.ndarray:
        """D(x) = σ(logit) for a NumPy array x (N, dim) in the data's own scale, eval mode."""
        xb = self.backend.asarray(self.data.network_input(x), dtype=self.backend.float_dtype)
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


def history_row(logits: Array, L_D: Array, L_G: Array, grad_sq_G: Array, grad_sq_D: Array) -> Array:
    """One row of HISTORY, computed on the device (no sync) from the logits [l_r; l_f] (2m, 1) of
    a pass over [x; G(z)], the step's losses and Σ g² of the gradients each optimizer applied.

    Whatever the loss form, the columns use the article's BCE: L_D^bce = mean sp(−l_r) + mean
    sp(l_f), V = −L_D^bce, L_G^ns = mean sp(−l_f), total = L_D^bce + L_G^ns, D_real = mean σ(l_r),
    D_fake = mean σ(l_f), and ‖∇‖ = sqrt(Σ g²). The four means of sp and σ come from one
    softplus/sigmoid pass over u = [−l_r; −l_f; l_r; l_f], its four blocks of m averaged at once
    (one call instead of eight small ones: this row is computed every step).
    """
    xp, m = logits.__array_namespace__(), logits.shape[0] // 2
    sp, sg = losses.softplus_sigmoid(xp.concat([-logits, logits], axis=0))
    # (2, 4) block means: rows sp, σ; columns the blocks −l_r, −l_f, l_r, l_f
    means = xp.sum(xp.reshape(xp.stack([sp, sg]), (2, 4, m)), axis=2) / m
    bce_d, ns = means[0, 0] + means[0, 3], means[0, 1]
    D_real, D_fake = means[1, 2], means[1, 3]
    return xp.stack(
        [L_D, L_G, ns, -bce_d, bce_d + ns, D_real, D_fake, xp.sqrt(grad_sq_G), xp.sqrt(grad_sq_D)]
    )


def input_gradient(D: MLP, dl: Array, d_cache: Cache) -> Array:
    """∂L/∂x (n, dim) for the last n = len(dl) rows of the D pass that made ``d_cache``, from
    dl = ∂L/∂(their logits) (n, 1); D's parameter gradients are not formed (docs/MATH.md §7.1),
    and the cache is released.

    When that pass had more rows (the simultaneous step's [x; G(z)]) the other rows carry
    ∂L/∂l = 0, so the backward runs over the cache cut to the n rows alone (``MLP.cache_rows``;
    docs/MATH.md §7.2): the same numbers for half the work. Batch norm in training ties the rows
    together; then the backward runs over every row, the others carrying 0.
    """
    n, rows = dl.shape[0], d_cache.rows
    if n < rows:
        cut = D.cache_rows(d_cache, slice(rows - n, None))
        if cut is not None:
            d_cache = cut
        else:
            dl = D.backend.xp.concat([D.backend.zeros((rows - n, dl.shape[1])), dl], axis=0)
    dx, _ = D.backward(dl, d_cache, need_grads=False, release=True)
    return dx[dx.shape[0] - n :, :]


def clip_weights(D: MLP, c: float) -> None:
    """Every parameter of D clipped to [−c, c]: the Wasserstein critic's Lipschitz constraint
    (Arjovsky et al. 2017). ``set_param``'s finite test is skipped: it is a pass over the values
    and a device sync, and a NaN would be caught by the history row anyway."""
    xp = D.backend.xp
    for name, p in D.params().items():
        D.set_param(name, xp.clip(p, -c, c), check=False)


SAMPLE_CHUNK = 65536  # rows of a network's eval-mode pass at a time in host_forward


def host_forward(net: MLP, x: Array, rows: int | None = None) -> np.ndarray:
    """net(x) in eval mode as a host NumPy array, (N, out), run on ``rows`` rows of x at a time so
    that the activations stay bounded whatever N (eval mode treats each row on its own: batch
    norm uses its running statistics, dropout is off). ``rows``: None for ``SAMPLE_CHUNK``."""
    rows = SAMPLE_CHUNK if rows is None else rows
    if x.shape[0] <= rows:
        return net.backend.to_numpy(net.forward(x, train=False)[0])
    return np.concatenate(
        [
            net.backend.to_numpy(net.forward(x[i : i + rows], train=False)[0])
            for i in range(0, x.shape[0], rows)
        ]
    )


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


def _recorded(config: TrainConfig, update: GameUpdate) -> TrainConfig:
    """``config`` with ``update`` in its fields when they rebuild it (one of ``game_updates.UPDATES``,
    with its settings: consensus's λ, unrolled's K and ablation), so that a checkpoint restores it;
    an update of your own leaves the config as it is."""
    settings = update.config()
    if settings.get("name") not in UPDATES:
        return config
    fields = {k: v for k, v in settings.items() if k != "name"}  # consensus_weight, unroll_steps, ...
    fields["update"] = settings["name"]
    try:  # parts given by hand (a loss by name) may make sense of an update the config's would not
        recorded = TrainConfig.from_dict({**config.to_dict(), **fields})
    except (ValueError, TypeError):
        return config
    rebuilt = recorded.build_update()
    return recorded if type(rebuilt) is type(update) and rebuilt.config() == settings else config


def _loss(arg, given, default_name, get, extra):
    """A loss function of the logits alone. A loss by name is called with check=False: its check
    is a pass over the logits and a device sync, every step; a NaN or inf still stops the run
    when the history row is copied to the host (``GAN.flush``)."""
    given = default_name if given is None else given
    if isinstance(given, str):
        return functools.partial(get(given), check=False, **extra)
    if not callable(given):
        raise TypeError(f"{arg}: expected a loss name or a function, got {type(given).__name__}")
    return given


def _name(given, default_name):
    """The loss form's name: ``given`` if a name, ``default_name`` if None, else None (a function)."""
    return default_name if given is None else given if isinstance(given, str) else None


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
