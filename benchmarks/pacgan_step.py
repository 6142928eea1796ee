"""Time one training step of PacGAN's protocol: ms per step, median over rounds.

PacGAN's GAN (Lin et al. 2018, arXiv 1712.04086): generator 4×400 ReLU with batch norm,
maxout discriminator 3×200×5, batch 100, the article's simultaneous update, Adam 1e-4 with
β1 = 0.8, float32, on the ring of 100,000 training points (the config of
demos/reproduce_pacgan.py). Built from ``TrainConfig`` alone, so the same script times any
version of minigan: put the version to time first on PYTHONPATH, alternate the versions, and
compare medians.

    python benchmarks/pacgan_step.py [--steps 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

try:
    from minigan.training import GAN, TrainConfig
except ImportError:
    print("pacgan_step.py: error: needs minigan (pip install -e . in the repository, or PYTHONPATH=CHECKOUT)",
          file=sys.stderr)  # fmt: skip
    sys.exit(2)

try:
    from minigan.engine import keep_freed_memory
except ImportError:  # versions before the engine room
    from minigan.backend import keep_freed_memory


def config(seed=0):
    return TrainConfig(
        dataset="pacgan_ring",
        data_params={"train_size": 100_000},
        noise_dim=2,
        g_hidden=(400, 400, 400, 400),
        g_batch_norm=True,
        activation="relu",
        d_hidden=(200, 200, 200),
        d_maxout=5,
        init="normal",
        g_loss="nonsaturating",
        mode="simultaneous",
        k=1,
        optimizer="adam",
        g_lr=1e-4,
        d_lr=1e-4,
        betas=(0.8, 0.999),
        lr_decay=1.0,
        batch_size=100,
        seed=seed,
        log_every=100,
    )


def _count(high):
    """An argparse type: an integer in [1, high]."""

    def parse(text):
        try:
            v = int(text)
        except ValueError:
            v = 0
        if not 1 <= v <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [1, {high}], got {text!r}")
        return v

    return parse


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=_count(10**6), default=200, help="steps per round")
    p.add_argument("--rounds", type=_count(1000), default=7)
    a = p.parse_args(argv)
    keep_freed_memory()
    gan = GAN(config())
    gan.train(20)  # warm-up
    ms = []
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        gan.train(a.steps)
        ms.append((time.perf_counter() - t0) * 1e3 / a.steps)
    blas = None
    try:
        from threadpoolctl import threadpool_info

        blas = [
            (i.get("internal_api"), i.get("architecture"), i.get("num_threads"))
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    except ImportError:
        pass
    print(json.dumps({"ms_step_median": statistics.median(ms), "ms_step_rounds": ms, "blas": blas}))


if __name__ == "__main__":
    main()
