"""One config measured (``bench_config``: the step, its GEMM floor and the PyTorch peer, timed in
interleaved rounds; then the breakdown and the peak memory), and a whole run (``run``)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from ..._checks import check_int
from ...backend import Backend, get_backend
from ...training import GAN
from .configs import DEFAULT_REPEATS, MAX_REPEATS, AnyConfig, PacGANConfig, make_gan, step_flops
from .report import BREAKDOWN_HEADER, HEADER, banner, format_breakdown, format_row, kernel_warning
from .timing import (
    blas_info,
    environment,
    gemm_floor_fn,
    loadavg,
    peak_step_bytes,
    step_breakdown,
    time_calls,
)
from .torch_peer import torch_floor_fn, torch_pacgan_step_fn, torch_step_fn

med = statistics.median


def bench_config(
    cfg: AnyConfig,
    backend_spec: str = "numpy",
    repeats: int | None = None,
    use_torch: bool = True,
    rounds: int = 9,
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Measure one config; returns a JSON-able dict.

    The step, the floor and the peer are timed in ``rounds`` rounds, one block of each per
    round (each block after its own short warm-up), and each ratio is the median over the
    rounds of that round's ratio of medians: a machine that slows down for a while slows
    the three blocks of a round alike, so the ratios hold up where the times drift.
    ``repeats`` (at most ``MAX_REPEATS``; None: ``DEFAULT_REPEATS`` of the config) timed steps
    in all, ``ceil(repeats / rounds)`` a round.
    """
    if repeats is None:
        repeats = DEFAULT_REPEATS.get(cfg.name, 20)
    repeats = check_int("repeats", repeats, 1, MAX_REPEATS)
    rounds = min(check_int("rounds", rounds), repeats)
    per_round = max(1, math.ceil(repeats / rounds))
    times, per, faults, load0, breakdown = _timed_rounds(cfg, backend_spec, use_torch, rounds, per_round)
    peak, mb = peak_step_bytes(cfg, backend_spec)  # after the timed GAN, floor and peer are gone
    res = _result(cfg, times, per, breakdown, peak, mb)
    res["page_faults_per_step"] = faults / max(1, len(times["step"]))
    res["rounds"] = per
    res["loadavg_1min"] = [load0, loadavg()]
    for k, ts in times.items():
        res[f"ms_{k}_all"] = [t * 1e3 for t in ts]
    if log:
        log(format_row(res))
    return res


def _timed_rounds(cfg: AnyConfig, backend_spec: str, use_torch: bool, rounds: int, per_round: int) -> tuple:
    """(the times in s of the step, the floor, the peer and its floor, {"step": [...], "floor",
    "torch", "torch_floor"}; each round's medians in ms; the minor page faults of the timed
    steps; the load average before; ``step_breakdown``), ``per_round`` calls of each a round."""
    backend = get_backend(backend_spec)
    sync = backend.synchronize
    gan = make_gan(cfg, backend_spec)
    floor = gemm_floor_fn(cfg, backend)
    peer = _peer(cfg, gan, backend) if use_torch else None
    times: dict[str, list[float]] = {"step": [], "floor": [], "torch": [], "torch_floor": []}
    per: list[dict[str, float | None]] = []
    faults, load0 = 0, loadavg()
    for _ in range(rounds):
        s, f = time_calls(gan.train_step, sync, per_round)
        faults += f
        fl, _ = time_calls(floor, sync, per_round)
        tt = time_calls(peer[0], peer[1], per_round)[0] if peer is not None else []
        tf = time_calls(peer[3], peer[1], per_round)[0] if peer is not None else []
        for k, ts in zip(times, (s, fl, tt, tf)):
            times[k] += ts
        per.append(
            {
                "ms_step": med(s) * 1e3,
                "ms_floor": med(fl) * 1e3,
                "ms_torch": med(tt) * 1e3 if tt else None,
                "ms_torch_floor": med(tf) * 1e3 if tf else None,
            }
        )
    # enough steps for about half a second (at least 3), however few the timed repeats were
    breakdown = step_breakdown(cfg, backend_spec, max(3, min(200, math.ceil(0.5 / med(times["step"])))))
    gan.flush()
    return times, per, faults, load0, breakdown


def _peer(cfg: AnyConfig, gan: GAN, backend: Backend) -> tuple | None:
    """(step, sync, torch version, floor) of the PyTorch peer, on numpy's BLAS threads; None
    without PyTorch."""
    try:
        blas = blas_info()
        threads = blas["num_threads"] if blas else None
        device = "cuda" if backend.name == "cupy" else "cpu"
        make = torch_pacgan_step_fn if isinstance(cfg, PacGANConfig) else torch_step_fn
        tstep, tsync, tver = make(cfg, gan, device, threads)  # type: ignore[arg-type]
        return tstep, tsync, tver, torch_floor_fn(cfg, device)
    except ImportError:
        return None


def _result(
    cfg: AnyConfig, times: dict[str, list[float]], per: list[dict], breakdown: dict, peak: int, mb: dict
) -> dict[str, Any]:
    """The figures of ``bench_config`` from the times of its rounds: medians in ms, the ratios
    (each the median over the rounds of that round's ratio), GFLOP/s, memory."""
    ms = med(times["step"]) * 1e3
    flops = step_flops(cfg)
    torch_ms = med(times["torch"]) * 1e3 if times["torch"] else None
    speedup = med([r["ms_torch"] / r["ms_step"] for r in per]) if times["torch"] else None
    # PyTorch's own GEMM floor: how fast its matrix products are, against ours and its step
    tfloor = bool(times["torch_floor"])
    return {
        "config": cfg.name,
        **{k: v for k, v in asdict(cfg).items() if k != "name"},
        "repeats": len(times["step"]),
        "gflop": flops / 1e9,
        "ms_step": ms,
        "gflops": flops / (ms * 1e-3) / 1e9,
        "floor_ms": med(times["floor"]) * 1e3,
        "floor_ratio": med([r["ms_step"] / r["ms_floor"] for r in per]),  # median over rounds of step/floor
        "torch_ms": torch_ms,
        "speedup_vs_torch": speedup,  # median over rounds of torch/step (> 1: minigan faster)
        "torch_floor_ms": med(times["torch_floor"]) * 1e3 if tfloor else None,  # the same products in torch
        # our floor / torch's (> 1: its GEMMs faster), torch step / torch floor
        "floor_vs_torch_floor": med([r["ms_floor"] / r["ms_torch_floor"] for r in per]) if tfloor else None,
        "torch_floor_ratio": med([r["ms_torch"] / r["ms_torch_floor"] for r in per]) if tfloor else None,
        "breakdown": breakdown,  # ms/step in products, optimizers, the rest (step_breakdown)
        "peak_bytes": peak,
        "model_bytes": mb,
        "mem_ratio": peak / mb["total"],
    }


def run(
    configs: Sequence[AnyConfig],
    backend_spec: str = "numpy",
    repeats: int | None = None,
    use_torch: bool = True,
    log: Callable[[str], Any] | None = print,
) -> dict[str, Any]:
    """Every config of ``configs`` measured (``bench_config``), the tables logged line by line
    through ``log`` (None: silent); returns {"environment": ..., "results": [...]}."""
    env = environment(backend_spec)
    if log:
        log(banner(env, backend_spec))
        warning = kernel_warning(env)
        if warning:
            log(warning)
        log(HEADER)
    results = [bench_config(c, backend_spec, repeats, use_torch, log=log) for c in configs]
    if log:
        log("")
        log(BREAKDOWN_HEADER)
        for r in results:
            log(format_breakdown(r))
    return {"environment": env, "results": results}
