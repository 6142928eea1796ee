"""Demo 6: 8×8 handwritten digits (scikit-learn), and a memorisation check.

An MLP GAN on scikit-learn's 1,797 digit images (64 pixels scaled to [−1, 1], G ending in
tanh; non-saturating loss, Adam). Shown: a grid of generated digits next to real ones, and
for each generated digit its nearest training image. The memorisation check compares two
distance distributions (Euclidean, in pixel space):

    generated → nearest training image        (a copy of the training set would give ≈ 0)
    training image → nearest OTHER training image   (how close real digits are to each other)

If G memorised, the first would sit far below the second. Needs scikit-learn
(pip install -e ".[digits]"); without it the demo says so and exits.

    python demos/demo6_digits.py [--steps 4000]
"""

from __future__ import annotations

import _common  # noqa: F401  (first: thread limits, sys.path)

# isort: split
import numpy as np

from minigan.metrics import evaluate

NAME = "demo6_digits"


def nearest(a, b, exclude_self=False):
    """For each row of a (n, d): index and distance of its nearest row in b (m, d)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    idx = np.argmin(d2, axis=1)
    return idx, np.sqrt(np.maximum(d2[np.arange(a.shape[0]), idx], 0.0))


def tile(images, rows, cols, pad=1):
    """(n, 64) in [−1, 1] → one (rows·9, cols·9) image, white gaps."""
    out = np.ones((rows * (8 + pad), cols * (8 + pad)))
    for i, im in enumerate(images[: rows * cols]):
        r, c = divmod(i, cols)
        out[r * (8 + pad) : r * (8 + pad) + 8, c * (8 + pad) : c * (8 + pad) + 8] = (1 - im.reshape(8, 8)) / 2
    return out


def main(argv=None):
    p = _common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4000, help="training steps (default 4000)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 20)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print('demo 6 skipped: it needs scikit-learn for the digits (pip install -e ".[digits]")')
        return None
    plt = _common.pyplot()
    from minigan.training import GAN, TrainConfig

    cfg = TrainConfig(
        dataset="digits",
        noise_dim=16,
        g_hidden=(128, 256),
        d_hidden=(256, 128),
        activation="leaky_relu",
        g_output="tanh",
        batch_size=64,
        g_lr=2e-4,
        d_lr=2e-4,
        betas=(0.5, 0.999),
        lr_decay=1.0,
        seed=args.seed,
        log_every=100,
        penalty=None,
    )
    gan = GAN(cfg)
    with _common.Timer() as t:
        gan.train(args.steps)
    train = gan.data.images  # (1797, 64) in [-1, 1]
    fake = gan.sample(1000, seed=5).astype(np.float64)
    _, d_fake = nearest(fake, train)
    nn_idx, _ = nearest(fake[:12], train)
    _, d_loo = nearest(train, train, exclude_self=True)
    m = evaluate(gan, n=1000)
    ref = gan.data.reference(1000, seed=11)
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, size=(1000, 64))
    from minigan.metrics import sliced_wasserstein1

    sw_real = sliced_wasserstein1(train[rng.choice(train.shape[0], 1000, replace=False)], ref)
    sw_noise = sliced_wasserstein1(noise, ref)

    # ---- numbers ------------------------------------------------------------------------
    print(
        f"digits: {args.steps} steps in {t.seconds:.1f} s (G 16→128→256→64 tanh, D 64→256→128→1, leaky ReLU)"
    )
    q = lambda v: f"{np.percentile(v, 5):.2f} / {np.median(v):.2f} / {np.percentile(v, 95):.2f}"  # noqa: E731
    print("nearest-training-image distance, 5th pct / median / 95th pct (pixel space, [-1, 1] scale):")
    print(f"  generated -> training set:           {q(d_fake)}")
    print(f"  training -> other training images:   {q(d_loo)}")
    frac = float(np.mean(d_fake < np.percentile(d_loo, 5)))
    print(
        f"  generated digits closer to a training image than 95 % of real digits are to each other: "
        f"{100 * frac:.1f} %"
    )
    print(
        f"sliced W1 to fresh real draws: generated {m['sliced_w1']:.3f}; real (another draw) {sw_real:.3f}; "
        f"uniform noise {sw_noise:.3f}"
    )
    if np.median(d_fake) >= np.median(d_loo):
        print(
            "reading: no sign of memorisation; generated digits are farther from the training set than real "
            "digits are from each other (new digits, and less sharp ones)."
        )
    else:
        print(
            "reading: generated digits sit closer to the training set than real digits do to each other: "
            "look at the nearest-neighbour pairs for copies."
        )
    print(
        "lesson: with 1,797 training images a GAN could copy them; nearest-neighbour distances, compared "
        "with the real-to-real ones, tell new digits from copies."
    )

    # ---- figure -------------------------------------------------------------------------
    fig = plt.figure(figsize=(12, 3.6))
    gs = fig.add_gridspec(1, 4, width_ratios=[1, 1, 0.55, 1.2])
    ax = fig.add_subplot(gs[0])
    ax.imshow(tile(train[rng.choice(train.shape[0], 48, replace=False)], 6, 8), cmap="gray", vmin=0, vmax=1)
    ax.set(title="real digits", xticks=[], yticks=[])
    ax.grid(False)
    ax = fig.add_subplot(gs[1])
    ax.imshow(tile(np.clip(fake, -1, 1), 6, 8), cmap="gray", vmin=0, vmax=1)
    ax.set(title=f"generated (step {gan.step})", xticks=[], yticks=[])
    ax.grid(False)
    ax = fig.add_subplot(gs[2])
    pairs = np.empty((12 * 2, 64))
    pairs[0::2], pairs[1::2] = np.clip(fake[:12], -1, 1), train[nn_idx]
    ax.imshow(tile(pairs, 12, 2), cmap="gray", vmin=0, vmax=1)
    ax.set(title="generated | nearest\ntraining image", xticks=[], yticks=[])
    ax.grid(False)
    ax = fig.add_subplot(gs[3])
    bins = np.linspace(0, max(d_fake.max(), d_loo.max()), 40)
    ax.hist(d_loo, bins=bins, alpha=0.6, density=True, label="real → nearest other real")
    ax.hist(d_fake, bins=bins, alpha=0.6, density=True, label="generated → nearest real")
    ax.set(xlabel="distance to the nearest training image", title="memorisation check")
    ax.legend()
    fig.tight_layout()
    _common.save(fig, args, "digits.png")
    return {
        "d_fake": d_fake,
        "d_loo": d_loo,
        "sliced_w1": m["sliced_w1"],
        "seconds": t.seconds,
        "fake": fake,
        "train": train,
    }


if __name__ == "__main__":
    main()
