"""Optimizers, written by hand on the backend: SGD with momentum (the paper's), Adam, RMSProp.

An optimizer updates a network's live parameter arrays **in place** from a dict of gradients
with the same names (``MLP.params()`` / ``MLP.backward``). Each rule is one method,
``direction(g, state)``: the move δ (p ← p − δ) for a gradient g, reading and writing the rule's
state arrays (moments) in the dict ``state`` — the formula of docs/MATH.md §9 as it reads.
Applying it to every parameter is the engine's business (``engine.Ops.apply_updates``: one
parameter at a time on the plain backend; on NumPy and CuPy all of them as one flat vector).
"""

from __future__ import annotations

from typing import Any

from ._checks import check_fraction, check_positive
from ._types import Array, Grads
from .backend import Backend
from .engine import Ops, ops_for

OPTIMIZERS = ("sgd", "adam", "rmsprop")
# Adam's rate was tuned on the ring; SGD's trains the default ring run (0.05 diverged within
# its first 10 steps on 3 of 4 seeds); RMSProp's is a common value.
DEFAULT_LR = {"adam": 1e-3, "sgd": 0.02, "rmsprop": 5e-4}
# SGD's step is lr·g, so its stable rate depends on the loss (docs/MATH.md §9.1): the least-squares
# loss has 4× the BCE's curvature and a gradient that grows with the logit, the maximum-likelihood
# one a gradient that grows as e^l, the hinge one a gradient that never decays. Adam and RMSProp
# divide by the gradient's scale and keep one rate. Measured on the default run, seeds 0-3.
SGD_LR_BY_LOSS = {"least_squares": 0.002, "maximum_likelihood": 0.001, "hinge": 0.01}


def default_lr(optimizer: str, g_loss: str = "nonsaturating") -> float:
    """The default learning rate of ``optimizer`` for the loss pair of generator loss ``g_loss``."""
    if optimizer == "sgd":
        return SGD_LR_BY_LOSS.get(g_loss, DEFAULT_LR["sgd"])
    return DEFAULT_LR[optimizer]


class Optimizer:
    """Base class. ``step(params, grads)`` updates ``params[name]`` in place: p ← p − δ.
    ``slots[slot][name]`` holds each state array per parameter (e.g. Adam's ``m`` and ``v``).
    After each step ``grad_sq`` = Σ g² over all the gradients (a 0-d array on the device, no sync):
    the training history's gradient norm, for free."""

    name = "optimizer"
    slot_names: tuple[str, ...] = ()  # the per-parameter state arrays this rule keeps
    grad_sq: Array | None
    ops: Ops | None

    def __init__(self, lr: float) -> None:
        self.lr = check_positive("lr", lr, "a positive finite learning rate")
        self.t = 0  # the number of steps taken
        self.slots: dict[str, dict] = {}  # slot name -> {param name -> array}
        self.grad_sq = None  # Σ g² of the last step's gradients
        self.ops = None  # the engine that applies the rule (None: the gradients' backend's)

    def step(self, params: dict[str, Array], grads: Grads) -> None:
        """p ← p − δ for every parameter, from its gradient: ``grads`` has one for each name in
        ``params``, of its shape and dtype (checked, O(1) a parameter: names, shapes, dtypes)."""
        _check_grads(params, grads)
        self.t += 1
        if grads:
            (self.ops or ops_for(next(iter(grads.values())))).apply_updates(self, params, grads)

    def moves(self, grads: Grads) -> Grads:
        """u = −δ for each gradient (name -> array of its shape): the move ``step`` would make,
        p ← p + u, with the rule's state advanced as ``step`` advances it (``t``, the slots,
        ``grad_sq``), and no parameter changed. The game's updates combine moves: the optimistic
        step p ← p + 2u_t − u_{t−1} (docs/MATH.md §16.2). Costs one array of zeros per parameter:
        ``step`` runs on them, so u is bit for bit the move ``step`` applies."""
        out = {name: g.__array_namespace__().zeros_like(g) for name, g in grads.items()}
        self.step(out, grads)  # out ← 0 − δ
        return out

    def clone(self) -> Optimizer:
        """An optimizer of this rule with these hyper-parameters and this state (``t``, the slots),
        sharing no array with this one: steps of the clone leave this one as it is (the unrolled
        steps of D, ``game_updates.Unrolled``, run on one)."""
        twin = from_config(self.config())
        twin.t, twin.ops = self.t, self.ops
        twin.slots = {
            slot: {name: a.__array_namespace__().asarray(a, copy=True) for name, a in d.items()}
            for slot, d in self.slots.items()
        }
        return twin

    def direction(self, g: Array, state: dict[str, Array]) -> Array:
        """The move δ for gradient g; writes the rule's new state arrays into ``state``."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The hyper-parameters (JSON-able), enough to rebuild this optimizer."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Flat name -> array/scalar dict: ``t`` and ``<slot>/<param name>`` arrays."""
        return {
            "t": self.t,
            **{f"{slot}/{name}": a for slot, d in self.slots.items() for name, a in d.items()},
        }

    def load_state_dict(self, state: dict[str, Any], backend: Backend) -> None:
        self.t, self.slots = int(state["t"]), {}
        for key, a in state.items():
            if key != "t":
                slot, _, name = key.partition("/")
                self.slots.setdefault(slot, {})[name] = backend.asarray(a, dtype=backend.float_dtype)


def _check_grads(params: dict, grads: dict) -> None:
    """One clear line unless ``grads`` has one gradient for each parameter, of its shape and dtype."""
    if grads.keys() != params.keys():
        for name in grads:
            if name not in params:
                raise KeyError(f"grads: no parameter called {name!r}; have {list(params)}")
        missing = [name for name in params if name not in grads]
        raise ValueError(f"grads: expected a gradient for every parameter, none for {missing}")
    for name, g in grads.items():
        p = params[name]
        if type(g) is type(p) and g.shape == p.shape and (g.dtype is p.dtype or g.dtype == p.dtype):
            continue  # the usual case, in a few comparisons (this runs every step)
        if getattr(g, "__array_namespace__", None) is None:
            raise TypeError(f"grads[{name!r}]: expected an array, got {type(g).__name__}")
        if tuple(g.shape) != tuple(p.shape) or g.dtype != p.dtype:
            raise ValueError(
                f"grads[{name!r}]: expected shape {tuple(p.shape)} and dtype {p.dtype} (the "
                f"parameter's), got {tuple(g.shape)} and {g.dtype}"
            )


class SGD(Optimizer):
    """SGD with (heavy-ball) momentum, as the paper trained (Goodfellow et al. 2014; docs/MATH.md §9.1):
    v ← μ·v − lr·g;   p ← p + v."""

    name = "sgd"

    def __init__(self, lr: float = 0.1, momentum: float = 0.5) -> None:
        super().__init__(lr)
        check_fraction("momentum", momentum, "[0, 1)")
        self.momentum = float(momentum)
        self.slot_names = ("v",) if self.momentum else ()

    def direction(self, g: Array, state: dict[str, Array]) -> Array:
        if self.momentum == 0.0:
            return self.lr * g  # p ← p − lr·g
        state["v"] = self.momentum * state["v"] - self.lr * g  # v ← μ·v − lr·g
        return -state["v"]  # p ← p + v

    def config(self) -> dict[str, Any]:
        return {"name": "sgd", "lr": self.lr, "momentum": self.momentum}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, arXiv 1412.6980; docs/MATH.md §9.2), with PyTorch's placement of eps:
    m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²;
    p ← p − lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps)."""

    name = "adam"
    slot_names = ("m", "v")

    def __init__(
        self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas: expected two numbers (β1, β2) in [0, 1), got {betas!r}")
        check_fraction("betas[0]", betas[0], "[0, 1)")
        check_fraction("betas[1]", betas[1], "[0, 1)")
        check_positive("eps", eps)
        self.b1, self.b2, self.eps = float(betas[0]), float(betas[1]), float(eps)

    def direction(self, g: Array, state: dict[str, Array]) -> Array:
        xp = g.__array_namespace__()
        state["m"] = self.b1 * state["m"] + (1.0 - self.b1) * g  # m ← β1·m + (1−β1)·g
        state["v"] = self.b2 * state["v"] + (1.0 - self.b2) * (g * g)  # v ← β2·v + (1−β2)·g²
        m_hat = state["m"] / (1.0 - self.b1**self.t)  # bias corrections
        v_hat = state["v"] / (1.0 - self.b2**self.t)
        return self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)

    def config(self) -> dict[str, Any]:
        return {"name": "adam", "lr": self.lr, "betas": [self.b1, self.b2], "eps": self.eps}


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton 2012; docs/MATH.md §9.3), WGAN's optimizer (Arjovsky et al. 2017):
    s ← α·s + (1−α)·g²;   p ← p − lr · g / (sqrt(s) + eps)."""

    name = "rmsprop"
    slot_names = ("s",)

    def __init__(self, lr: float = 5e-5, alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(lr)
        check_fraction("alpha", alpha, "[0, 1)")
        check_positive("eps", eps)
        self.alpha, self.eps = float(alpha), float(eps)

    def direction(self, g: Array, state: dict[str, Array]) -> Array:
        xp = g.__array_namespace__()
        state["s"] = self.alpha * state["s"] + (1.0 - self.alpha) * (g * g)  # s ← α·s + (1−α)·g²
        return self.lr * g / (xp.sqrt(state["s"]) + self.eps)

    def config(self) -> dict[str, Any]:
        return {"name": "rmsprop", "lr": self.lr, "alpha": self.alpha, "eps": self.eps}


def make_optimizer(name: str, lr: float, **kw: Any) -> Optimizer:
    """An optimizer by name: sgd (momentum=), adam (betas=, eps=), rmsprop (alpha=, eps=);
    keywords of the other rules are ignored."""
    rules = {
        "sgd": (SGD, ("momentum",)),
        "adam": (Adam, ("betas", "eps")),
        "rmsprop": (RMSProp, ("alpha", "eps")),
    }
    if name not in rules:
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {name!r}")
    cls, keys = rules[name]
    return cls(lr, **{k: v for k, v in kw.items() if k in keys})


def from_config(cfg: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from ``Optimizer.config()``."""
    kw: dict[str, Any] = {
        k: tuple(v) if k == "betas" else v for k, v in cfg.items() if k != "name"
    }  # JSON makes betas a list
    return make_optimizer(cfg["name"], **kw)
