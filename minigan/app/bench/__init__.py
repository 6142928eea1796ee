"""Benchmark: one training step of Algorithm 1 against the GEMM floor and PyTorch eager.

``python -m minigan.bench`` (or ``minigan bench``) times ``GAN.train_step`` — the paper's
Algorithm 1 (Goodfellow et al. 2014) with k = 1, ``fresh`` mode, the non-saturating
generator loss, Adam, float32 — on MLPs given as (batch m, noise dim, data dim, hidden
width, hidden layers), ReLU, the same widths for G and D, D ending in one logit:

=======  =====  =====  ====  =====  ======
config   m      noise  data  width  layers
=======  =====  =====  ====  =====  ======
small    256    2      2     128    2
medium   256    64     64    512    3
large    4096   64     64    1024   3
=======  =====  =====  ====  =====  ======

and ``pacgan``, the step of PacGAN's protocol (Lin et al. 2018; :class:`PacGANConfig`): G 2 → 4×400
with batch norm → 2, a maxout D 2 → 3×(200 units × 5 pieces) → 1, batch 100, the simultaneous
update, Adam β1 = 0.8 — what demos/reproduce_pacgan.py trains for hours.

For each it reports

- ``ms/step``: the median over repeated steps (on CuPy the device is synchronised before
  each clock reading);
- ``GFLOP/s``: the step's GEMM flops (below) over that time;
- ``floor``: step time / the **GEMM floor**, the median time of the same matrix products
  the step must do, run alone on the same backend with operands of the same shapes;
- ``vs torch``: PyTorch-eager ms/step / minigan ms/step (> 1: minigan is faster), the same
  nets, Adam, batch and loss, ``torch.set_num_threads`` = the BLAS threads of numpy (pacgan:
  batch norm, maxout as a max over the pieces, both gradients from one pass);
- ``mem``: the peak memory of one step / (parameters + optimizer state + activations).

The GEMMs of one ``fresh`` step, a Linear layer (N rows, a → b) costing 2·N·a·b flops for
each product it does::

    D step:  G forward, m rows                   x @ W
             D forward on [x; G(z)], 2m rows     x @ W
             D backward, 2m rows                 dW = xᵀ @ dout (every layer),
                                                 dx = dout @ Wᵀ (every layer but the first)
    G step:  G forward, m rows (new z)           x @ W
             D forward on G(z), m rows           x @ W
             D backward, input gradient only     dx = dout @ Wᵀ (every layer)
             G backward, m rows                  dW (every layer), dx (every layer but the first)

Activations (the memory denominator) are the values a backward pass must keep, one
(rows × width) array per layer boundary: max(D on 2m rows, G + D on m rows).

The package: ``configs`` (the configs, their GANs, the GEMMs and bytes of a step), ``timing``
(clocks, the GEMM floor, the timing engine, peak memory, the machine), ``torch_peer`` (the step in
PyTorch), ``measure`` (one config, a whole run), ``report`` (tables, JSON), ``command`` (``main``).
"""

from .command import DESCRIPTION, MAX_THREADS, PROG, build_parser, main
from .configs import (
    CONFIGS,
    DEFAULT_CONFIGS,
    DEFAULT_REPEATS,
    FIELDS,
    MAX_BYTES,
    MAX_LAYERS,
    MAX_REPEATS,
    MAX_SIZE,
    AnyConfig,
    BenchConfig,
    GaussianData,
    PacGANConfig,
    activation_floats,
    estimated_bytes,
    make_gan,
    model_bytes,
    parse_config,
    parse_configs,
    product_plan,
    step_flops,
    step_gemms,
)
from .measure import bench_config, run
from .report import (
    BREAKDOWN_HEADER,
    HEADER,
    banner,
    check_writable,
    format_breakdown,
    format_row,
    kernel_warning,
    write_results,
)
from .timing import (
    BLAS_KEYS,
    FORCING_VARS,
    TimedOps,
    blas_info,
    cpu_model,
    environment,
    gemm_floor_fn,
    loadavg,
    minor_faults,
    native_blas_kernel,
    peak_step_bytes,
    step_breakdown,
    time_calls,
)
from .torch_peer import torch_floor_fn, torch_pacgan_step_fn, torch_step_fn

__all__ = [
    "CONFIGS", "DEFAULT_CONFIGS", "DEFAULT_REPEATS", "FIELDS", "MAX_BYTES", "MAX_LAYERS", "MAX_REPEATS",
    "MAX_SIZE", "AnyConfig", "BenchConfig", "GaussianData", "PacGANConfig", "activation_floats",
    "estimated_bytes", "make_gan", "model_bytes", "parse_config", "parse_configs", "product_plan",
    "step_flops", "step_gemms",
    "BLAS_KEYS", "FORCING_VARS", "TimedOps", "blas_info", "cpu_model", "environment", "gemm_floor_fn",
    "loadavg", "minor_faults", "native_blas_kernel", "peak_step_bytes", "step_breakdown", "time_calls",
    "torch_floor_fn", "torch_pacgan_step_fn", "torch_step_fn",
    "bench_config", "run",
    "BREAKDOWN_HEADER", "HEADER", "banner", "check_writable", "format_breakdown", "format_row",
    "kernel_warning", "write_results",
    "DESCRIPTION", "MAX_THREADS", "PROG", "build_parser", "main",
]  # fmt: skip
