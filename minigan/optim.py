"""Optimizers, written by hand on the backend: SGD with momentum (the paper's), Adam, RMSProp.

An optimizer updates a network's live parameter arrays **in place** from a dict of
gradients with the same names (``MLP.params()`` / ``MLP.backward``). Its state (moments,
step count) is a dict of arrays, so checkpoints can save and restore it.
"""

from __future__ import annotations

import math

from . import fused
from .backend import on_gpu

OPTIMIZERS = ("sgd", "adam", "rmsprop")
BLOCK = 1 << 16  # elements per block of an update (256 KiB of float32 per vector)


def _check_lr(lr):
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr: expected a positive finite learning rate, got {lr!r}")


class Optimizer:
    """Base class. ``step(params, grads)`` updates ``params[name]`` in place.

    Each rule is written once, over the flat vector of all parameters: ``step`` joins the
    gradients into one vector g (in the order of ``grads``), keeps the state in flat
    vectors (``slots[slot][name]`` are views into them, one per parameter, so the state
    still reads and saves per parameter), asks the subclass for the flat move δ
    (``direction``) and applies p ← p − δ[its part] to each parameter. The arithmetic is
    that of a loop over the parameters; it just costs a handful of array operations per
    step instead of a handful per parameter.

    After each step, ``grad_sq`` holds Σ g² over all the gradients it was given (a 0-d
    array on the device, no sync): the training history's gradient norm, for free.
    """

    name = "optimizer"
    slot_names: tuple = ()  # the per-parameter state arrays this rule keeps

    def __init__(self, lr):
        _check_lr(lr)
        self.lr = float(lr)
        self.t = 0  # number of steps taken
        self.slots: dict[str, dict] = {}  # slot name -> {param name -> array}
        self._layout = None  # ((name, shape, size), ...) the flat vectors were built for
        self._flat = {}  # slot name -> flat state vector
        self._views = {}  # slot name -> {param name -> view into the flat vector}
        self.grad_sq = None  # Σ g² of the last step's gradients

    def step(self, params: dict, grads: dict):
        self.t += 1
        for name in grads:
            if name not in params:
                raise KeyError(f"grads: no parameter called {name!r}")
        if not grads:
            return
        xp = next(iter(grads.values())).__array_namespace__()
        layout = tuple((name, tuple(g.shape), math.prod(g.shape)) for name, g in grads.items())
        g = xp.concat([xp.reshape(grads[name], (n,)) for name, _, n in layout])
        self.grad_sq = g @ g
        state = self._flat_state(xp, layout, g)
        # The rule is elementwise, so it can run block by block: the few vectors it touches
        # then stay in cache across its dozen operations, instead of each operation making
        # its own trip through memory. δ is written over g, block by block.
        total = g.shape[0]
        block = total if on_gpu(g) else BLOCK  # a GPU: one kernel each
        for a in range(0, total, block):
            r = slice(a, min(a + block, total))
            gr = g[r]
            delta = self.direction(gr, {s: v[r] for s, v in state.items()})
            if delta is not gr:
                gr[...] = delta
        a = 0
        for name, shape, n in layout:
            p = params[name]
            p -= xp.reshape(g[a:a + n], shape)  # p ← p − δ[part of p]
            a += n

    def direction(self, g, state: dict):
        """The flat move δ (p ← p − δ) for the flat gradient g; updates ``state`` (slot ->
        flat vector) in place. g is this step's own copy and may be overwritten (and returned)."""
        raise NotImplementedError

    def _flat_state(self, xp, layout, g) -> dict:
        """slot -> flat vector for ``layout``; rebuilt (from the per-parameter slots, zeros
        where none) when the parameters change or the slots were replaced (load_state_dict)."""
        if layout == self._layout and all(
            self.slots.get(s, {}).get(name) is self._views[s][name] for s in self.slot_names for name, _, _ in layout
        ):
            return self._flat
        total = sum(n for _, _, n in layout)
        self._flat, self._views = {}, {}
        for s in self.slot_names:
            old = self.slots.setdefault(s, {})
            flat = xp.zeros((total,), dtype=g.dtype, device=g.device)
            views, a = {}, 0
            for name, shape, n in layout:
                views[name] = xp.reshape(flat[a:a + n], shape)
                if name in old:
                    views[name][...] = old[name]
                a += n
            self._flat[s], self._views[s] = flat, views
            old.update(views)
        self._layout = layout
        return self._flat

    def config(self) -> dict:
        """The hyper-parameters (JSON-able), enough to rebuild this optimizer."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Flat name -> array/scalar dict: ``t`` and ``<slot>/<param name>`` arrays."""
        out = {"t": self.t}
        for slot, d in self.slots.items():
            for name, a in d.items():
                out[f"{slot}/{name}"] = a
        return out

    def load_state_dict(self, state: dict, backend):
        self.t = int(state["t"])
        self.slots = {}
        self._layout = None
        for key, a in state.items():
            if key == "t":
                continue
            slot, _, name = key.partition("/")
            self.slots.setdefault(slot, {})[name] = backend.asarray(a, dtype=backend.float_dtype)


class SGD(Optimizer):
    """SGD with (heavy-ball) momentum, as the paper trained (Goodfellow et al. 2014, App.):

    v ← μ·v − lr·g;   p ← p + v.
    """

    name = "sgd"

    def __init__(self, lr=0.1, momentum=0.5):
        super().__init__(lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum: expected 0 <= momentum < 1, got {momentum!r}")
        self.momentum = float(momentum)
        self.slot_names = ("v",) if self.momentum else ()

    def direction(self, g, state):
        g *= self.lr  # lr·g
        if self.momentum == 0.0:
            return g  # p ← p − lr·g
        v = state["v"]
        v *= self.momentum
        v -= g  # v ← μ·v − lr·g
        return -v  # p ← p + v

    def config(self):
        return {"name": "sgd", "lr": self.lr, "momentum": self.momentum}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, arXiv 1412.6980), with PyTorch's placement of eps:

    m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²;
    p ← p − lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps).
    """

    name = "adam"
    slot_names = ("m", "v")

    def __init__(self, lr=2e-4, betas=(0.5, 0.999), eps=1e-8):
        super().__init__(lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas: expected two numbers in [0, 1), got {betas!r}")
        if eps <= 0:
            raise ValueError(f"eps: expected a positive number, got {eps!r}")
        self.b1, self.b2, self.eps = float(b1), float(b2), float(eps)

    def direction(self, g, state):
        xp = g.__array_namespace__()
        m, v = state["m"], state["v"]
        sc2 = math.sqrt(1.0 - self.b2**self.t)
        if fused.enabled(g):  # CuPy with MINIGAN_FUSED=1: the lines below in one kernel
            return fused.adam(g, m, v, self.b1, self.b2, self.eps * sc2, self.lr * sc2 / (1.0 - self.b1**self.t))
        # m ← β1·m + (1−β1)·g, written as β1·(m − g) + g: in place, no temporary
        m -= g
        m *= self.b1
        m += g
        # v ← β2·v + (1−β2)·g², the same way, with g² written over g (the step's own copy)
        g *= g
        v -= g
        v *= self.b2
        v += g
        # δ = lr·(m/c1)/(sqrt(v/c2) + eps) with c1 = 1−β1ᵗ, c2 = 1−β2ᵗ, written with the bias
        # corrections on scalars (Kingma & Ba 2015, end of Sec. 2):
        #   δ = (lr·sqrt(c2)/c1) · m/(sqrt(v) + eps·sqrt(c2)),
        # into g again, so the only new array is sqrt(v).
        denom = xp.sqrt(v)
        denom += self.eps * sc2
        g[...] = m
        g /= denom
        g *= self.lr * sc2 / (1.0 - self.b1**self.t)
        return g

    def config(self):
        return {"name": "adam", "lr": self.lr, "betas": [self.b1, self.b2], "eps": self.eps}


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton 2012), WGAN's optimizer (Arjovsky et al. 2017):

    s ← α·s + (1−α)·g²;   p ← p − lr · g / (sqrt(s) + eps).
    """

    name = "rmsprop"
    slot_names = ("s",)

    def __init__(self, lr=5e-5, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha: expected 0 <= alpha < 1, got {alpha!r}")
        self.alpha, self.eps = float(alpha), float(eps)

    def direction(self, g, state):
        xp = g.__array_namespace__()
        s = state["s"]
        s *= self.alpha
        s += (1.0 - self.alpha) * (g * g)  # s ← α·s + (1−α)·g²
        denom = xp.sqrt(s)
        denom += self.eps
        g /= denom
        g *= self.lr  # lr·g/(sqrt(s) + eps)
        return g

    def config(self):
        return {"name": "rmsprop", "lr": self.lr, "alpha": self.alpha, "eps": self.eps}


def make_optimizer(name: str, lr: float, **kw) -> Optimizer:
    """An optimizer by name: sgd (momentum=), adam (betas=, eps=), rmsprop (alpha=, eps=)."""
    if name == "sgd":
        return SGD(lr, **{k: v for k, v in kw.items() if k in ("momentum",)})
    if name == "adam":
        return Adam(lr, **{k: v for k, v in kw.items() if k in ("betas", "eps")})
    if name == "rmsprop":
        return RMSProp(lr, **{k: v for k, v in kw.items() if k in ("alpha", "eps")})
    raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {name!r}")


def from_config(cfg: dict) -> Optimizer:
    """Rebuild an optimizer from ``Optimizer.config()``."""
    cfg = dict(cfg)
    name = cfg.pop("name")
    if "betas" in cfg:
        cfg["betas"] = tuple(cfg["betas"])
    return make_optimizer(name, **cfg)
