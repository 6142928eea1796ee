"""The table of benchmarks/ab.sh: medians over rounds of ms/step, floor× and mem×, before and after.

python benchmarks/ab_summary.py OUTDIR
"""

import glob
import json
import statistics
import sys
from collections import defaultdict


def _load(path):
    with open(path) as f:
        return json.load(f)


def _which_kernel(path):
    """("before" | "after", "native" | "haswell") from OUTDIR/<kind>_<which>_<kernel>_<round>.json."""
    _, which, k, _ = path.rsplit("/", 1)[1][:-5].split("_")
    return which, k


def main(out):
    files = sorted(glob.glob(f"{out}/bench_*.json"))
    if not files:
        print(
            f"ab_summary.py: error: no bench_*.json in {out} (benchmarks/ab.sh writes them)", file=sys.stderr
        )
        return 2
    bench, pac, kernels = defaultdict(list), defaultdict(list), {}
    for f in files:
        which, k = _which_kernel(f)
        d = _load(f)
        kernels[(which, k)] = (
            d["environment"]["blas"]["architecture"] if d["environment"].get("blas") else "?"
        )
        for r in d["results"]:
            bench[(k, r["config"], which)].append((r["ms_step"], r["floor_ratio"], r["mem_ratio"]))
    for f in sorted(glob.glob(f"{out}/pacgan_*.json")):
        which, k = _which_kernel(f)
        pac[(k, which)].append(_load(f)["ms_step_median"])
    med = statistics.median
    print(
        "| kernel | config | before ms/step | after ms/step | after/before | before floor× | after floor× "
        "| mem× before → after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for k in ("native", "haswell"):
        arch = kernels.get(("after", k), "?")
        for c in ("small", "medium", "large"):
            b, a = bench.get((k, c, "before")), bench.get((k, c, "after"))
            if not b or not a:
                continue
            bm, am = med(x[0] for x in b), med(x[0] for x in a)
            print(
                f"| {arch} | {c} | {bm:.3f} | {am:.3f} | {am / bm:.3f} | {med(x[1] for x in b):.3f} | "
                f"{med(x[1] for x in a):.3f} | {b[0][2]:.2f} → {a[0][2]:.2f} |"
            )
        if pac.get((k, "before")) and pac.get((k, "after")):
            bm, am = med(pac[(k, "before")]), med(pac[(k, "after")])
            print(f"| {arch} | PacGAN step | {bm:.2f} | {am:.2f} | {am / bm:.3f} | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "ab-out"))
