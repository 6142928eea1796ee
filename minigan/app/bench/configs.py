"""What the bench times, and what a step of it must do: the configs, the GAN of each, the
matrix products of one step (``step_gemms``) and the bytes it must hold (``model_bytes``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..._checks import check_int
from ..._types import Array
from ...backend import Backend, Random, get_backend
from ...data import Dataset, make_dataset
from ...layers import BatchNorm
from ...networks import MLP, MLPSpec
from ...optim import Adam
from ...training import GAN, TrainConfig


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark shape: batch m, noise dim, data dim, hidden width, hidden layers."""

    name: str
    batch: int
    noise_dim: int
    data_dim: int
    width: int
    layers: int

    def g_sizes(self) -> tuple[int, ...]:
        return (self.noise_dim, *([self.width] * self.layers), self.data_dim)

    def d_sizes(self) -> tuple[int, ...]:
        return (self.data_dim, *([self.width] * self.layers), 1)


@dataclass(frozen=True)
class PacGANConfig:
    """PacGAN's protocol (Lin et al. 2018, arXiv 1712.04086; demos/reproduce_pacgan.py): G 2 → 4×400
    (batch norm, momentum 0.05, then ReLU) → 2; D 2 → 3 maxout layers of ``units`` × ``pieces`` →
    one logit; weights N(0, 0.02²); batch m; the article's simultaneous update (both gradients
    from one pass over [x; G(z)]); Adam 1e-4, β = (0.8, 0.999); the ring of 100,000 points."""

    name: str = "pacgan"
    batch: int = 100
    noise_dim: int = 2
    data_dim: int = 2
    g_hidden: tuple = (400, 400, 400, 400)
    units: int = 200
    d_layers: int = 3
    pieces: int = 5
    bn_momentum: float = 0.05

    def g_sizes(self) -> tuple[int, ...]:
        return (self.noise_dim, *self.g_hidden, self.data_dim)

    def d_linear(self) -> list[tuple[int, int]]:
        """D's affine maps (in, out): each maxout layer's is in → units·pieces."""
        ins = (self.data_dim, *([self.units] * self.d_layers))
        return [(a, self.units * self.pieces) for a in ins[:-1]] + [(self.units, 1)]

    def train_config(self, seed: int = 0, backend: str = "numpy") -> TrainConfig:
        # fmt: off
        return TrainConfig(
            dataset="pacgan_ring", data_params={"train_size": 100_000}, noise_dim=self.noise_dim,
            g_hidden=self.g_hidden, g_batch_norm=True, activation="relu",
            d_hidden=(self.units,) * self.d_layers, d_maxout=self.pieces, init="normal",
            g_loss="nonsaturating", mode="simultaneous", k=1,
            optimizer="adam", g_lr=1e-4, d_lr=1e-4, betas=(0.8, 0.999), lr_decay=1.0, batch_size=self.batch,
            seed=seed, backend=backend, dtype="float32", penalty=None)
        # fmt: on


AnyConfig = BenchConfig | PacGANConfig  # what the bench times

CONFIGS: dict[str, AnyConfig] = {
    "tiny": BenchConfig("tiny", 32, 2, 2, 16, 1),  # for the smoke test
    "small": BenchConfig("small", 256, 2, 2, 128, 2),
    "medium": BenchConfig("medium", 256, 64, 64, 512, 3),
    "large": BenchConfig("large", 4096, 64, 64, 1024, 3),
    "pacgan": PacGANConfig(),
    "pacgan-tiny": PacGANConfig(
        "pacgan-tiny", 8, g_hidden=(6, 6), units=4, d_layers=2, pieces=3
    ),  # for the tests
}
DEFAULT_CONFIGS: tuple[str, ...] = ("small", "medium", "large", "pacgan")
DEFAULT_REPEATS = {"tiny": 20, "small": 300, "medium": 60, "large": 9, "pacgan": 150, "pacgan-tiny": 20}
MAX_REPEATS = 100_000  # timed steps of one config at most

# A config given as "m,noise,data,width,layers": each field at most MAX_SIZE (layers at most
# MAX_LAYERS), and its parameters, Adam's state and activations (``estimated_bytes``) at most MAX_BYTES.
FIELDS = ("m", "noise", "data", "width", "layers")
MAX_SIZE = 2**20
MAX_LAYERS = 64
MAX_BYTES = 4 * 2**30


def parse_config(text: str) -> AnyConfig:
    """A config by name (one of ``CONFIGS``) or as "m,noise,data,width,layers" (a :class:`BenchConfig`
    named ``text``); a ValueError starting "configs:" says what is wrong with ``text``."""
    if text in CONFIGS:
        return CONFIGS[text]
    try:
        vals = [int(p) for p in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != len(FIELDS):
        raise ValueError(
            f"configs: expected one of {', '.join(CONFIGS)} or 'm,noise,data,width,layers' (positive "
            f"integers, each at most {MAX_SIZE:,}, layers at most {MAX_LAYERS}), got {text!r}"
        )
    for field, v in zip(FIELDS, vals):
        check_int(f"configs: {text!r}: {field}", v, 1, MAX_LAYERS if field == "layers" else MAX_SIZE)
    cfg = BenchConfig(text, *vals)
    need = estimated_bytes(cfg)
    if need > MAX_BYTES:
        raise ValueError(
            f"configs: {text!r} needs about {need / 2**30:,.1f} GiB for its parameters, Adam's state and "
            f"activations; the bench takes configs up to {MAX_BYTES / 2**30:.0f} GiB"
        )
    return cfg


def parse_configs(text: str) -> list[AnyConfig]:
    """Configs separated by "," (names only) or "+" (names or "m,noise,data,width,layers")."""
    if all(part in CONFIGS for part in text.split(",")):
        return [CONFIGS[part] for part in text.split(",")]
    return [parse_config(part) for part in text.split("+")]


# --------------------------------------------------------------------------------------
# The model under test
# --------------------------------------------------------------------------------------
class GaussianData(Dataset):
    """x ~ N(0, I_dim), shape (m, dim): real data of any dimension, for timing only."""

    name = "bench_gaussian"

    def __init__(self, backend: Backend, rng: Random, dim: int) -> None:
        super().__init__(backend, rng)
        self.dim = int(dim)

    def sample(self, m: int) -> Array:
        return self.rng.normal((m, self.dim))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim}


def make_gan(cfg: AnyConfig, backend: str | Backend = "numpy", seed: int = 0, ops: Any = None) -> GAN:
    """A GAN for ``cfg``: Algorithm 1, k = 1, fresh, non-saturating, Adam, float32, ReLU (a
    :class:`PacGANConfig`: its protocol, as ``GAN(cfg.train_config())`` builds it).

    ``ops`` (an engine ``Ops``, e.g. a :class:`TimedOps`) replaces the backend's for the nets
    and the optimizers: the explicit hook ``step_breakdown`` and the tests time and count with.
    """
    b = get_backend(backend if isinstance(backend, str) else backend.spec, dtype="float32")
    if ops is not None:
        b.ops = ops
    if isinstance(cfg, PacGANConfig):
        return _pacgan_gan(cfg, b, seed, ops)
    # fmt: off
    tc = TrainConfig(g_loss="nonsaturating", mode="fresh", k=1, batch_size=cfg.batch, noise_dim=cfg.noise_dim,
                     optimizer="adam", g_lr=1e-4, d_lr=1e-4, betas=(0.5, 0.999), lr_decay=1.0, seed=seed,
                     backend=b.spec, dtype="float32", penalty=None)
    # fmt: on
    rng = b.random(seed)
    opts = [Adam(1e-4, betas=(0.5, 0.999)) for _ in range(2)]
    for o in opts:
        o.ops = ops
    G = MLP(MLPSpec(cfg.g_sizes()), b, rng=rng)
    D = MLP(MLPSpec(cfg.d_sizes()), b, rng=rng)
    return GAN(tc, G=G, D=D, data=GaussianData(b, rng, cfg.data_dim), g_opt=opts[0], d_opt=opts[1])


def _pacgan_gan(cfg: PacGANConfig, b: Backend, seed: int, ops: Any) -> GAN:
    """``make_gan`` for PacGAN's protocol, on backend ``b`` (its ``ops`` already set)."""
    tc = cfg.train_config(seed, b.spec)
    rng = b.random(seed)
    opts = [tc.build_optimizer("g"), tc.build_optimizer("d")]
    for o in opts:
        o.ops = ops
    data = make_dataset(tc.dataset, b, rng, **tc.data_params)  # as GAN(tc) builds it, on this backend
    G, D = tc.build_generator(data.dim, b, rng), tc.build_discriminator(data.dim, b, rng)
    gan = GAN(tc, G=G, D=D, data=data, g_opt=opts[0], d_opt=opts[1], rng=rng)
    for layer in gan.G.layers:  # their running statistics move by 0.05 a step
        if isinstance(layer, BatchNorm):
            layer.momentum = cfg.bn_momentum
    return gan


# --------------------------------------------------------------------------------------
# Counting: the GEMMs of a step, the bytes it must hold
# --------------------------------------------------------------------------------------
def step_gemms(cfg: AnyConfig) -> list[tuple[str, int, int, int]]:
    """The matrix products of one fresh step (a :class:`PacGANConfig`: one simultaneous step):
    a list of (kind, N, a, b).

    kind "fwd": (N, a) @ (a, b); "dW": (N, a)ᵀ @ (N, b); "dx": (N, b) @ (a, b)ᵀ.
    Each costs 2·N·a·b flops.
    """
    m = cfg.batch
    if isinstance(cfg, PacGANConfig):
        g = cfg.g_sizes()
        glin, dlin = list(zip(g[:-1], g[1:])), cfg.d_linear()
        out = [("fwd", m, a, b) for a, b in glin]  # G(z)
        out += [("fwd", 2 * m, a, b) for a, b in dlin]  # D on [x; G(z)]
        out += _backward(dlin, 2 * m)  # ∇θd L_D
        out += [("dx", m, a, b) for a, b in reversed(dlin)]  # ∂L_G/∂G(z) through D, the fake rows alone
        return out + _backward(glin, m)  # ∇θg L_G
    g, d = cfg.g_sizes(), cfg.d_sizes()
    glin = list(zip(g[:-1], g[1:]))
    dlin = list(zip(d[:-1], d[1:]))
    # D step
    out = [("fwd", m, a, b) for a, b in glin]
    out += [("fwd", 2 * m, a, b) for a, b in dlin]
    out += _backward(dlin, 2 * m)
    # G step
    out += [("fwd", m, a, b) for a, b in glin]
    out += [("fwd", m, a, b) for a, b in dlin]
    out += [("dx", m, a, b) for a, b in reversed(dlin)]
    return out + _backward(glin, m)


def _backward(linear: list[tuple[int, int]], rows: int) -> list[tuple[str, int, int, int]]:
    """A net's backward pass on ``rows`` rows, last layer first: dW of every layer, dx of every
    layer but the first."""
    out = []
    for i in range(len(linear) - 1, -1, -1):
        out.append(("dW", rows, *linear[i]))
        if i > 0:
            out.append(("dx", rows, *linear[i]))
    return out


def step_flops(cfg: AnyConfig) -> int:
    """The flops of the step's matrix products: Σ 2·N·a·b over ``step_gemms``."""
    return sum(2 * n * a * b for _, n, a, b in step_gemms(cfg))


def product_plan(cfg: AnyConfig, make: Callable[[tuple[int, int]], Any]) -> list[tuple[Any, Any]]:
    """The products of ``step_gemms`` as (p, q) operand pairs, each to be multiplied p @ q:
    fwd x @ W, dW xᵀ @ dout, dx dout @ Wᵀ (the layouts the layers use). ``make(shape)``
    makes an operand; one is made per shape and shared."""
    ops: dict[tuple[int, int], Any] = {}

    def arr(shape):
        if shape not in ops:
            ops[shape] = make(shape)
        return ops[shape]

    plan = []
    for kind, n, a, b in step_gemms(cfg):
        if kind == "fwd":
            plan.append((arr((n, a)), arr((a, b))))
        elif kind == "dW":
            plan.append((arr((n, a)).T, arr((n, b))))
        else:
            plan.append((arr((n, b)), arr((a, b)).T))
    return plan


def _acts(sizes, rows):
    """Floats of the values a backward pass keeps: every layer boundary, ``rows`` rows."""
    return rows * sum(sizes)


def activation_floats(cfg: AnyConfig) -> int:
    """Floats of the activations a step keeps (the memory denominator): a :class:`BenchConfig`,
    max(D on 2m rows, G + D on m rows); a :class:`PacGANConfig`, G's on m rows and D's on 2m rows,
    both held through the simultaneous step (two arrays per batch-norm layer, x̂ and the ReLU's
    output)."""
    m = cfg.batch
    if isinstance(cfg, PacGANConfig):
        g = cfg.g_sizes()
        return m * (g[0] + 2 * sum(g[1:-1]) + g[-1]) + 2 * m * (cfg.data_dim + cfg.units * cfg.d_layers + 1)
    return max(_acts(cfg.d_sizes(), 2 * m), _acts(cfg.g_sizes(), m) + _acts(cfg.d_sizes(), m))


def model_bytes(cfg: AnyConfig, gan: GAN, itemsize: int = 4) -> dict[str, int]:
    """Bytes of parameters, optimizer state (after a step) and activations (``activation_floats``)
    of a step of ``gan``."""
    params = sum(_nbytes(p) for net in (gan.G, gan.D) for p in net.params().values())
    opt = sum(_nbytes(a) for o in (gan.g_opt, gan.d_opt) for d in o.slots.values() for a in d.values())
    acts = activation_floats(cfg) * itemsize
    return {"params": params, "opt_state": opt, "activations": acts, "total": params + opt + acts}


def estimated_bytes(cfg: BenchConfig, itemsize: int = 4) -> int:
    """``model_bytes(cfg, ...)["total"]`` without building the GAN: parameters (W and b of every
    layer of G and D), Adam's two moments of each, and the activations."""
    params = sum(a * b + b for sizes in (cfg.g_sizes(), cfg.d_sizes()) for a, b in zip(sizes[:-1], sizes[1:]))
    return (3 * params + activation_floats(cfg)) * itemsize


def _nbytes(a):
    n = 1
    for s in a.shape:
        n *= s
    return n * (8 if "64" in str(a.dtype) else 4)
