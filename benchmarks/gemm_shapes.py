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
        call = {
            "fwd": lambda a=a, b=b: a @ b,
            "dx": lambda a=a, b=b: a @ b.T,
            "dW": lambda a=a, b=b: a.T @ b,
        }[kind]
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


TORCH_CPU = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def missing() -> str | None:
    """What this script needs and this Python lacks, in words with the command that installs it."""
    try:
        import torch  # noqa: F401
    except (ImportError, OSError):
        return f"PyTorch, which is not installed (the CPU build: {TORCH_CPU})"
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return "threadpoolctl (pip install threadpoolctl)"
    try:
        from minigan.app import bench  # noqa: F401
    except ImportError:
        return "minigan (pip install -e . in the repository)"
    return None


def _count(high: int):
    """An argparse type: an integer in [1, high]."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = 0
        if not 1 <= v <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [1, {high}], got {text!r}")
        return v

    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="pacgan", help="a minigan bench config (default pacgan)")
    p.add_argument("--threads", type=_count(1024), default=2, help="BLAS threads (default 2)")
    p.add_argument("--rounds", type=_count(1000), default=2, help="rounds per library (default 2)")
    p.add_argument("--child", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    return p


def _run_children(config: str, threads: int, rounds: int) -> dict[str, list[dict[str, float]]]:
    """Each library's µs per product, one child process a round, alternating which goes first."""
    runs: dict[str, list[dict[str, float]]] = {"numpy": [], "torch": []}
    for r in range(rounds):
        for lib in ("numpy", "torch") if r % 2 == 0 else ("torch", "numpy"):
            cmd = [sys.executable, __file__, "--child", lib, "--config", config, "--threads", str(threads)]
            child = subprocess.run(cmd, capture_output=True, text=True)
            if child.returncode != 0:
                last = (child.stderr.strip().splitlines() or ["(no message)"])[-1]
                raise RuntimeError(f"the {lib} child failed: {last}")
            runs[lib].append(json.loads(child.stdout))
    return runs


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_time_products(args.child, args.config, args.threads)))
        return 0
    need = missing()
    if need:
        print(f"gemm_shapes.py: error: needs {need}", file=sys.stderr)
        return 2
    from minigan.app import bench

    try:
        gemms = bench.step_gemms(bench.parse_config(args.config))
    except ValueError as e:
        p.error(f"--config: {e}")
    try:
        runs = _run_children(args.config, args.threads, args.rounds)
    except RuntimeError as e:
        print(f"gemm_shapes.py: error: {e}", file=sys.stderr)
        return 1
    count: dict[str, int] = {}
    for g in gemms:
        key = " ".join(map(str, g))
        count[key] = count.get(key, 0) + 1
    kernel = (bench.blas_info() or {}).get("architecture", "?")
    print(
        f"{args.config}: each product of one step, {args.threads} threads, numpy's OpenBLAS kernel {kernel}"
    )
    print(f"{'product (N K F)':<20} {'calls':>5} {'numpy µs':>9} {'torch µs':>9} {'numpy/torch':>11}")
    total = {"numpy": 0.0, "torch": 0.0}
    for key in runs["numpy"][0]:
        best = {lib: min(run[key] for run in runs[lib]) for lib in runs}
        for lib in total:
            total[lib] += best[lib] * count[key]
        print(
            f"{key:<20} {count[key]:>5} {best['numpy']:>9.1f} {best['torch']:>9.1f} "
            f"{best['numpy'] / best['torch']:>11.2f}"
        )
    ms = {lib: f"{total[lib] / 1e3:>8.2f}m" for lib in total}
    ratio = total["numpy"] / total["torch"]
    print(f"{'the step':<20} {sum(count.values()):>5} {ms['numpy']} {ms['torch']} {ratio:>11.2f}   (ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
