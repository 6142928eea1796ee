"""The cost of a step of each of the game's own optimizers (minigan/game_updates.py, docs/MATH.md §16.6),
relative to the plain alternating step, on the default ring config, in one process on one core.

Every row is ``TrainConfig()`` (the ring, G 2-128-128-128-2, D 2-128-128-1, batch 256, Adam, R1 with
γ = 0.03, float32, NumPy) with the changes it names: the plain step in each mode, extragradient and
optimistic (``mode="simultaneous"``), consensus (``mode="simultaneous"``, ``penalty=None``: R1 is
refused there), and the plain simultaneous step without R1 beside it. BLAS runs on one thread
(threadpoolctl); the rows take turns, round after round, so that a machine's drift reaches all of
them alike; each figure is the median over the rounds of the mean step time of a round.

    python benchmarks/game_updates_cost.py [--steps 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

try:
    from threadpoolctl import threadpool_limits

    from minigan.engine import keep_freed_memory
    from minigan.training import GAN, TrainConfig
except ImportError as e:
    print(f"game_updates_cost.py: error: needs minigan and threadpoolctl ({e})", file=sys.stderr)
    sys.exit(2)

# row -> (the update, the TrainConfig changes)
ROWS = {
    "plain, fresh (alternating; the default)": ("plain", {}),
    "plain, reuse": ("plain", {"mode": "reuse"}),
    "plain, simultaneous": ("plain", {"mode": "simultaneous"}),
    "extragradient": ("extragradient", {"mode": "simultaneous"}),
    "optimistic": ("optimistic", {"mode": "simultaneous"}),
    "plain, simultaneous, no R1": ("plain", {"mode": "simultaneous", "penalty": None}),
    "consensus (no R1)": ("consensus", {"mode": "simultaneous", "penalty": None}),
}
REFERENCE = "plain, fresh (alternating; the default)"


def time_steps(gan: GAN, steps: int) -> float:
    """Seconds per step, the mean over ``steps`` steps (the history rows flushed as training does)."""
    t0 = time.perf_counter()
    for _ in range(steps):
        gan.train_step()
    gan.flush()
    return (time.perf_counter() - t0) / steps


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(prog="benchmarks/game_updates_cost.py", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100, help="steps per row and round (default 100)")
    p.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    args = p.parse_args(argv)
    if args.steps < 1 or args.rounds < 1:
        p.error("--steps and --rounds: expected positive integers")
    keep_freed_memory()
    with threadpool_limits(limits=1, user_api="blas"):
        gans = {row: GAN(TrainConfig(**kw), update=update) for row, (update, kw) in ROWS.items()}
        for gan in gans.values():
            time_steps(gan, 10)  # warm up: the engine's buffers, the optimizers' flat state
        times: dict[str, list[float]] = {row: [] for row in ROWS}
        for _ in range(args.rounds):
            for row, gan in gans.items():
                times[row].append(time_steps(gan, args.steps))
    ms = {row: 1e3 * statistics.median(t) for row, t in times.items()}
    print(
        f"ms per step, median of {args.rounds} rounds of {args.steps} steps, one BLAS thread, TrainConfig()"
    )
    width = max(map(len, ROWS))
    print(f"{'step':<{width}}  {'ms/step':>8}  {'× alternating':>13}")
    for row, t in ms.items():
        print(f"{row:<{width}}  {t:8.2f}  {t / ms[REFERENCE]:13.2f}")
    print(
        "\n  "
        + " ".join(["python benchmarks/game_updates_cost.py", *(argv if argv is not None else sys.argv[1:])])
    )
    return ms


if __name__ == "__main__":
    main()
