"""Each matrix product of a bench config's step, numpy (OpenBLAS) against PyTorch, shape by shape.

``minigan bench`` gives the step's GEMM floor for both libraries; this script says which
products make the difference. Every product of ``minigan.app.bench.step_gemms`` (forward x @ W,
dW = xᵀ @ dout, dx = dout @ Wᵀ, as the layers call them) is timed alone on random float32
operands. numpy and PyTorch run in separate processes, one library each, alternating by round:
in one process the idle threads of one library's pool spin while the other works, and both
look slower than they are. numpy's process keeps freed memory (``keep_freed_memory``, as the
``train`` and ``bench`` commands do), else a fresh 640 KB result costs more in page faults than
the product. The K = 1 products (D's last layer) are timed as plain ``@`` although the engine
computes them as a broadcast. Medians over repeats, the best round per library.

    python benchmarks/gemm_shapes.py [--config pacgan] [--threads 2] [--rounds 2]

With ``OPENBLAS_CORETYPE`` set or unset as the caller chooses (benchmarks/README.md measures
both ways).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def _time_products(lib: str, config: str, threads: int) -> dict[str, float]:
    """µs per call of each distinct product of ``config``'s step, in this process."""
    import numpy as np

    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
        from minigan.engine import keep_freed_memory

        keep_freed_memory()
    from minigan.app import bench

    rng = np.random.default_rng(0)
    out = {}
    for kind, n, k, f in sorted(set(bench.step_gemms(bench.parse_config(config)))):
        shapes = {"fwd": ((n, k), (k, f)), "dx": ((n, f), (k, f)), "dW": ((n, k), (n, f))}[kind]
        a, b = (rng.random(s, dtype=np.float32) for s in shapes)
        if lib == "torch":
            a, b = torch.from_numpy(a), torch.from_numpy(b)
        call = {"fwd": lambda: a @ b, "dx": lambda: a @ b.T, "dW": lambda: a.T @ b}[kind]
        for _ in range(30):
            call()
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(100):
                call()
            times.append((time.perf_counter() - t0) / 100 * 1e6)
        out[f"{kind} {n} {k} {f}"] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="pacgan", help="a minigan bench config (default pacgan)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--child", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_time_products(args.child, args.config, args.threads)))
        return 0

    from minigan.app import bench

    runs: dict[str, list[dict[str, float]]] = {"numpy": [], "torch": []}
    for r in range(args.rounds):
        for lib in ("numpy", "torch") if r % 2 == 0 else ("torch", "numpy"):
            cmd = [sys.executable, __file__, "--child", lib, "--config", args.config, "--threads", str(args.threads)]
            runs[lib].append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    count: dict[str, int] = {}
    for g in bench.step_gemms(bench.parse_config(args.config)):
        key = " ".join(map(str, g))
        count[key] = count.get(key, 0) + 1
    kernel = (bench.blas_info() or {}).get("architecture", "?")
    print(f"{args.config}: each product of one step, {args.threads} threads, numpy's OpenBLAS kernel {kernel}")
    print(f"{'product (N K F)':<20} {'calls':>5} {'numpy µs':>9} {'torch µs':>9} {'numpy/torch':>11}")
    total = {"numpy": 0.0, "torch": 0.0}
    for key in runs["numpy"][0]:
        best = {lib: min(run[key] for run in runs[lib]) for lib in runs}
        for lib in total:
            total[lib] += best[lib] * count[key]
        print(f"{key:<20} {count[key]:>5} {best['numpy']:>9.1f} {best['torch']:>9.1f} {best['numpy'] / best['torch']:>11.2f}")
    print(f"{'the step':<20} {sum(count.values()):>5} {total['numpy'] / 1e3:>8.2f}m {total['torch'] / 1e3:>8.2f}m "
          f"{total['numpy'] / total['torch']:>11.2f}   (ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
