"""Layers, each a forward/backward pair written by hand (no autodiff), after CS231n's ``layers.py``.

The contract every layer keeps (networks, gradient penalties and second-order methods call it
layer by layer):

- ``out, cache = layer.forward(x, train=True)``: ``x`` of shape (N, in_features), in the layer's
  dtype, checked (O(1): type, dtype, shape). ``check=False`` skips that check, for one caller:
  ``MLP.forward``, which checks the network's input once, each layer's input being the last one's
  output;
- ``dx, grads = layer.backward(dout, cache, need_dx=True, need_grads=True)``: ``dout`` = ∂L/∂out,
  of the shape of ``out``; ``dx`` = ∂L/∂x, of the shape of ``x``; ``grads`` maps each name in
  ``layer.params`` to ∂L/∂param, of that parameter's shape. ``need_dx=False`` skips ``dx`` (None;
  e.g. G's first layer), ``need_grads=False`` the parameter gradients ({}; e.g. when D's backward
  only carries G's gradient). A backward never changes its cache: one forward's cache can serve
  any number of backward passes.

Nothing mutates its inputs. ``layer.buffers`` holds state that is not trained (BatchNorm's
running statistics). Only the Array API standard on ``backend.xp`` is used; the few operations
with a faster form on some library go through ``backend.ops`` (``minigan/engine/``), which
computes the same formula. Each backward is derived in docs/MATH.md §8.
"""

from __future__ import annotations

import math
from typing import Any

from ._checks import check_int, is_number
from ._types import Array, Cache, DType, Grads
from .backend import Backend, Random
from .engine import Ops

INITS = ("he", "xavier", "normal", "uniform")


def dtype_name(dtype: Any) -> str:
    """'float32' for numpy's, cupy's and array-api-strict's float32 alike."""
    return getattr(dtype, "__name__", str(dtype)).rsplit(".", 1)[-1]


_NAMESPACE_OF: dict[type, str] = {}  # array type -> the name of its namespace (asked once per type)


def _namespace_name(x: Any) -> str | None:
    """The name of x's Array API namespace ("numpy", "array_api_strict", ...), None for a non-array."""
    name = _NAMESPACE_OF.get(type(x))
    if name is None and getattr(x, "__array_namespace__", None) is not None:
        name = _NAMESPACE_OF[type(x)] = x.__array_namespace__().__name__
    return name


def check_array(
    x: Any, xp: Any, dtype: Any, width: int | None = None, name: str = "x", owner: str = "layer"
) -> None:
    """Raise one clear line unless x is an (N, width) array of namespace ``xp`` and ``dtype``, N >= 1
    (width None: any). O(1), a fraction of a microsecond: it looks at the type, dtype and shape, never
    at the values, so every network pass can afford it."""
    shape = x.shape if _namespace_name(x) == xp.__name__ and x.dtype == dtype else None
    if shape is not None and len(shape) == 2 and shape[0] >= 1 and (width is None or shape[1] == width):
        return
    want = f"(N, {'features' if width is None else width})"
    if _namespace_name(x) != xp.__name__:
        raise TypeError(
            f"{name}: expected an array of shape {want} on the {owner}'s backend ({xp.__name__}), "
            f"got {type(x).__name__}"
        )
    if x.dtype != dtype:
        raise TypeError(
            f"{name}: expected dtype {dtype_name(dtype)} (the {owner}'s), got {dtype_name(x.dtype)}"
        )
    raise ValueError(f"{name}: expected shape {want} with N >= 1, got {tuple(x.shape)}")


class Layer:
    """Base class: a layer without parameters (the contract above), on ``backend.xp`` and ``backend.ops``,
    taking inputs of ``dtype`` (the backend's float) and width ``in_features`` (None: any)."""

    in_features: int | None = None

    params: dict[str, Array]  # trained: name -> array
    buffers: dict[str, Array]  # not trained (BatchNorm's running statistics)
    xp: Any  # the backend's array namespace
    ops: Ops

    def __init__(self, backend: Backend | None = None) -> None:
        self.params, self.buffers = {}, {}
        if backend is not None:
            self.xp, self.ops, self.dtype = backend.xp, backend.ops, backend.float_dtype

    def check_input(self, x: Array) -> None:
        """One clear line unless x is an (N, in_features) array of the layer's namespace and dtype."""
        check_array(x, self.xp, self.dtype, self.in_features)

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        raise NotImplementedError

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def init_weight(
    backend: Backend, rng: Random, fan_in: int, fan_out: int, init: str, dtype: DType | str | None = None
) -> Array:
    """A (fan_in, fan_out) weight matrix:
    he:      N(0, 2/fan_in)                 (He et al. 2015, for ReLU)
    xavier:  U(±sqrt(6/(fan_in+fan_out)))  (Glorot & Bengio 2010)
    normal:  N(0, 0.02²)                    (DCGAN, Radford et al. 2016)
    uniform: U(±1/sqrt(fan_in))             (PyTorch's nn.Linear default)"""
    if init == "he":
        return rng.normal((fan_in, fan_out), dtype) * math.sqrt(2.0 / fan_in)
    if init == "xavier":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform((fan_in, fan_out), -a, a, dtype)
    if init == "normal":
        return rng.normal((fan_in, fan_out), dtype) * 0.02
    if init == "uniform":
        a = 1.0 / math.sqrt(fan_in)
        return rng.uniform((fan_in, fan_out), -a, a, dtype)
    raise ValueError(f"init: expected one of {INITS}, got {init!r}")


class Linear(Layer):
    """Affine map ``out = x @ W + b`` (docs/MATH.md §8.1); the cache is x.
    x: (N, in_features); W: (in_features, out_features); b: (out_features,); out: (N, out_features).
    Backward: dx = dout @ Wᵀ, dW = xᵀ @ dout, db = Σ_n dout[n]."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        backend: Backend,
        rng: Random,
        init: str = "he",
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__(backend)
        in_features = check_int("in_features", in_features)
        out_features = check_int("out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.params["W"] = init_weight(backend, rng, in_features, out_features, init, dtype)
        self.params["b"] = backend.zeros((out_features,), dtype)
        self.dtype = self.params["W"].dtype

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        if check:
            self.check_input(x)
        return self.ops.affine(x, self.params["W"], self.params["b"]), x  # x W + b

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        x, ops = cache, self.ops
        grads = (
            {"W": ops.matmul(x.T, dout), "b": ops.sum_rows(dout)} if need_grads else {}
        )  # xᵀ dout, Σ_n dout[n]
        dx = ops.matmul(dout, self.params["W"].T) if need_dx else None  # dout Wᵀ
        return dx, grads

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"


class Maxout(Layer):
    """Maxout units (Goodfellow et al. 2013), the paper's discriminator layer (docs/MATH.md §8.3).
    Each of the ``units`` outputs is the max of ``pieces`` affine pieces:
    ``out[n, j] = max_p z[n, j, p]``, ``z = reshape(x @ W + b, (N, units, pieces))``.
    x: (N, in_features); W: (in_features, units·pieces); b: (units·pieces,); out: (N, units).
    Backward: the gradient flows only to the winning piece, dz[n,j,p] = dout[n,j]·[p = argmax],
    then through the affine map as in Linear."""

    def __init__(
        self,
        in_features: int,
        units: int,
        pieces: int,
        backend: Backend,
        rng: Random,
        init: str = "he",
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__(backend)
        units = check_int("units", units)
        pieces = check_int("pieces", pieces)
        self.units, self.pieces = units, pieces
        self.linear = Linear(in_features, units * pieces, backend, rng, init, dtype)
        self.params = self.linear.params  # W, b are the affine pieces
        self.in_features, self.dtype = in_features, self.linear.dtype

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        xp = self.xp
        z, lin_cache = self.linear.forward(x, check=check)
        out, winner = self.ops.maxout(xp.reshape(z, (z.shape[0], self.units, self.pieces)))  # max over pieces
        return out, (lin_cache, winner)

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        lin_cache, winner = cache
        dz = self.ops.maxout_grad(dout, winner, self.pieces)  # dout at the winning piece, 0 elsewhere
        return self.linear.backward(dz, lin_cache, need_dx, need_grads)

    def __repr__(self) -> str:
        return f"Maxout({self.linear.in_features}, {self.units}, pieces={self.pieces})"


# Activations (docs/MATH.md §8.2). Each caches its output y, not its input x: the backward needs
# only [x > 0] = [y > 0], 1 − y² or y(1 − y), and the layer's input can then be freed.
class ReLU(Layer):
    """out = max(x, 0); dx = dout·[x > 0] = dout·[out > 0] (docs/MATH.md §8.2). The cache is out."""

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        if check:
            self.check_input(x)
        out = self.ops.relu(x)  # max(x, 0)
        return out, out

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        return self.ops.relu_grad(dout, cache), {}  # dout·[out > 0]


class LeakyReLU(Layer):
    """out = max(x, slope·x), 0 ≤ slope < 1; dx = dout·(1 if x > 0 else slope) (docs/MATH.md §8.2).
    The cache is out, which is > 0 exactly where x > 0."""

    def __init__(self, backend: Backend, slope: float = 0.2) -> None:
        super().__init__(backend)
        if not (is_number(slope) and 0.0 <= slope < 1.0):
            raise ValueError(f"slope: expected 0 <= slope < 1, got {slope!r}")
        self.slope = float(slope)

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        if check:
            self.check_input(x)
        out = self.ops.relu(x, self.slope)  # max(x, slope·x)
        return out, out

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        return self.ops.relu_grad(dout, cache, self.slope), {}  # dout·(1 if out > 0 else slope)

    def __repr__(self) -> str:
        return f"LeakyReLU({self.slope})"


class Tanh(Layer):
    """out = tanh(x); dx = dout·(1 − out²) (docs/MATH.md §8.2). The cache is out."""

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        if check:
            self.check_input(x)
        out = self.xp.tanh(x)
        return out, out

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        return dout * (1.0 - cache * cache), {}  # dout·(1 − out²)


class Sigmoid(Layer):
    """out = σ(x); dx = dout·out·(1 − out) (docs/MATH.md §8.2). The cache is out. (Not for D's output.)"""

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        if check:
            self.check_input(x)
        out = self.ops.softplus_sigmoid(x)[1]  # σ in its stable form (docs/MATH.md §5)
        return out, out

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        return dout * cache * (1.0 - cache), {}  # dout·out·(1 − out)


class Dropout(Layer):
    """Inverted dropout (docs/MATH.md §8.4): in training out = x·mask/(1−p), mask ~ Bernoulli(1−p);
    in eval out = x. dx = dout·mask/(1−p) (training), dout (eval). The cache is mask/(1−p), or None."""

    def __init__(self, p: float, backend: Backend, rng: Random) -> None:
        super().__init__(backend)
        if not (is_number(p) and 0.0 <= p < 1.0):
            raise ValueError(f"p: expected a dropout probability 0 <= p < 1, got {p!r}")
        self.p, self.rng = float(p), rng

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        if check:
            self.check_input(x)
        if not train or self.p == 0.0:
            return x, None
        keep = self.rng.uniform(x.shape, dtype=x.dtype) >= self.p
        scale = self.xp.astype(keep, x.dtype) * (1.0 / (1.0 - self.p))
        return x * scale, scale

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        return (dout if cache is None else dout * cache), {}

    def __repr__(self) -> str:
        return f"Dropout({self.p})"


class BatchNorm(Layer):
    """Batch normalisation over the batch axis (Ioffe & Szegedy 2015; docs/MATH.md §8.5).
    Training: μ, σ² = batch mean and (biased) variance per feature,
    x̂ = (x − μ)/sqrt(σ² + eps), out = γ·x̂ + β; the running statistics move as
    r ← (1 − momentum)·r + momentum·batch_stat (PyTorch's convention; running variance
    uses the unbiased batch variance). Eval: x̂ uses the running statistics.

    x: (N, F); γ, β: (F,). Backward (training), with g = dout·γ:
    dx = (1/sqrt(σ²+eps))·(g − mean_n g − x̂·mean_n(g·x̂)); dγ = Σ_n dout·x̂; dβ = Σ_n dout."""

    def __init__(
        self,
        features: int,
        backend: Backend,
        momentum: float = 0.1,
        eps: float = 1e-5,
        dtype: DType | str | None = None,
    ) -> None:
        super().__init__(backend)
        features = check_int("features", features)
        self.features, self.momentum, self.eps = features, float(momentum), float(eps)
        shape = (features,)
        self.params = {"gamma": backend.ones(shape, dtype), "beta": backend.zeros(shape, dtype)}
        self.buffers = {
            "running_mean": backend.zeros(shape, dtype),
            "running_var": backend.ones(shape, dtype),
        }
        self.in_features, self.dtype = features, self.params["gamma"].dtype

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        if check:
            self.check_input(x)
        xp, m = self.xp, self.momentum
        if train:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"x: BatchNorm in training needs a batch of at least 2, got {n}")
            mu = xp.mean(x, axis=0)
            xc = x - mu
            var = xp.mean(xc * xc, axis=0)
            self.buffers["running_mean"] = (1 - m) * self.buffers["running_mean"] + m * mu
            self.buffers["running_var"] = (1 - m) * self.buffers["running_var"] + m * var * (n / (n - 1))
        else:
            xc, var = x - self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        xhat = xc * inv_std
        return xhat * self.params["gamma"] + self.params["beta"], (xhat, inv_std, train)

    def backward(
        self, dout: Array, cache: Cache, need_dx: bool = True, need_grads: bool = True
    ) -> tuple[Array, Grads]:
        xp = self.xp
        xhat, inv_std, train = cache
        grads = {"gamma": xp.sum(dout * xhat, axis=0), "beta": xp.sum(dout, axis=0)} if need_grads else {}
        if not need_dx:
            return None, grads
        g = dout * self.params["gamma"]
        if not train:
            return g * inv_std, grads
        return inv_std * (g - xp.mean(g, axis=0) - xhat * xp.mean(g * xhat, axis=0)), grads

    def __repr__(self) -> str:
        return f"BatchNorm({self.features})"


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
}


def make_activation(name: str, backend: Backend, leaky_slope: float = 0.2) -> Layer:
    """The activation layer called ``name`` (relu, leaky_relu, tanh, sigmoid)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {tuple(ACTIVATIONS)}, got {name!r}")
    return LeakyReLU(backend, leaky_slope) if name == "leaky_relu" else ACTIVATIONS[name](backend)
