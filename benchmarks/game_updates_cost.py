"""The cost of a step of each of the game's own optimizers (minigan/game_updates.py, docs/MATH.md §16.6),
relative to the plain alternating step, on the default ring config, in one process on one core.

Every row is ``TrainConfig()`` (the ring, G 2-128-128-128-2, D 2-128-128-1, batch 256, Adam, R1 with
γ = 0.03, float32, NumPy) with the changes it names: the plain step in each mode, extragradient and
optimistic (``mode="simultaneous"``), consensus (``mode="simultaneous"``, ``penalty=None``: R1 is
refused there), the unrolled GAN with K = 1, 5, 10 steps of D's Adam and its ablation (θ_D^K held
constant, K = 5; no R1 either), and the plain simultaneous step without R1 beside them. BLAS runs on
one thread (threadpoolctl); the rows take turns, round after round, so that a machine's drift reaches
all of them alike; each figure is the median over the rounds of the mean step time of a round.

A second table splits the unrolled step (docs/MATH.md §17.3, §17.6): its forward part (K steps of
D: the ablation's time, which also holds the objective's pass and G's passes) and its reverse part (the
exact gradient's time less the ablation's: K products H_DD·ḡ and the mixed term, with the copies they
keep), each per unrolled step and in units of one step of D (its gradient and its Adam move), beside
the operation counts of §17.6.

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
    from minigan.game_updates import Unrolled
    from minigan.training import GAN, TrainConfig
    from minigan.unrolled import unrolled_gradients
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
    "unrolled, K = 1 (no R1)": (Unrolled(1), {"mode": "simultaneous", "penalty": None}),
    "unrolled, K = 5 (no R1)": (Unrolled(5), {"mode": "simultaneous", "penalty": None}),
    "unrolled, K = 10 (no R1)": (Unrolled(10), {"mode": "simultaneous", "penalty": None}),
    "unrolled, K = 5, θ_D^K constant": (
        Unrolled(5, constant=True),
        {"mode": "simultaneous", "penalty": None},
    ),
}
SPLIT_KS = (1, 5, 10)
SPLIT_WIDTHS = (128, 512)  # D's hidden width: the default's, and one where the products' GEMMs dominate
REFERENCE = "plain, fresh (alternating; the default)"


def time_steps(gan: GAN, steps: int) -> float:
    """Seconds per step, the mean over ``steps`` steps (the history rows flushed as training does)."""
    t0 = time.perf_counter()
    for _ in range(steps):
        gan.train_step()
    gan.flush()
    return (time.perf_counter() - t0) / steps


def mean_seconds(f, reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps


def split_times(reps: int, width: int) -> dict[int, dict[str, float]]:
    """For each K of SPLIT_KS: seconds of one D step, one product, the ablation's and the exact
    gradient's ``unrolled_gradients``, on one batch of the no-R1 simultaneous config with D's hidden
    layers ``width`` wide."""
    gan = GAN(TrainConfig(mode="simultaneous", penalty=None, d_hidden=(width, width)))
    at, D = gan.unrolling(gan.draw()), gan.D.params()
    g, tape, _ = at.d_gradient()
    twin, moved = gan.d_opt.clone(), {k: p.copy() for k, p in D.items()}
    out = {}
    step = mean_seconds(lambda: twin.step(moved, at.d_gradient()[0]), reps)
    product = mean_seconds(lambda: at.d_products(tape, g), reps)
    for K in SPLIT_KS:
        const = mean_seconds(lambda K=K: unrolled_gradients(at, gan.d_opt, D, K, constant=True), reps)
        exact = mean_seconds(lambda K=K: unrolled_gradients(at, gan.d_opt, D, K), reps)
        out[K] = {"step": step, "product": product, "constant": const, "exact": exact}
    return out


def print_split(width: int, rounds: list[dict[int, dict[str, float]]]) -> None:
    med = {K: {q: statistics.median(r[K][q] for r in rounds) for q in rounds[0][K]} for K in SPLIT_KS}
    one = med[SPLIT_KS[0]]
    print(
        f"\nthe unrolled gradient split, D 2-{width}-{width}-1 (one batch, medians of {len(rounds)} rounds): "
        f"one D step (gradient + Adam move) {1e3 * one['step']:.2f} ms; one product H_DD·u with its "
        f"mixed term {1e3 * one['product']:.2f} ms = {one['product'] / one['step']:.2f} D steps "
        "(counted: 7/3 = 2.33)"
    )
    print(f"{'K':>3}  {'forward ms':>10}  {'per K, D steps':>14}  {'reverse ms':>10}  {'per K, D steps':>14}")
    for K, m in med.items():
        rev = m["exact"] - m["constant"]
        print(
            f"{K:>3}  {1e3 * m['constant']:10.2f}  {m['constant'] / K / m['step']:14.2f}  "
            f"{1e3 * rev:10.2f}  {rev / K / m['step']:14.2f}"
        )


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
        splits: dict[int, list] = {}
        for _ in range(args.rounds):
            for row, gan in gans.items():
                times[row].append(time_steps(gan, args.steps))
            for width in SPLIT_WIDTHS:
                splits.setdefault(width, []).append(split_times(max(3, args.steps // 10), width))
    ms = {row: 1e3 * statistics.median(t) for row, t in times.items()}
    print(
        f"ms per step, median of {args.rounds} rounds of {args.steps} steps, one BLAS thread, TrainConfig()"
    )
    width = max(map(len, ROWS))
    print(f"{'step':<{width}}  {'ms/step':>8}  {'× alternating':>13}")
    for row, t in ms.items():
        print(f"{row:<{width}}  {t:8.2f}  {t / ms[REFERENCE]:13.2f}")
    for width, rounds in splits.items():
        print_split(width, rounds)
    print(
        "\n  "
        + " ".join(["python benchmarks/game_updates_cost.py", *(argv if argv is not None else sys.argv[1:])])
    )
    return ms


if __name__ == "__main__":
    main()
