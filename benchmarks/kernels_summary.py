"""The table of benchmarks/kernels.sh: per BLAS kernel and config, medians over rounds of ms/step,
floor× (step / GEMM floor), PyTorch ms/step and PyTorch / minigan, with the targets of the speed issue.

    python benchmarks/kernels_summary.py OUTDIR
"""

import glob
import json
import statistics
import sys
from collections import defaultdict

# step / GEMM floor at most, PyTorch / minigan at least (the speed issue's targets)
TARGETS = {"small": (1.5, 1.2), "medium": (1.3, 1.2), "large": (1.15, 1.2), "pacgan": (2.0, 1.5)}


def main(out):
    rows, kernels, threads = defaultdict(list), {}, {}
    for f in sorted(glob.glob(f"{out}/bench_*.json")):
        k = f.rsplit("/", 1)[1].split("_")[1]
        d = json.load(open(f))
        blas = d["environment"].get("blas") or {}
        kernels[k], threads[k] = blas.get("architecture", "?"), blas.get("num_threads", "?")
        for r in d["results"]:
            rows[(k, r["config"])].append(r)
    med = statistics.median
    print("| kernel | config | ms/step | floor ms | floor× (target) | torch ms | torch/minigan (target) | rounds |")
    print("|---|---|---|---|---|---|---|---|")
    for k in ("native", "haswell"):
        for c in [*TARGETS, *sorted({c for _, c in rows} - set(TARGETS))]:
            rs = rows.get((k, c))
            if not rs:
                continue
            fr, sp = med(r["floor_ratio"] for r in rs), [r["speedup_vs_torch"] for r in rs if r["speedup_vs_torch"]]
            ft, st = TARGETS.get(c, (float("inf"), 0.0))
            tm = [r["torch_ms"] for r in rs if r["torch_ms"]]
            cells = [f"{kernels[k]} ×{threads[k]}", c, f"{med(r['ms_step'] for r in rs):.3g}",
                     f"{med(r['floor_ms'] for r in rs):.3g}", f"{fr:.2f} (≤ {ft}) {'✓' if fr <= ft else '✗'}",
                     f"{med(tm):.3g}" if tm else "-",
                     f"{med(sp):.2f}× (≥ {st}) {'✓' if med(sp) >= st else '✗'}" if sp else "-", str(len(rs))]
            print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "kernels-out")
