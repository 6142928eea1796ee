#!/usr/bin/env bash
# The speed table both ways: `minigan bench` (all four configs, with the PyTorch peer) with the
# OpenBLAS kernel this CPU picks by itself (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset) and with
# the Haswell kernel forced (OPENBLAS_CORETYPE=Haswell, as some machines set it), alternating
# between the two in every round; then benchmarks/kernels_summary.py prints the README's table
# (medians over rounds of each round's medians). About 5 minutes a round on 2 cores.
#
#     bash benchmarks/kernels.sh [OUTDIR] [ROUNDS] [CONFIGS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-kernels-out}; rounds=${2:-2}; configs=${3:-small,medium,large,pacgan}
case "$rounds" in
  ''|*[!0-9]*|0) echo "kernels.sh: error: ROUNDS: expected a positive integer, got '$rounds'" >&2; exit 2 ;;
esac
mkdir -p "$out"; out=$(cd "$out" && pwd)
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then order="native haswell"; else order="haswell native"; fi
  for k in $order; do
    if [ "$k" = haswell ]; then pre=(env OPENBLAS_CORETYPE=Haswell); else pre=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE); fi
    (cd "$here/.." && "${pre[@]}" python -m minigan.bench --configs "$configs" --json "$out/bench_${k}_$r.json" \
      > "$out/bench_${k}_$r.txt" 2>&1)
    echo "round $r: $k kernel done"
  done
done
python "$here/kernels_summary.py" "$out"
