"""Multilayer perceptrons: the generator G and the discriminator D.

An :class:`MLP` is a list of layers built from a short :class:`MLPSpec`, used as CS231n's models
are: ``out, cache = net.forward(x)``, then ``dx, grads = net.backward(dout, cache)``. The backward
takes ∂L/∂out and returns ∂L/∂input together with every parameter gradient, so D's gradient can
be passed on into G: for a generator loss L(D(G(z))),

    dl = ∂L/∂logits;  dx, _ = D.backward(dl, d_cache);  _, g_grads = G.backward(dx, g_cache)

The discriminator ends in one **logit** per sample, shape (N, 1); D = σ(logit) is applied
inside the losses, never here. Parameters are addressed by name, ``"<layer index>.<param>"``
(e.g. ``"0.W"``, ``"1.gamma"``), so optimizers and checkpoints can find them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ._checks import check_int, is_number
from ._types import Array, Grads
from .backend import Backend, Random, get_backend
from .layers import (
    ACTIVATIONS,
    INITS,
    BatchNorm,
    Dropout,
    Layer,
    Linear,
    Maxout,
    check_array,
    make_activation,
)

OUTPUTS = (None, "tanh", "sigmoid")


@dataclass
class MLPSpec:
    """What an MLP looks like."""

    sizes: tuple[int, ...] = (2, 128, 128, 1)  # (in, hidden_1, ..., hidden_L, out) layer widths
    activation: str = "relu"  # hidden activation: relu | leaky_relu | tanh | sigmoid
    output: str | None = None  # output activation: None (linear; D's logits), "tanh", "sigmoid"
    maxout_pieces: int | None = (
        None  # if set, each hidden layer is Maxout with this many pieces (the paper's D)
    )
    dropout: float = 0.0  # dropout probability after each hidden layer (0 = none)
    batch_norm: bool = False  # BatchNorm after each hidden affine map (PacGAN's generator)
    init: str = "he"  # weight init: he | xavier | normal | uniform
    leaky_slope: float = 0.2  # the slope of leaky_relu for x < 0

    def __post_init__(self) -> None:
        self.sizes = tuple(self.sizes)
        if len(self.sizes) < 2:
            raise ValueError(f"sizes: expected at least (in, out), got {self.sizes!r}")
        want = "a positive integer width"
        self.sizes = tuple(check_int(f"sizes[{i}]", s, what=want) for i, s in enumerate(self.sizes))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output: expected one of {OUTPUTS}, got {self.output!r}")
        if self.maxout_pieces is not None:
            self.maxout_pieces = check_int(
                "maxout_pieces", self.maxout_pieces, what="None or a positive integer"
            )
        if not (is_number(self.dropout) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout: expected 0 <= dropout < 1, got {self.dropout!r}")
        self.dropout = float(self.dropout)
        if self.init not in INITS:
            raise ValueError(f"init: expected one of {INITS}, got {self.init!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sizes": list(self.sizes)}


class MLP:
    """A stack of layers, built from ``spec``, with a forward and an explicit backward."""

    def __init__(
        self,
        spec: MLPSpec,
        backend: Backend | str | None = None,
        seed: int | None = 0,
        rng: Random | None = None,
    ) -> None:
        if not isinstance(spec, MLPSpec):
            raise TypeError(f"spec: expected an MLPSpec, got {type(spec).__name__}")
        self.spec = spec
        self.backend = b = get_backend(backend)
        self.rng = r = rng if rng is not None else b.random(seed)
        self.dtype = b.float_dtype
        sizes = spec.sizes
        layers: list[Layer] = []
        for i in range(len(sizes) - 2):
            if spec.maxout_pieces:
                layers.append(Maxout(sizes[i], sizes[i + 1], spec.maxout_pieces, b, r, spec.init))
            else:
                layers.append(Linear(sizes[i], sizes[i + 1], b, r, spec.init))
            if spec.batch_norm:
                layers.append(BatchNorm(sizes[i + 1], b))
            if not spec.maxout_pieces:
                layers.append(make_activation(spec.activation, b, spec.leaky_slope))
            if spec.dropout > 0:
                layers.append(Dropout(spec.dropout, b, r))
        # the output layer: xavier suits a linear/tanh/sigmoid output better than he
        layers.append(Linear(sizes[-2], sizes[-1], b, r, "xavier" if spec.init == "he" else spec.init))
        if spec.output is not None:
            layers.append(make_activation(spec.output, b))
        self.layers = layers

    def params(self) -> dict[str, Array]:
        """name -> parameter array (the live arrays: in-place updates reach the layers)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def buffers(self) -> dict[str, Array]:
        """name -> non-trainable state (BatchNorm running statistics)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.buffers.items()}

    def set_param(self, name: str, value: Array, check: bool = True) -> None:
        """Replace parameter ``name`` by ``value`` (same shape and dtype, every entry finite; ``check=False``
        skips the finite test, a pass over the values: e.g. for the clipped parameters of a training step)."""
        layer, key = self._locate(name, "params")
        old = layer.params[key]
        if getattr(value, "__array_namespace__", None) is None:
            raise TypeError(
                f"{name}: expected an array of shape {tuple(old.shape)}, got {type(value).__name__}"
            )
        if tuple(value.shape) != tuple(old.shape) or value.dtype != old.dtype:
            raise ValueError(
                f"{name}: expected shape {tuple(old.shape)} and dtype {old.dtype}, "
                f"got {tuple(value.shape)} and {value.dtype}"
            )
        xp = value.__array_namespace__()
        if check and not bool(xp.all(xp.isfinite(value))):
            raise ValueError(f"{name}: contains NaN or inf; expected finite values")
        layer.params[key] = value

    def set_buffer(self, name: str, value: Array) -> None:
        layer, key = self._locate(name, "buffers")
        old = layer.buffers[key]
        if tuple(value.shape) != tuple(old.shape):
            raise ValueError(f"{name}: expected shape {tuple(old.shape)}, got {tuple(value.shape)}")
        layer.buffers[key] = value

    def _locate(self, name: str, kind: str) -> tuple[Layer, str]:
        idx, _, key = name.partition(".")
        try:
            layer = self.layers[int(idx)]
            getattr(layer, kind)[key]
        except (ValueError, IndexError, KeyError):
            raise KeyError(
                f"name: no {kind[:-1]} called {name!r}; have {list(getattr(self, kind)())}"
            ) from None
        return layer, key

    def num_params(self) -> int:
        return sum(math.prod(v.shape) for v in self.params().values())

    def check_input(self, x: Array, name: str = "x") -> None:
        """Raise a clear error unless x is a (N, sizes[0]) array of the model's backend and float dtype."""
        check_array(x, self.backend.xp, self.dtype, self.spec.sizes[0], name, owner="model")

    def forward(self, x: Array, train: bool = True, check: bool = True) -> tuple[Array, Cache]:
        """out (N, sizes[-1]) and the cache for input x (N, sizes[0]): the layers' forwards in order;
        ``train`` switches dropout and batch norm. x is checked once, here (O(1): type, dtype, shape;
        each layer's input is the last one's output); ``check=False`` skips even that, for callers
        that have checked x themselves. The training step keeps the checks: all of a step's
        together take a few microseconds."""
        if check:
            self.check_input(x)
        cache = Cache(self, x.shape[0])
        with self.backend.ops.network_pass():  # the engine may reuse the arrays this pass makes
            for layer in self.layers:
                x, layer_cache = layer.forward(x, train, check=False)
                cache.append(layer_cache)
        return x, cache

    def __call__(self, x: Array, train: bool = False) -> Array:
        """Just the output (eval mode by default)."""
        return self.forward(x, train)[0]

    def backward(
        self,
        dout: Array,
        cache: Cache,
        *,
        need_dx: bool = True,
        need_grads: bool = True,
        release: bool = False,
    ) -> tuple[Array, Grads]:
        """dx = ∂L/∂x (N, sizes[0]) and grads (name -> ∂L/∂param, of that parameter's shape) from
        dout = ∂L/∂out (N, sizes[-1]) and the cache of the forward that made out: the layers'
        backwards in reverse order (the chain rule; docs/MATH.md §7.1).

        Three options, each for a pass that needs less:

        - ``need_dx=False``: dx is not formed (None); e.g. G's backward (nobody uses ∂L/∂z);
        - ``need_grads=False``: no parameter gradients ({}); e.g. D's backward when it only carries
          G's gradient through (docs/MATH.md §7.1);
        - ``release=True``: ``cache[i]`` becomes None as soon as layer i is done, so the activations
          are freed during the pass and the cache cannot serve another backward. By default the
          cache is kept: one forward can serve several backward passes (the simultaneous step's
          two, a gradient penalty's, the products of a second-order method).

        One clear line (O(1)) unless ``cache`` is this network's and dout fits it."""
        self._check_backward(dout, cache)
        grads = {}
        with self.backend.ops.network_pass():  # the engine may reuse the arrays this pass makes
            for i in reversed(range(len(self.layers))):
                dout, layer_grads = self.layers[i].backward(dout, cache[i], need_dx or i > 0, need_grads)
                if release:
                    cache[i] = None
                grads.update({f"{i}.{k}": g for k, g in layer_grads.items()})
        return dout, grads

    def _check_backward(self, dout: Array, cache: Any) -> None:
        if not isinstance(cache, Cache) or cache.net is not self:
            raise ValueError(
                "cache: expected the cache of this network's forward, got "
                + ("one of another network" if isinstance(cache, Cache) else type(cache).__name__)
            )
        if cache[0] is None:
            raise ValueError("cache: already used by a backward with release=True; run forward again")
        check_array(dout, self.backend.xp, self.dtype, self.spec.sizes[-1], "dout", owner="model")
        if dout.shape[0] != cache.rows:
            raise ValueError(f"dout: expected {cache.rows} rows (the forward's batch), got {dout.shape[0]}")

    def cache_rows(self, cache: Cache, rows: slice) -> Cache | None:
        """The cache of a forward pass, cut to ``rows``: what a backward pass of those rows alone
        needs, as if only they had gone forward. Every layer keeps one cache row per input row,
        except batch norm in training, whose statistics tie the rows together: then None."""
        if any(
            isinstance(layer, BatchNorm) and c is not None and c[2] for layer, c in zip(self.layers, cache)
        ):
            return None
        cut = Cache(self, len(range(*rows.indices(cache.rows))))
        cut.extend(_rows(c, rows) for c in cache)
        return cut

    def __repr__(self) -> str:
        return "MLP(" + ", ".join(repr(layer) for layer in self.layers) + ")"


class Cache(list):
    """What ``MLP.forward`` keeps for the backward: one cache per layer, the network that made them and
    the number of rows of the batch (so a backward can refuse a cache from another network)."""

    __slots__ = ("net", "rows")

    def __init__(self, net: MLP, rows: int) -> None:
        self.net, self.rows = net, rows  # the list itself starts empty


def _rows(c: Any, rows: slice) -> Any:
    """A layer's cache (an array with one row per input row, a tuple of them, or None) cut to ``rows``."""
    return None if c is None else tuple(_rows(a, rows) for a in c) if isinstance(c, tuple) else c[rows, ...]


def generator(
    noise_dim: int = 2,
    data_dim: int = 2,
    hidden: Sequence[int] = (128, 128),
    activation: str = "relu",
    output: str | None = None,
    batch_norm: bool = False,
    init: str = "he",
    backend: Backend | str | None = None,
    seed: int | None = 0,
    rng: Random | None = None,
) -> MLP:
    """G: noise (N, noise_dim) → samples (N, data_dim)."""
    return MLP(
        MLPSpec(
            (noise_dim, *hidden, data_dim),
            activation=activation,
            output=output,
            batch_norm=batch_norm,
            init=init,
        ),
        backend,
        seed,
        rng,
    )


def discriminator(
    data_dim: int = 2,
    hidden: Sequence[int] = (128, 128),
    activation: str = "relu",
    maxout_pieces: int | None = None,
    dropout: float = 0.0,
    init: str = "he",
    backend: Backend | str | None = None,
    seed: int | None = 0,
    rng: Random | None = None,
) -> MLP:
    """D: samples (N, data_dim) → logits (N, 1)."""
    return MLP(
        MLPSpec(
            (data_dim, *hidden, 1),
            activation=activation,
            maxout_pieces=maxout_pieces,
            dropout=dropout,
            init=init,
        ),
        backend,
        seed,
        rng,
    )
