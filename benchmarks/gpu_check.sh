#!/usr/bin/env bash
# The GPU check: the test suite's cupy cases, then the training-step benchmark on CuPy with
# PyTorch CUDA eager as the peer. Prepared to run in one go, in a few minutes, on a machine with
# an NVIDIA GPU where CuPy, torch, numpy, pytest and hypothesis are installed:
#
#     bash benchmarks/gpu_check.sh [OUTDIR]        # default OUTDIR: $OUT, else benchmarks/gpu-out
#
# The three parts together stay under 9 minutes (a device call may run 10). Writes
# OUTDIR/{env.txt, tests_cupy.log, bench_cupy.{json,txt}, bench_cupy_fused.{json,txt}} and exits
# non-zero if any part failed (every part still runs).
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-${OUT:-benchmarks/gpu-out}}
mkdir -p "$OUTDIR"
status=0

# CuPy is what this checks; PyTorch (a CUDA build) is the bench's peer, which runs without it
if ! python -c "import cupy" >/dev/null 2>&1; then
  echo "gpu_check.sh: error: needs CuPy (pip install -e '.[cuda12x]' for CUDA 12, '.[cuda13x]' for CUDA 13)" >&2
  exit 2
fi
if ! python -c "import torch" >/dev/null 2>&1; then
  echo "gpu_check.sh: PyTorch is not installed: the bench runs without its peer (pip install torch, a CUDA build)" >&2
fi

if [ -z "${SKIP_INSTALL:-}" ]; then  # SKIP_INSTALL=1: use the environment as it is (a dry run)
  pip install -e . --no-deps -q >/dev/null 2>&1 || pip install -e . --no-deps
fi

{
  date -u +"%Y-%m-%d %H:%M UTC"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
  lscpu | grep -m1 "Model name" || true
  python - <<'PY'
import cupy, numpy
try:
    import torch
    peer = f"torch {torch.__version__} | torch.cuda {torch.cuda.is_available()}"
except ImportError:
    peer = "torch not installed"
print("cupy", cupy.__version__, "| numpy", numpy.__version__, "|", peer, "| CUDA", cupy.cuda.runtime.runtimeGetVersion())
PY
} 2>&1 | tee "$OUTDIR/env.txt"

# 1. every backend-parametrised test on cupy (the `backend` fixture's cupy cases, and the fused
#    kernels' GPU tests), plus the benchmark's and the engine's own tests; -p no:cacheprovider
#    keeps the tree clean
echo "== tests on cupy"
timeout 220 python -m pytest -q -p no:cacheprovider -k "cupy or test_bench or test_engine" 2>&1 | tee "$OUTDIR/tests_cupy.log" | tail -5
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# 2. the benchmark: small, medium, large, pacgan on CuPy against PyTorch CUDA (GPU steps are ms: more repeats)
echo "== benchmark on cupy"
timeout 180 python -m minigan.bench --backend cupy --repeats 200 --json "$OUTDIR/bench_cupy.json" 2>&1 | tee "$OUTDIR/bench_cupy.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# 3. the same with the fused kernels (engine.CupyOps, fused=True): do they help? (no PyTorch: compare ms/step
#    and the optimizers / the rest columns with part 2)
echo "== benchmark on cupy, MINIGAN_FUSED=1"
MINIGAN_FUSED=1 timeout 120 python -m minigan.bench --backend cupy --repeats 200 --no-torch \
  --json "$OUTDIR/bench_cupy_fused.json" 2>&1 | tee "$OUTDIR/bench_cupy_fused.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

exit $status
