"""minigan/game.py: the force of G's loss on each sample (against finite differences), and
smoke tests of the game figure (2-D and 1-D) and the GIF of ``minigan train --animate``."""

import numpy as np
import pytest

from minigan.app import train as cli
from minigan.figures import game, plots
from minigan.training import GAN, TrainConfig

needs_mpl = pytest.mark.skipif(not plots.available(), reason="matplotlib not installed")
TINY = dict(g_hidden=(8,), d_hidden=(8,), batch_size=16, log_every=5)


def tiny_gan(steps=20, **kw):
    gan = GAN(TrainConfig(**{**TINY, "steps": steps, **kw}))
    return gan.train()


@pytest.mark.parametrize("g_loss", ["minimax", "nonsaturating", "least_squares", "hinge", "wasserstein"])
def test_force_is_minus_the_gradient_of_each_samples_loss(g_loss):
    """F(x_i) = −∂ℓ(D(x_i))/∂x_i, checked by centred differences of ℓ for one sample at a time."""
    gan = tiny_gan(dtype="float64", g_loss=g_loss, d_hidden=(16, 16))
    x = np.random.default_rng(1).normal(size=(5, 2)) * 2
    force = game.generator_force(gan, x)

    def loss(row):  # ℓ at one sample: the batch mean of a batch of one
        logit, _ = gan.D.forward(
            gan.backend.asarray(row[None, :], dtype=gan.backend.float_dtype), train=False
        )
        return float(gan.g_loss(logit)[0])

    h = 1e-6
    for i in range(x.shape[0]):
        for j in range(2):
            e = np.zeros(2)
            e[j] = h
            fd = (loss(x[i] + e) - loss(x[i] - e)) / (2 * h)
            assert force[i, j] == pytest.approx(-fd, rel=1e-5, abs=1e-9)


def test_minimax_force_is_the_nonsaturating_one_times_d_over_one_minus_d():
    """ℓ'_mm = −D and ℓ'_ns = −(1 − D) (docs/MATH.md §3): same direction, and the minimax
    force vanishes where D rejects the sample."""
    gan = tiny_gan(dtype="float64")
    x = np.random.default_rng(2).normal(size=(50, 2)) * 3
    f_ns = game.generator_force(gan, x)
    gan.g_loss = GAN(TrainConfig(**TINY, g_loss="minimax", dtype="float64"), G=gan.G, D=gan.D).g_loss
    f_mm = game.generator_force(gan, x)
    d = gan.discriminate(x)[:, None]
    np.testing.assert_allclose(f_mm, f_ns * d / (1 - d), rtol=1e-9, atol=1e-15)


def test_bad_input_is_one_clear_line():
    gan = tiny_gan(steps=1)
    with pytest.raises(ValueError, match=r"^x: expected shape \(N, 2\)"):
        game.generator_force(gan, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="^n: expected an integer >= 2"):
        game.snapshot(gan, n=1)
    with pytest.raises(ValueError, match="^every: expected a positive integer"):
        game.Animation("x.gif", every=0, total_steps=10)


def test_frame_interval_is_a_multiple_of_log_every_and_bounds_the_frames():
    assert game.frame_interval(6000, 50) == 150
    for total, le in ((6000, 50), (100, 7), (3, 5), (20000, 1)):
        every = game.frame_interval(total, le)
        assert every % le == 0 and total / every <= game.MAX_FRAMES


@needs_mpl
@pytest.mark.parametrize("dataset", ["ring", "gaussian"])
def test_game_figure_2d_and_1d(dataset, tmp_path):
    gan = tiny_gan(dataset=dataset)
    snap = game.snapshot(gan, n=64, resolution=16)
    assert snap.force.shape == snap.fake.shape == (64, gan.data.dim)
    if dataset == "ring":
        assert snap.d_grid.shape == (16, 16) and snap.p_g is None
    else:  # Figure 1: D* = p_data / (p_data + p_g) on the same grid
        np.testing.assert_allclose(snap.d_star, snap.p_data / (snap.p_data + snap.p_g), atol=1e-12)
    path = game.game_figure(gan, tmp_path / "game.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


@needs_mpl
def test_animation_writes_a_gif_with_a_frame_per_interval(tmp_path):
    from PIL import Image

    gan = tiny_gan(steps=0)
    anim = game.Animation(tmp_path / "a.gif", every=10, total_steps=40)
    anim(gan)  # the start
    for _ in range(8):
        gan.train(5)
        anim(gan)
    assert anim.frames == 5  # steps 0, 10, 20, 30, 40
    path = anim.close()
    assert open(path, "rb").read(6) == b"GIF89a"
    assert Image.open(path).n_frames in range(2, 6)  # more than one, at most 5: Pillow merges unchanged ones


@needs_mpl
def test_train_animate_writes_the_gif(tmp_path):
    out = tmp_path / "run"
    rc = cli.main(
        [
            "--g-hidden",
            "8",
            "--d-hidden",
            "8",
            "--batch-size",
            "16",
            "--log-every",
            "5",
            "--steps",
            "30",
            "--eval-samples",
            "200",
            "--quiet",
            "--animate",
            "--animate-every",
            "10",
            "--eval-every",
            "10",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert (out / "animation.gif").read_bytes()[:6] == b"GIF89a"
    assert (out / "game.png").exists()
    evals = np.loadtxt(out / "evals.csv", delimiter=",", skiprows=1, ndmin=2)
    assert evals[:, 0].tolist() == [10, 20, 30]


# -- what a person sees: the view, the titles, the legends, the colours, the size ------------------------
def test_the_view_is_fixed_by_the_data_not_by_the_generator():
    """Two runs with different generators get one view: the data's range (and the origin, where an
    untrained G starts) with a margin; a generator far away does not shrink the data into a corner."""
    a, b = tiny_gan(steps=0, seed=1), tiny_gan(steps=0, seed=2)
    assert game.snapshot(a, n=64).lims == game.snapshot(b, n=64).lims == game.data_view(a.data)
    (x0, x1), (y0, y1) = game.data_view(a.data)
    assert x1 - x0 == pytest.approx(y1 - y0)  # square
    assert x0 < -2 and x1 > 2 and y0 < -2 and y1 > 2 and x1 < 4  # the ring of radius 2, a margin, no more
    (g0, g1) = game.data_view(tiny_gan(steps=0, dataset="gaussian").data)[0]
    assert g0 < 0.0 < 4.0 + 3 * 0.5 < g1  # N(4, 0.5²) and the origin


def test_steady_keeps_heatmap_pixels_that_moved_one_step():
    h = game.HEAT_COLORS
    before = np.array([[10, 10, 10, 200, 5]], dtype=np.uint8)
    after = np.array([[11, 12, 9, 201, h + 3]], dtype=np.uint8)  # +1, +2, −1 steps; an ink; heat → ink
    np.testing.assert_array_equal(game.steady(before, after), [[10, 12, 10, 201, h + 3]])


@needs_mpl
def test_the_palette_starts_with_the_colour_map_in_the_order_of_d():
    from matplotlib import colormaps

    colors = np.array(game.gif_palette().getpalette()[: 3 * game.HEAT_COLORS]).reshape(-1, 3)
    want = np.round(255 * colormaps[game.CMAP](np.linspace(0, 1, game.HEAT_COLORS))[:, :3])
    np.testing.assert_array_equal(colors, want)


def _frames(path):
    from PIL import Image

    image = Image.open(path)
    for k in range(image.n_frames):
        image.seek(k)
        yield np.asarray(image.convert("RGB"))


@needs_mpl
def test_every_frame_is_wide_titled_and_its_legend_drawn_over_the_heatmap(tmp_path):
    gan = tiny_gan(steps=0)
    anim = game.Animation(tmp_path / "a.gif", every=10, total_steps=20, title="tiny")
    for _ in range(3):
        anim(gan)
        gan.train(10)
    legend = anim.figure.ax.get_legend()
    x0, y0, x1, y1 = np.round(legend.get_window_extent().extents).astype(int)
    frames = list(_frames(anim.close()))
    assert len(frames) == 3
    for rgb in frames:
        h, w, _ = rgb.shape
        assert w >= 900 and (w, h) == (905, 440)
        assert rgb[:20, : w // 2].mean(axis=2).min() < 80  # the title's dark text over the game panel
        # the legend's light box, over the coloured heatmap (image rows count from the top)
        box = rgb[h - y1 + 3 : h - y0 - 3, x0 + 3 : x1 - 3].astype(int)
        assert np.mean(np.all(box > 200, axis=2)) > 0.6
    assert [t.get_text() for t in anim.figure.ax.get_legend().get_texts()] == [
        "data x",
        "G(z)",
        "force on G(z)",
    ]


@needs_mpl
def test_the_fourth_panel_of_losses_has_one_legend_for_both_axes(tmp_path, monkeypatch):
    drawn = {}

    def keep(fig, path, dpi=110):
        drawn["fig"] = fig
        return str(path)

    monkeypatch.setattr(plots, "save", keep)
    h = np.abs(np.random.default_rng(0).normal(size=(40, 9))) + 0.1
    evals = {
        "step": np.array([10, 20, 30, 40]),
        "modes_covered": np.array([4, 6, 8, 8]),
        "high_quality": np.array([0.1, 0.3, 0.6, 0.8]),
        "sliced_w1": np.array([0.4, 0.2, 0.1, 0.05]),
    }
    plots.loss_curves(h, tmp_path / "losses.png", evals=evals)
    axes = drawn["fig"].axes
    assert len(axes) == 5  # four panels and the right axis of the fourth
    legends = [ax.get_legend() for ax in axes[3:]]
    assert sum(lg is not None for lg in legends) == 1
    labels = [t.get_text() for lg in legends if lg is not None for t in lg.get_texts()]
    assert labels == ["high quality", "modes covered / 8", "sliced W1 (right)"]
