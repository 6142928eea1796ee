"""Benchmark: one training step of Algorithm 1 against the GEMM floor and PyTorch eager.

``python -m minigan.bench`` (or ``minigan bench``) times ``GAN.train_step`` — the paper's
Algorithm 1 (Goodfellow et al. 2014) with k = 1, ``fresh`` mode, the non-saturating
generator loss, Adam, float32 — on MLPs given as (batch m, noise dim, data dim, hidden
width, hidden layers), ReLU, the same widths for G and D, D ending in one logit:

=======  =====  =====  ====  =====  ======
config   m      noise  data  width  layers
=======  =====  =====  ====  =====  ======
small    256    2      2     128    2
medium   256    64     64    512    3
large    4096   64     64    1024   3
=======  =====  =====  ====  =====  ======

and ``pacgan``, the step of PacGAN's protocol (Lin et al. 2018; :class:`PacGANConfig`): G 2 → 4×400
with batch norm → 2, a maxout D 2 → 3×(200 units × 5 pieces) → 1, batch 100, the simultaneous
update, Adam β1 = 0.8 — what demos/reproduce_pacgan.py trains for hours.

For each it reports

- ``ms/step``: the median over repeated steps (on CuPy the device is synchronised before
  each clock reading);
- ``GFLOP/s``: the step's GEMM flops (below) over that time;
- ``floor``: step time / the **GEMM floor**, the median time of the same matrix products
  the step must do, run alone on the same backend with operands of the same shapes;
- ``vs torch``: PyTorch-eager ms/step / minigan ms/step (> 1: minigan is faster), the same
  nets, Adam, batch and loss, ``torch.set_num_threads`` = the BLAS threads of numpy (pacgan:
  batch norm, maxout as a max over the pieces, both gradients from one pass);
- ``mem``: the peak memory of one step / (parameters + optimizer state + activations).

The GEMMs of one ``fresh`` step, a Linear layer (N rows, a → b) costing 2·N·a·b flops for
each product it does::

    D step:  G forward, m rows                   x @ W
             D forward on [x; G(z)], 2m rows     x @ W
             D backward, 2m rows                 dW = xᵀ @ dout (every layer),
                                                 dx = dout @ Wᵀ (every layer but the first)
    G step:  G forward, m rows (new z)           x @ W
             D forward on G(z), m rows           x @ W
             D backward, input gradient only     dx = dout @ Wᵀ (every layer)
             G backward, m rows                  dW (every layer), dx (every layer but the first)

Activations (the memory denominator) are the values a backward pass must keep, one
(rows × width) array per layer boundary: max(D on 2m rows, G + D on m rows).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from . import exitcodes
from .._types import Array, Grads
from ..backend import Backend, BackendUnavailable, Random, get_backend
from ..data import Dataset, make_dataset
from ..engine import keep_freed_memory
from ..networks import MLP, MLPSpec
from ..optim import Adam
from ..layers import BatchNorm, Maxout
from ..training import GAN, TrainConfig


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
        return TrainConfig(
            dataset="pacgan_ring", data_params={"train_size": 100_000}, noise_dim=self.noise_dim,
            g_hidden=self.g_hidden, g_batch_norm=True, activation="relu", d_hidden=(self.units,) * self.d_layers,
            d_maxout=self.pieces, init="normal", g_loss="nonsaturating", mode="simultaneous", k=1, optimizer="adam",
            g_lr=1e-4, d_lr=1e-4, betas=(0.8, 0.999), lr_decay=1.0, batch_size=self.batch, seed=seed,
            backend=backend, dtype="float32", penalty=None)


AnyConfig = BenchConfig | PacGANConfig  # what the bench times

CONFIGS: dict[str, AnyConfig] = {
    "tiny": BenchConfig("tiny", 32, 2, 2, 16, 1),  # for the smoke test
    "small": BenchConfig("small", 256, 2, 2, 128, 2),
    "medium": BenchConfig("medium", 256, 64, 64, 512, 3),
    "large": BenchConfig("large", 4096, 64, 64, 1024, 3),
    "pacgan": PacGANConfig(),
    "pacgan-tiny": PacGANConfig("pacgan-tiny", 8, g_hidden=(6, 6), units=4, d_layers=2, pieces=3),  # for the tests
}
DEFAULT_CONFIGS: tuple[str, ...] = ("small", "medium", "large", "pacgan")
DEFAULT_REPEATS = {"tiny": 20, "small": 300, "medium": 60, "large": 9, "pacgan": 150, "pacgan-tiny": 20}


def parse_config(text: str) -> AnyConfig:
    """A config by name (tiny, small, medium, large) or as "m,noise,data,width,layers"."""
    if text in CONFIGS:
        return CONFIGS[text]
    parts = text.split(",")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) != 5 or min(vals) < 1:
        raise ValueError(
            f"configs: expected one of {tuple(CONFIGS)} or 'm,noise,data,width,layers' (positive integers), got {text!r}"
        )
    return BenchConfig(text, *vals)


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


def make_gan(cfg: AnyConfig, backend: str | Backend = "numpy", seed: int = 0,
             ops: Any = None) -> GAN:
    """A GAN for ``cfg``: Algorithm 1, k = 1, fresh, non-saturating, Adam, float32, ReLU (a
    :class:`PacGANConfig`: its protocol, as ``GAN(cfg.train_config())`` builds it).

    ``ops`` (an engine ``Ops``, e.g. a :class:`TimedOps`) replaces the backend's for the nets
    and the optimizers: the explicit hook ``step_breakdown`` and the tests time and count with.
    """
    b = get_backend(backend if isinstance(backend, str) else backend.spec, dtype="float32")
    if ops is not None:
        b.ops = ops
    if isinstance(cfg, PacGANConfig):
        tc = cfg.train_config(seed, b.spec)
        rng = b.random(seed)
        opts = [tc.build_optimizer("g"), tc.build_optimizer("d")]
        for o in opts:
            o.ops = ops
        data = make_dataset(tc.dataset, b, rng, **tc.data_params)  # as GAN(tc) builds it, on this backend
        gan = GAN(tc, G=tc.build_generator(data.dim, b, rng), D=tc.build_discriminator(data.dim, b, rng), data=data,
                  g_opt=opts[0], d_opt=opts[1], rng=rng)
        for layer in gan.G.layers:  # their running statistics move by 0.05 a step
            if isinstance(layer, BatchNorm):
                layer.momentum = cfg.bn_momentum
        return gan
    tc = TrainConfig(g_loss="nonsaturating", mode="fresh", k=1, batch_size=cfg.batch, noise_dim=cfg.noise_dim,
                     optimizer="adam", g_lr=1e-4, d_lr=1e-4, betas=(0.5, 0.999), lr_decay=1.0, seed=seed,
                     backend=b.spec, dtype="float32", penalty=None)
    rng = b.random(seed)
    opts = [Adam(1e-4, betas=(0.5, 0.999)) for _ in range(2)]
    for o in opts:
        o.ops = ops
    return GAN(tc, G=MLP(MLPSpec(cfg.g_sizes()), b, rng=rng), D=MLP(MLPSpec(cfg.d_sizes()), b, rng=rng),
               data=GaussianData(b, rng, cfg.data_dim), g_opt=opts[0], d_opt=opts[1])


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
        for i in range(len(dlin) - 1, -1, -1):  # ∇θd L_D
            out.append(("dW", 2 * m, *dlin[i]))
            if i > 0:
                out.append(("dx", 2 * m, *dlin[i]))
        out += [("dx", m, a, b) for a, b in reversed(dlin)]  # ∂L_G/∂G(z) through D, the fake rows alone
        for i in range(len(glin) - 1, -1, -1):  # ∇θg L_G
            out.append(("dW", m, *glin[i]))
            if i > 0:
                out.append(("dx", m, *glin[i]))
        return out
    g, d = cfg.g_sizes(), cfg.d_sizes()
    glin = list(zip(g[:-1], g[1:]))
    dlin = list(zip(d[:-1], d[1:]))
    out = []
    # D step
    out += [("fwd", m, a, b) for a, b in glin]
    out += [("fwd", 2 * m, a, b) for a, b in dlin]
    for i in range(len(dlin) - 1, -1, -1):
        a, b = dlin[i]
        out.append(("dW", 2 * m, a, b))
        if i > 0:
            out.append(("dx", 2 * m, a, b))
    # G step
    out += [("fwd", m, a, b) for a, b in glin]
    out += [("fwd", m, a, b) for a, b in dlin]
    out += [("dx", m, a, b) for a, b in reversed(dlin)]
    for i in range(len(glin) - 1, -1, -1):
        a, b = glin[i]
        out.append(("dW", m, a, b))
        if i > 0:
            out.append(("dx", m, a, b))
    return out


def step_flops(cfg: AnyConfig) -> int:
    return sum(2 * n * a * b for _, n, a, b in step_gemms(cfg))


def _acts(sizes, rows):
    """Floats of the values a backward pass keeps: every layer boundary, ``rows`` rows."""
    return rows * sum(sizes)


def model_bytes(cfg: AnyConfig, gan: GAN, itemsize: int = 4) -> dict[str, int]:
    """Bytes of parameters, optimizer state (after a step) and activations of a step
    (a :class:`PacGANConfig`: G's on m rows and D's on 2m rows, both held through the simultaneous
    step; one array per layer boundary, two per batch-norm layer, x̂ and the ReLU's output)."""
    params = sum(_nbytes(p) for net in (gan.G, gan.D) for p in net.params().values())
    opt = sum(_nbytes(a) for o in (gan.g_opt, gan.d_opt) for d in o.slots.values() for a in d.values())
    m = cfg.batch
    if isinstance(cfg, PacGANConfig):
        g = cfg.g_sizes()
        acts = m * (g[0] + 2 * sum(g[1:-1]) + g[-1]) + 2 * m * (cfg.data_dim + cfg.units * cfg.d_layers + 1)
        acts *= itemsize
    else:
        acts = max(_acts(cfg.d_sizes(), 2 * m), _acts(cfg.g_sizes(), m) + _acts(cfg.d_sizes(), m)) * itemsize
    return {"params": params, "opt_state": opt, "activations": acts, "total": params + opt + acts}


def _nbytes(a):
    n = 1
    for s in a.shape:
        n *= s
    return n * (8 if "64" in str(a.dtype) else 4)


# --------------------------------------------------------------------------------------
# Timers
# --------------------------------------------------------------------------------------
def _minor_faults():
    try:
        import resource
    except ImportError:  # not on every platform
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _time_calls(fn, sync, repeats, warmup_s=0.2, min_warmup=1):
    """(per-call wall times in s, minor page faults) of ``fn`` over ``repeats`` calls after a
    short warm-up; ``sync`` before each clock reading."""
    t_end = time.perf_counter() + warmup_s
    for i in range(10**6):
        fn()
        if i + 1 >= min_warmup and time.perf_counter() > t_end:
            break
    sync()
    times = []
    f0 = _minor_faults()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times, _minor_faults() - f0


def product_plan(cfg: AnyConfig, make: Callable[[tuple[int, int]], Any]) -> list[tuple[Any, Any]]:
    """The products of ``step_gemms`` as (p, q) operand pairs, each to be multiplied p @ q:
    fwd x @ W, dW xᵀ @ dout, dx dout @ Wᵀ (the layouts the layers use). ``make(shape)``
    makes an operand; one is made per shape and shared."""
    ops = {}

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


def gemm_floor_fn(cfg: AnyConfig, backend: Backend) -> Callable[[], Array]:
    """A function that does the step's matrix products alone, on operands made once, each
    the way the layers do it (``backend.ops.matmul``: BLAS, or a broadcast for an outer product)."""
    plan = product_plan(cfg, backend.random(1).normal)
    matmul = backend.ops.matmul

    def run():
        for p, q in plan:
            r = matmul(p, q)
        return r

    return run


def blas_info() -> dict[str, Any] | None:
    """numpy's BLAS (threadpoolctl), or None when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for info in threadpool_info():
        if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
            return {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            return {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
    return None


FORCING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def native_blas_kernel() -> str | None:
    """The kernel numpy's OpenBLAS picks for this CPU by itself: read (threadpoolctl) in a child
    Python without ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE``; None when they are not set (the
    kernel running is the native one) or it cannot be read."""
    if not any(os.environ.get(k) for k in FORCING_VARS):
        return None
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in FORCING_VARS}
    code = ("from threadpoolctl import threadpool_info; import numpy; "
            "print(next((i.get('architecture') for i in threadpool_info() if i.get('user_api') == 'blas'), ''))")
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def kernel_warning(env: dict) -> str | None:
    """A line saying that the environment forces OpenBLAS's kernel, and which this CPU would run."""
    forced = {k: v for k, v in env["openblas_env"].items() if k in FORCING_VARS and v}
    if not forced:
        return None
    running = env["blas"]["architecture"] if env.get("blas") else "?"
    native = env.get("blas_native_kernel") or "?"
    return (f"warning: {', '.join(f'{k}={v}' for k, v in forced.items())} forces OpenBLAS's kernel: running {running}, "
            f"this CPU's own is {native}; products may run slower than they can (measure both ways: "
            "benchmarks/README.md)")


def _loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def torch_step_fn(cfg: BenchConfig, gan: GAN, device: str,
                  threads: int | None) -> tuple[Callable[[], Any], Callable[[], Any], str]:
    """The same step in PyTorch eager: same nets (weights copied), Adam, batch, loss."""
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(threads)
    dev = torch.device(device)

    def build(mlp):
        mods = []
        for layer in mlp.layers:
            if "W" in layer.params:
                W = gan.backend.to_numpy(layer.params["W"])
                lin = torch.nn.Linear(W.shape[0], W.shape[1])
                with torch.no_grad():
                    lin.weight.copy_(torch.from_numpy(W.T.copy()))
                    lin.bias.zero_()
                mods.append(lin)
            else:
                mods.append(torch.nn.ReLU())
        return torch.nn.Sequential(*mods).to(dev)

    G, D = build(gan.G), build(gan.D)
    c = gan.config
    g_opt = torch.optim.Adam(G.parameters(), lr=c.g_lr, betas=tuple(c.betas))
    d_opt = torch.optim.Adam(D.parameters(), lr=c.d_lr, betas=tuple(c.betas))
    m = cfg.batch

    def step():
        # D step: L_D = mean sp(−l_r) + mean sp(l_f), on one pass over [x; G(z)]
        z = torch.randn(m, cfg.noise_dim, device=dev)
        x = torch.randn(m, cfg.data_dim, device=dev)
        with torch.no_grad():
            fake = G(z)
        logits = D(torch.cat([x, fake]))
        loss_d = F.softplus(-logits[:m]).mean() + F.softplus(logits[m:]).mean()
        d_opt.zero_grad(set_to_none=True)
        loss_d.backward()
        d_opt.step()
        # G step, fresh noise: L_G = mean sp(−D(G(z))); D's weights need no gradient here
        D.requires_grad_(False)
        z = torch.randn(m, cfg.noise_dim, device=dev)
        loss_g = F.softplus(-D(G(z))).mean()
        g_opt.zero_grad(set_to_none=True)
        loss_g.backward()
        g_opt.step()
        D.requires_grad_(True)

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    return step, sync, torch.__version__


def torch_pacgan_step_fn(cfg: PacGANConfig, gan: GAN, device: str, threads: int | None,
                         batch: Callable[[], Any] | None = None) -> tuple[Callable[[], None], Callable[[], None], str]:
    """PacGAN's simultaneous step in PyTorch eager: the same nets (weights copied; batch norm
    with the same momentum and eps, maxout as a max over the pieces of one Linear), one forward
    pass over [x; G(z)], ∇θd L_D and ∇θg L_G from it (``torch.autograd.grad``), then both Adam
    steps (β1 = 0.8). ``batch()`` → (z, x) tensors replaces the draws (the tests compare a step
    with minigan's on the same batch)."""
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(threads)
    dev = torch.device(device)

    def to_t(a):
        return torch.from_numpy(gan.backend.to_numpy(a).copy())

    class Max(torch.nn.Module):
        def __init__(self, units, pieces):
            super().__init__()
            self.units, self.pieces = units, pieces

        def forward(self, z):  # minigan's layout: column j·pieces + p is unit j's piece p
            return z.view(z.shape[0], self.units, self.pieces).amax(dim=-1)

    def linear(layer):
        W = to_t(layer.params["W"])
        lin = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            lin.weight.copy_(W.T)
            lin.bias.copy_(to_t(layer.params["b"]))
        return lin

    def build(mlp):
        mods = []
        for layer in mlp.layers:
            if isinstance(layer, Maxout):
                mods += [linear(layer.linear), Max(layer.units, layer.pieces)]
            elif isinstance(layer, BatchNorm):
                bn = torch.nn.BatchNorm1d(layer.features, eps=layer.eps, momentum=layer.momentum)
                with torch.no_grad():
                    bn.weight.copy_(to_t(layer.params["gamma"]))
                    bn.bias.copy_(to_t(layer.params["beta"]))
                mods.append(bn)
            elif "W" in layer.params:
                mods.append(linear(layer))
            else:
                mods.append(torch.nn.ReLU())
        return torch.nn.Sequential(*mods).to(dev)

    G, D = build(gan.G), build(gan.D)
    c = gan.config
    g_params, d_params = list(G.parameters()), list(D.parameters())
    g_opt = torch.optim.Adam(g_params, lr=c.g_lr, betas=tuple(c.betas))
    d_opt = torch.optim.Adam(d_params, lr=c.d_lr, betas=tuple(c.betas))
    m = cfg.batch

    def draw():
        return torch.randn(m, cfg.noise_dim, device=dev), torch.randn(m, cfg.data_dim, device=dev)

    def step():
        z, x = (batch or draw)()
        logits = D(torch.cat([x, G(z)]))
        l_r, l_f = logits[:m], logits[m:]
        loss_d = F.softplus(-l_r).mean() + F.softplus(l_f).mean()
        loss_g = F.softplus(-l_f).mean()
        d_grads = torch.autograd.grad(loss_d, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(loss_g, g_params)
        for ps, gs in ((d_params, d_grads), (g_params, g_grads)):
            for p, g in zip(ps, gs):
                p.grad = g
        d_opt.step()
        g_opt.step()

    step.nets = (G, D)  # type: ignore[attr-defined]  # for the tests
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    return step, sync, torch.__version__


def torch_floor_fn(cfg: AnyConfig, device: str) -> Callable[[], Any]:
    """PyTorch's GEMM floor: the products of ``product_plan`` in ``torch`` (``p @ q``) on
    operands made once. Threads: as ``torch_step_fn`` set them."""
    import torch

    dev = torch.device(device)
    plan = product_plan(cfg, lambda shape: torch.randn(*shape, device=dev))

    def run():
        for p, q in plan:
            r = p @ q
        return r

    return run


# --------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------
def peak_step_bytes(cfg: AnyConfig, backend_spec: str) -> tuple[int, dict]:
    """(peak bytes during one step, model_bytes) on a fresh GAN after one warm-up step.

    numpy / strict: tracemalloc (numpy reports its allocations to it), traced from before
    the GAN is built, so the peak counts everything alive: parameters, optimizer state,
    caches and temporaries. cupy: the memory pool's bytes after freeing its cached blocks,
    then one step (an upper bound: the pool rounds blocks up).
    """
    backend = get_backend(backend_spec)
    gc.collect()
    if backend.name == "cupy":
        pool = backend.xp.get_default_memory_pool()
        gan = make_gan(cfg, backend_spec)
        gan.train_step()
        gan.flush()
        backend.synchronize()
        pool.free_all_blocks()
        gan.train_step()
        backend.synchronize()
        peak = pool.total_bytes()
        return peak, model_bytes(cfg, gan)
    # one step of a throwaway GAN first, so that lazy imports are not counted as step memory
    warm = CONFIGS["pacgan-tiny"] if isinstance(cfg, PacGANConfig) else BenchConfig("warm", 2, cfg.noise_dim, cfg.data_dim, 2, 1)
    make_gan(warm, backend_spec).train_step()
    gc.collect()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        gan = make_gan(cfg, backend_spec)
        gan.train_step()
        gan.flush()
        tracemalloc.reset_peak()
        gan.train_step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if started:
            tracemalloc.stop()
    return peak, model_bytes(cfg, gan)


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------
class TimedOps:
    """An engine ``Ops`` that sums the wall time of the ops it wraps, in two parts: the matrix
    products (``matmul``, and ``affine`` = the product with its bias add) and the optimizer
    updates (``apply_updates``); the device is synchronised around each call. Everything else
    passes through. Given to ``make_gan(ops=...)``: the timing hook of ``step_breakdown``."""

    def __init__(self, ops: Any, sync: Callable[[], Any]) -> None:
        self.inner, self.sync = ops, sync
        self.products = self.updates = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _timed(self, fn, *args):
        self.sync()
        t0 = time.perf_counter()
        out = fn(*args)
        self.sync()
        return out, time.perf_counter() - t0

    def matmul(self, a: Array, b: Array) -> Array:
        out, dt = self._timed(self.inner.matmul, a, b)
        self.products += dt
        return out

    def affine(self, x: Array, W: Array, b: Array) -> Array:
        out, dt = self._timed(self.inner.affine, x, W, b)
        self.products += dt
        return out

    def apply_updates(self, opt: Any, params: dict[str, Array], grads: Grads) -> None:
        _, dt = self._timed(self.inner.apply_updates, opt, params, grads)
        self.updates += dt


def step_breakdown(cfg: AnyConfig, backend_spec: str, steps: int) -> dict:
    """Where a step's time goes: ms per step in the matrix products, in the two optimizers'
    updates, and in the rest (activations, losses, sampling, the history row), measured on a
    GAN built with a :class:`TimedOps`.

    A separate pass after the timed rounds: it times each call on its own (synchronising the
    device around each), so its total runs a little above the plain step time.
    """
    b = get_backend(backend_spec)
    timed = TimedOps(b.ops, b.synchronize)
    gan = make_gan(cfg, b, ops=timed)
    gan.train_step()  # warm-up
    timed.products = timed.updates = 0.0
    b.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        gan.train_step()
    b.synchronize()
    total = time.perf_counter() - t0
    ms = 1e3 / steps
    return {"ms_step": total * ms, "ms_products": timed.products * ms, "ms_optimizers": timed.updates * ms,
            "ms_rest": (total - timed.products - timed.updates) * ms}


def bench_config(cfg: AnyConfig, backend_spec: str = "numpy", repeats: int | None = None, use_torch: bool = True,
                 rounds: int = 9, log: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Measure one config; returns a JSON-able dict.

    The step, the floor and the peer are timed in ``rounds`` rounds, one block of each per
    round (each block after its own short warm-up), and each ratio is the median over the
    rounds of that round's ratio of medians: a machine that slows down for a while slows
    the three blocks of a round alike, so the ratios hold up where the times drift.
    """
    backend = get_backend(backend_spec)
    repeats = repeats or DEFAULT_REPEATS.get(cfg.name, 20)
    rounds = max(1, min(rounds, repeats))
    per_round = max(1, math.ceil(repeats / rounds))
    sync = backend.synchronize
    gan = make_gan(cfg, backend_spec)
    floor = gemm_floor_fn(cfg, backend)
    peer = None
    if use_torch:
        try:
            blas = blas_info()
            threads = blas["num_threads"] if blas else None
            device = "cuda" if backend.name == "cupy" else "cpu"
            if isinstance(cfg, PacGANConfig):
                tstep, tsync, tver = torch_pacgan_step_fn(cfg, gan, device, threads)
            else:
                tstep, tsync, tver = torch_step_fn(cfg, gan, device, threads)
            peer = (tstep, tsync, tver, torch_floor_fn(cfg, device))
        except ImportError:
            peer = None
    t_step: list[float] = []
    t_floor: list[float] = []
    t_torch: list[float] = []
    t_tfloor: list[float] = []
    per: list[Any] = []
    faults, load0 = 0, _loadavg()
    med = statistics.median
    for _ in range(rounds):
        s, f = _time_calls(gan.train_step, sync, per_round)
        faults += f
        fl, _ = _time_calls(floor, sync, per_round)
        tt = _time_calls(peer[0], peer[1], per_round)[0] if peer is not None else []
        tf = _time_calls(peer[3], peer[1], per_round)[0] if peer is not None else []
        t_step, t_floor, t_torch, t_tfloor = t_step + s, t_floor + fl, t_torch + tt, t_tfloor + tf
        per.append({"ms_step": med(s) * 1e3, "ms_floor": med(fl) * 1e3, "ms_torch": med(tt) * 1e3 if tt else None,
                    "ms_torch_floor": med(tf) * 1e3 if tf else None})
    # enough steps for about half a second (at least 3), however few the timed repeats were
    breakdown = step_breakdown(cfg, backend_spec, max(3, min(200, math.ceil(0.5 / med(t_step)))))
    gan.flush()
    ms = med(t_step) * 1e3
    floor_ms = med(t_floor) * 1e3
    torch_ms = med(t_torch) * 1e3 if t_torch else None
    floor_ratio = med([r["ms_step"] / r["ms_floor"] for r in per])
    speedup = med([r["ms_torch"] / r["ms_step"] for r in per]) if t_torch else None
    # PyTorch's own GEMM floor: how fast its matrix products are, against ours and its step
    torch_floor_ms = med(t_tfloor) * 1e3 if t_tfloor else None
    floor_vs_torch_floor = med([r["ms_floor"] / r["ms_torch_floor"] for r in per]) if t_tfloor else None
    torch_floor_ratio = med([r["ms_torch"] / r["ms_torch_floor"] for r in per]) if t_tfloor else None
    del gan, floor, peer
    peak, mb = peak_step_bytes(cfg, backend_spec)
    flops = step_flops(cfg)
    res = {
        "config": cfg.name, **{k: v for k, v in asdict(cfg).items() if k != "name"},
        "repeats": len(t_step),
        "gflop": flops / 1e9,
        "ms_step": ms,
        "gflops": flops / (ms * 1e-3) / 1e9,
        "floor_ms": floor_ms,
        "floor_ratio": floor_ratio,  # median over rounds of step/floor
        "torch_ms": torch_ms,
        "speedup_vs_torch": speedup,  # median over rounds of torch/step (> 1: minigan faster)
        "torch_floor_ms": torch_floor_ms,  # the same products in torch, timed alone
        "floor_vs_torch_floor": floor_vs_torch_floor,  # our floor / torch's (> 1: its GEMMs faster)
        "torch_floor_ratio": torch_floor_ratio,  # torch step / torch floor
        "breakdown": breakdown,  # ms/step in products, optimizers, the rest (step_breakdown)
        "peak_bytes": peak,
        "model_bytes": mb,
        "mem_ratio": peak / mb["total"],
        # minor page faults per timed step: a diagnostic (see benchmarks/README.md)
        "page_faults_per_step": faults / max(1, len(t_step)),
        "rounds": per,
        "loadavg_1min": [load0, _loadavg()],
        "ms_step_all": [t * 1e3 for t in t_step],
        "ms_floor_all": [t * 1e3 for t in t_floor],
        "ms_torch_all": [t * 1e3 for t in t_torch],
        "ms_torch_floor_all": [t * 1e3 for t in t_tfloor],
    }
    if log:
        log(format_row(res))
    return res


HEADER = f"{'config':<8} {'ms/step':>9} {'GFLOP/s':>8} {'floor ms':>9} {'floor×':>7} {'torch ms':>9} {'vs torch':>9} {'peak MB':>8} {'mem×':>6}"


def format_row(r: dict) -> str:
    tm = f"{r['torch_ms']:9.3f}" if r["torch_ms"] else f"{'-':>9}"
    sp = f"{r['speedup_vs_torch']:8.2f}x" if r["speedup_vs_torch"] else f"{'-':>9}"
    return (f"{r['config']:<8} {r['ms_step']:9.3f} {r['gflops']:8.1f} {r['floor_ms']:9.3f} {r['floor_ratio']:7.3f} "
            f"{tm} {sp} {r['peak_bytes'] / 2**20:8.1f} {r['mem_ratio']:6.2f}")


BREAKDOWN_HEADER = (f"{'time per step in':<19} {'products':>14} {'optimizers':>14} {'the rest':>14}"
                    f" {'torch floor':>12} {'floor/torch':>12} {'torch/floor':>12}")


def format_breakdown(r: dict) -> str:
    """Where the step's time goes (ms and share; a separate pass: ``step_breakdown``), then
    PyTorch's GEMM floor, our floor over it, and PyTorch's step over its own floor."""
    b = r["breakdown"]
    cells = [f"{b[k]:8.3f} {100 * b[k] / b['ms_step']:4.0f}%" for k in ("ms_products", "ms_optimizers", "ms_rest")]
    if r.get("torch_floor_ms"):
        cells += [f"{r['torch_floor_ms']:9.3f}", f"{r['floor_vs_torch_floor']:6.2f}", f"{r['torch_floor_ratio']:6.2f}"]
    else:
        cells += ["-", "-", "-"]
    return f"{r['config']:<19} " + " ".join(f"{c:>14}" for c in cells[:3]) + " " + " ".join(f"{c:>12}" for c in cells[3:])


def environment(backend_spec: str) -> dict:
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "backend": backend_spec,
        "blas": blas_info(),
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")},
        "blas_native_kernel": native_blas_kernel(),  # None: the kernel running is the CPU's own
        "fused_kernels": os.environ.get("MINIGAN_FUSED") == "1",  # engine.CupyOps(fused=True) (CuPy only)
    }
    import numpy

    env["numpy"] = numpy.__version__
    try:
        import torch

        env["torch"] = torch.__version__
    except ImportError:
        env["torch"] = None
    if backend_spec.startswith("cupy"):
        b = get_backend(backend_spec)
        cp = b.xp
        env["cupy"] = cp.__version__
        env["gpu"] = cp.cuda.runtime.getDeviceProperties(b.device.id)["name"].decode()
    return env


def run(configs: Sequence[AnyConfig], backend_spec: str = "numpy", repeats: int | None = None, use_torch: bool = True,
        log: Callable[[str], Any] | None = print) -> dict[str, Any]:
    env = environment(backend_spec)
    if log:
        log(f"minigan bench — {env['date']} — {env['cpu']} ({env['cpu_count']} cpus), backend {backend_spec}"
            + (" (fused kernels)" if env["fused_kernels"] and backend_spec.startswith("cupy") else "")
            + (f", GPU {env['gpu']}" if "gpu" in env else "")
            + (f", BLAS {env['blas']['internal_api']} {env['blas']['version']} {env['blas']['architecture']} "
               f"x{env['blas']['num_threads']}" if env["blas"] else ""))
        warning = kernel_warning(env)
        if warning:
            log(warning)
        log(HEADER)
    results = [bench_config(c, backend_spec, repeats, use_torch, log=log) for c in configs]
    if log:
        log("")
        log(BREAKDOWN_HEADER)
        for r in results:
            log(format_breakdown(r))
    return {"environment": env, "results": results}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minigan bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="numpy", help="numpy | cupy | strict[:device] (default numpy)")
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                   help="names (tiny, small, medium, large) separated by '+' or ',', or 'm,noise,data,width,layers'")
    p.add_argument("--repeats", type=int, default=None, help="timed steps per config (default: per config)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads for numpy (threadpoolctl) and torch (default: numpy's as it is)")
    p.add_argument("--json", default=None, help="write the results here")
    a = p.parse_args(argv)
    try:
        configs = _parse_configs(a.configs)
        get_backend(a.backend)
    except (ValueError, BackendUnavailable) as e:
        p.error(str(e))
    if a.repeats is not None and a.repeats < 1:
        p.error("--repeats: expected a positive integer")
    if a.threads is not None and a.threads < 1:
        p.error("--threads: expected a positive integer")
    # every contender (step, floor, PyTorch) runs in this process, with the same allocator
    allocator_kept = keep_freed_memory()
    limits = None
    if a.threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            p.error("--threads needs threadpoolctl (pip install threadpoolctl)")
        limits = threadpool_limits(limits=a.threads, user_api="blas")
    try:
        out = run(configs, a.backend, a.repeats, not a.no_torch)
        out["environment"]["malloc_keeps_freed_memory"] = allocator_kept
    finally:
        if limits is not None:
            limits.restore_original_limits()
    if a.json:
        d = os.path.dirname(a.json)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
        print(f"wrote {a.json}")
    return exitcodes.OK


def _parse_configs(text: str) -> list[AnyConfig]:
    if all(part in CONFIGS for part in text.split(",")):
        return [CONFIGS[part] for part in text.split(",")]
    return [parse_config(part) for part in text.split("+")]


if __name__ == "__main__":
    sys.exit(main())
