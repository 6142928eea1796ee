"""The clocks of the bench and the machine they run on: timed calls, the GEMM floor, a timing
engine (``TimedOps``), the peak memory of a step, and the CPU and BLAS (threadpoolctl)."""

from __future__ import annotations

import datetime
import gc
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from ..._types import Array, Grads
from ...backend import Backend, get_backend
from .configs import CONFIGS, AnyConfig, BenchConfig, PacGANConfig, make_gan, model_bytes, product_plan

# --------------------------------------------------------------------------------------
# Timers
# --------------------------------------------------------------------------------------
NO_COUNT = 0  # the page faults counted where ``resource`` is missing


def minor_faults() -> int:
    """The minor page faults of this process so far (0 where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # not on every platform
        return NO_COUNT
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_calls(
    fn: Callable[[], Any], sync: Callable[[], Any], repeats: int, warmup_s: float = 0.2, min_warmup: int = 1
) -> tuple[list[float], int]:
    """(per-call wall times in s, minor page faults) of ``fn`` over ``repeats`` calls after a
    short warm-up; ``sync`` before each clock reading."""
    t_end = time.perf_counter() + warmup_s
    for i in range(10**6):
        fn()
        if i + 1 >= min_warmup and time.perf_counter() > t_end:
            break
    sync()
    times = []
    f0 = minor_faults()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times, minor_faults() - f0


def loadavg() -> float | None:
    """The 1-minute load average (None where the system has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


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
    return {
        "ms_step": total * ms,
        "ms_products": timed.products * ms,
        "ms_optimizers": timed.updates * ms,
        "ms_rest": (total - timed.products - timed.updates) * ms,
    }


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
        return _peak_pool_bytes(cfg, backend, backend_spec)
    # one step of a throwaway GAN first, so that lazy imports are not counted as step memory
    if isinstance(cfg, PacGANConfig):
        warm = CONFIGS["pacgan-tiny"]
    else:
        warm = BenchConfig("warm", 2, cfg.noise_dim, cfg.data_dim, 2, 1)
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


def _peak_pool_bytes(cfg: AnyConfig, backend: Backend, backend_spec: str) -> tuple[int, dict]:
    """``peak_step_bytes`` on CuPy: its memory pool's bytes after one step from an emptied pool."""
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


# --------------------------------------------------------------------------------------
# The machine: CPU, BLAS and its kernel
# --------------------------------------------------------------------------------------
BLAS_KEYS = ("internal_api", "version", "architecture", "num_threads", "threading_layer")


def blas_info() -> dict[str, Any] | None:
    """numpy's BLAS (threadpoolctl), or None when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for info in threadpool_info():
        if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
            return {k: info.get(k) for k in BLAS_KEYS}
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            return {k: info.get(k) for k in BLAS_KEYS}
    return None


FORCING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def native_blas_kernel() -> str | None:
    """The kernel numpy's OpenBLAS picks for this CPU by itself: read (threadpoolctl) in a child
    Python without ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE``; None when they are not set (the
    kernel running is the native one) or it cannot be read."""
    if not any(os.environ.get(k) for k in FORCING_VARS):
        return None
    env = {k: v for k, v in os.environ.items() if k not in FORCING_VARS}
    code = (
        "from threadpoolctl import threadpool_info; import numpy; "
        "print(next((i.get('architecture') for i in threadpool_info() if i.get('user_api') == 'blas'), ''))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo, else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(backend_spec: str) -> dict:
    """The machine and the libraries a run of the bench ran on (the JSON's "environment")."""
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "backend": backend_spec,
        "blas": blas_info(),
        "openblas_env": {k: os.environ.get(k) for k in (*FORCING_VARS, "OPENBLAS_NUM_THREADS")},
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
