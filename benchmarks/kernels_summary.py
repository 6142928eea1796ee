"""The table of benchmarks/kernels.sh: per BLAS kernel and config, medians over rounds of ms/step,
the GEMM floor, floor× (step / floor), PyTorch ms/step and PyTorch / minigan.

    python benchmarks/kernels_summary.py OUTDIR
"""

import glob
import json
import statistics
import sys
from collections import defaultdict

CONFIG_ORDER = ("small", "medium", "large", "pacgan")  # then any other, by name


def _load(path):
    with open(path) as f:
        return json.load(f)


def _row(kernel, threads, config, rs):
    """The cells of one (kernel, config) row: medians over the rounds ``rs`` (bench results)."""
    med = statistics.median
    sp = [r["speedup_vs_torch"] for r in rs if r["speedup_vs_torch"]]
    tm = [r["torch_ms"] for r in rs if r["torch_ms"]]
    return [
        f"{kernel} ×{threads}", config, f"{med(r['ms_step'] for r in rs):.3g}",
        f"{med(r['floor_ms'] for r in rs):.3g}", f"{med(r['floor_ratio'] for r in rs):.2f}",
        f"{med(tm):.3g}" if tm else "-", f"{med(sp):.2f}×" if sp else "-", str(len(rs)),
    ]  # fmt: skip


def main(out):
    files = sorted(glob.glob(f"{out}/bench_*.json"))
    if not files:
        print(f"kernels_summary.py: error: no bench_*.json in {out} (benchmarks/kernels.sh writes them)",
              file=sys.stderr)  # fmt: skip
        return 2
    rows, kernels, threads = defaultdict(list), {}, {}
    for f in files:
        k = f.rsplit("/", 1)[1].split("_")[1]
        d = _load(f)
        blas = d["environment"].get("blas") or {}
        kernels[k], threads[k] = blas.get("architecture", "?"), blas.get("num_threads", "?")
        for r in d["results"]:
            rows[(k, r["config"])].append(r)
    print("| kernel | config | ms/step | floor ms | floor× | torch ms | torch/minigan | rounds |")
    print("|---|---|---|---|---|---|---|---|")
    for k in ("native", "haswell"):
        for c in [*CONFIG_ORDER, *sorted({c for _, c in rows} - set(CONFIG_ORDER))]:
            if rows.get((k, c)):
                print("| " + " | ".join(_row(kernels[k], threads[k], c, rows[(k, c)])) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "kernels-out"))
