"""Optimizers, written by hand on the backend: SGD with momentum (the paper's), Adam, RMSProp.

An optimizer updates a network's live parameter arrays **in place** from a dict of
gradients with the same names (``MLP.params()`` / ``MLP.backward``). Its state (moments,
step count) is a dict of arrays, so checkpoints can save and restore it.
"""

from __future__ import annotations

import math

OPTIMIZERS = ("sgd", "adam", "rmsprop")


def _check_lr(lr):
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr: expected a positive finite learning rate, got {lr!r}")


class Optimizer:
    """Base class. ``step(params, grads)`` updates ``params[name]`` in place."""

    name = "optimizer"

    def __init__(self, lr):
        _check_lr(lr)
        self.lr = float(lr)
        self.t = 0  # number of steps taken
        self.slots: dict[str, dict] = {}  # slot name -> {param name -> array}

    def _slot(self, slot, name, p):
        """The state array ``slot`` of parameter ``name`` (zeros like ``p`` at first)."""
        d = self.slots.setdefault(slot, {})
        if name not in d:
            d[name] = p.__array_namespace__().zeros_like(p)
        return d[name]

    def step(self, params: dict, grads: dict):
        self.t += 1
        for name, g in grads.items():
            if name not in params:
                raise KeyError(f"grads: no parameter called {name!r}")
            self.update(name, params[name], g)

    def update(self, name, p, g):
        raise NotImplementedError

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

    def update(self, name, p, g):
        if self.momentum == 0.0:
            p -= self.lr * g
            return
        v = self._slot("v", name, p)
        v *= self.momentum
        v -= self.lr * g
        p += v

    def config(self):
        return {"name": "sgd", "lr": self.lr, "momentum": self.momentum}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, arXiv 1412.6980), with PyTorch's placement of eps:

    m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²;
    p ← p − lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps).
    """

    name = "adam"

    def __init__(self, lr=2e-4, betas=(0.5, 0.999), eps=1e-8):
        super().__init__(lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas: expected two numbers in [0, 1), got {betas!r}")
        if eps <= 0:
            raise ValueError(f"eps: expected a positive number, got {eps!r}")
        self.b1, self.b2, self.eps = float(b1), float(b2), float(eps)

    def update(self, name, p, g):
        xp = p.__array_namespace__()
        m = self._slot("m", name, p)
        v = self._slot("v", name, p)
        m *= self.b1
        m += (1.0 - self.b1) * g
        v *= self.b2
        v += (1.0 - self.b2) * (g * g)
        step_size = self.lr / (1.0 - self.b1**self.t)
        denom = xp.sqrt(v) * (1.0 / math.sqrt(1.0 - self.b2**self.t)) + self.eps
        p -= step_size * (m / denom)

    def config(self):
        return {"name": "adam", "lr": self.lr, "betas": [self.b1, self.b2], "eps": self.eps}


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton 2012), WGAN's optimizer (Arjovsky et al. 2017):

    s ← α·s + (1−α)·g²;   p ← p − lr · g / (sqrt(s) + eps).
    """

    name = "rmsprop"

    def __init__(self, lr=5e-5, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha: expected 0 <= alpha < 1, got {alpha!r}")
        self.alpha, self.eps = float(alpha), float(eps)

    def update(self, name, p, g):
        xp = p.__array_namespace__()
        s = self._slot("s", name, p)
        s *= self.alpha
        s += (1.0 - self.alpha) * (g * g)
        p -= self.lr * (g / (xp.sqrt(s) + self.eps))

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
