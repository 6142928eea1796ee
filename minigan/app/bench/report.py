"""What the bench prints and writes: the banner, one table row per config, the breakdown
table, the warning about a forced BLAS kernel, and the JSON file."""

from __future__ import annotations

import errno
import os
import tempfile
from typing import Any

from ...files import write_json
from .timing import FORCING_VARS

# fmt: off
HEADER = (f"{'config':<8} {'ms/step':>9} {'GFLOP/s':>8} {'floor ms':>9} {'floor×':>7} {'torch ms':>9} "
          f"{'vs torch':>9} {'peak MB':>8} {'mem×':>6}")
BREAKDOWN_HEADER = (f"{'time per step in':<19} {'products':>14} {'optimizers':>14} {'the rest':>14}"
                    f" {'torch floor':>12} {'floor/torch':>12} {'torch/floor':>12}")
# fmt: on


def format_row(r: dict) -> str:
    """One config's row under ``HEADER``: ms/step, GFLOP/s, the floor and step / floor, PyTorch's
    ms/step and PyTorch / minigan ("-" without the peer), the peak MB and peak / model bytes."""
    tm = f"{r['torch_ms']:9.3f}" if r["torch_ms"] else f"{'-':>9}"
    sp = f"{r['speedup_vs_torch']:8.2f}x" if r["speedup_vs_torch"] else f"{'-':>9}"
    return (
        f"{r['config']:<8} {r['ms_step']:9.3f} {r['gflops']:8.1f} {r['floor_ms']:9.3f} "
        f"{r['floor_ratio']:7.3f} {tm} {sp} {r['peak_bytes'] / 2**20:8.1f} {r['mem_ratio']:6.2f}"
    )


def format_breakdown(r: dict) -> str:
    """Where the step's time goes (ms and share; a separate pass: ``step_breakdown``), then
    PyTorch's GEMM floor, our floor over it, and PyTorch's step over its own floor."""
    b = r["breakdown"]
    cells = [
        f"{b[k]:8.3f} {100 * b[k] / b['ms_step']:4.0f}%" for k in ("ms_products", "ms_optimizers", "ms_rest")
    ]
    if r.get("torch_floor_ms"):
        cells += [
            f"{r['torch_floor_ms']:9.3f}",
            f"{r['floor_vs_torch_floor']:6.2f}",
            f"{r['torch_floor_ratio']:6.2f}",
        ]
    else:
        cells += ["-", "-", "-"]
    return (
        f"{r['config']:<19} "
        + " ".join(f"{c:>14}" for c in cells[:3])
        + " "
        + " ".join(f"{c:>12}" for c in cells[3:])
    )


def banner(env: dict, backend_spec: str) -> str:
    """The first line: date, CPU, backend (fused kernels, GPU) and numpy's BLAS with its threads."""
    fused = env["fused_kernels"] and backend_spec.startswith("cupy")
    blas = env["blas"]
    return (
        f"minigan bench — {env['date']} — {env['cpu']} ({env['cpu_count']} cpus), backend {backend_spec}"
        + (" (fused kernels)" if fused else "")
        + (f", GPU {env['gpu']}" if "gpu" in env else "")
        + (
            f", BLAS {blas['internal_api']} {blas['version']} {blas['architecture']} x{blas['num_threads']}"
            if blas
            else ""
        )
    )


def kernel_warning(env: dict) -> str | None:
    """A line saying that the environment forces OpenBLAS's kernel, and which this CPU would run."""
    forced = {k: v for k, v in env["openblas_env"].items() if k in FORCING_VARS and v}
    if not forced:
        return None
    running = env["blas"]["architecture"] if env.get("blas") else "?"
    native = env.get("blas_native_kernel") or "?"
    settings = ", ".join(f"{k}={v}" for k, v in forced.items())
    return (
        f"warning: {settings} forces OpenBLAS's kernel: running {running}, "
        f"this CPU's own is {native}; products may run slower than they can (measure both ways: "
        "benchmarks/README.md)"
    )


def check_writable(path: str) -> None:
    """Make ``path``'s folder and try a file in it, so that a run that cannot write its results
    fails before it starts; an OSError names ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise OSError(e.errno, e.strerror or str(e), path) from None


def write_results(path: str, out: dict[str, Any]) -> None:
    """The results (``run``'s dict) as JSON (indent 1) to ``path``, written atomically; an
    OSError names ``path``."""
    check_writable(path)
    write_json(path, out)
