#!/usr/bin/env bash
# Before/after: the same benchmarks from two checkouts of minigan, alternating, on both BLAS kernels.
#
#     bash benchmarks/ab.sh BEFORE_DIR AFTER_DIR [OUTDIR] [ROUNDS]
#
# BEFORE_DIR and AFTER_DIR are checkouts (e.g. `git worktree add ../before <commit>`). Each round
# runs, from each checkout's root (so that its own minigan is imported), `python -m minigan.bench
# --no-torch` and benchmarks/pacgan_step.py (this checkout's copy, which builds its GAN from
# TrainConfig alone and so runs on either), once with the environment's OpenBLAS kernel
# (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset) and once with OPENBLAS_CORETYPE=Haswell; the
# order of the two checkouts alternates between rounds. Then benchmarks/ab_summary.py prints the
# medians and the after/before ratios. About 4 minutes a round on 2 cores.
set -euo pipefail
if [ $# -lt 2 ] || [ ! -d "$1" ] || [ ! -d "$2" ]; then
  echo "ab.sh: error: expected two checkouts: bash benchmarks/ab.sh BEFORE_DIR AFTER_DIR [OUTDIR] [ROUNDS]" >&2
  exit 2
fi
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
out=${3:-ab-out}; rounds=${4:-3}
case "$rounds" in
  ''|*[!0-9]*|0) echo "ab.sh: error: ROUNDS: expected a positive integer, got '$rounds'" >&2; exit 2 ;;
esac
mkdir -p "$out"; out=$(cd "$out" && pwd)
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then order="before after"; else order="after before"; fi
  for which in $order; do
    if [ "$which" = before ]; then dir=$before; else dir=$after; fi
    for k in native haswell; do
      if [ "$k" = haswell ]; then pre=(env OPENBLAS_CORETYPE=Haswell); else pre=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE); fi
      (cd "$dir" && "${pre[@]}" python -m minigan.bench --no-torch --json "$out/bench_${which}_${k}_$r.json" > "$out/bench_${which}_${k}_$r.txt" 2>&1)
      (cd "$dir" && "${pre[@]}" python -c "import sys; sys.argv = ['pacgan_step', '--steps', '200', '--rounds', '5']; exec(open('$here/pacgan_step.py').read())" > "$out/pacgan_${which}_${k}_$r.json")
      echo "round $r: $which, $k kernel done"
    done
  done
done
python "$here/ab_summary.py" "$out"
