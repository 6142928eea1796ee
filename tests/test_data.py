"""Datasets: shapes, dtypes and devices on every backend; presets; finite sets; digits."""

import math
import sys

import numpy as np
import pytest

from minigan import data
from minigan.backend import get_backend
from minigan.training import GAN, TrainConfig

DIMS = {"gaussian": 1, "ring": 2, "grid": 2, "pacgan_ring": 2, "pacgan_grid": 2, "digits": 64}


def _needs(name):
    if name == "digits":
        pytest.importorskip("sklearn")


@pytest.mark.parametrize("name", data.DATASETS)
def test_samples_live_on_the_backend(backend, name):
    _needs(name)
    d = data.make_dataset(name, backend, backend.random(0))
    x = d.sample(7)
    assert tuple(x.shape) == (7, DIMS[name]) == (7, d.dim)
    assert x.dtype == backend.float_dtype
    if backend.name == "strict":
        assert x.device == backend.device
    ref = d.reference(5, seed=1)
    assert isinstance(ref, np.ndarray) and ref.shape == (5, d.dim)


def test_datasets_lists_every_name():
    assert set(data.DATASETS) == set(DIMS)


def test_presets_follow_pacgan():
    b = get_backend("numpy")
    ring = data.make_dataset("pacgan_ring", b, b.random(0))
    # PacGAN (Lin et al. 2018): means (cos 2πi/8, sin 2πi/8), std 0.01, 100,000 training points
    assert np.allclose(np.linalg.norm(ring.means, axis=1), 1.0) and ring.means.shape == (8, 2)
    assert np.allclose(ring.means[2], [0.0, 1.0])
    assert ring.std == 0.01 and ring.config()["train_size"] == 100_000
    grid = data.make_dataset("pacgan_grid", b, b.random(0))
    assert sorted(set(grid.means.ravel().tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert grid.means.shape == (25, 2) and grid.std == 0.05
    default = data.make_dataset("ring", b, b.random(0))
    assert default.radius == 2.0 and default.std == 0.02 and not hasattr(default, "points")


def test_ring_samples_sit_at_their_modes():
    b = get_backend("numpy", dtype="float64")
    d = data.make_dataset("ring", b, b.random(0), std=0.02)
    x = d.sample(4000)
    dist = np.linalg.norm(x[:, None, :] - d.means[None], axis=2)
    k = dist.argmin(axis=1)
    # every mode drawn about equally; distance to the mode ~ std·chi_2 (mean std·sqrt(π/2))
    assert np.bincount(k, minlength=8).min() > 400
    assert dist.min(axis=1).mean() == pytest.approx(0.02 * math.sqrt(math.pi / 2), rel=0.05)


def test_params_override_presets_and_reference_leaves_the_stream_alone():
    b = get_backend("numpy")
    rng = b.random(3)
    d = data.make_dataset("pacgan_ring", b, rng, std=0.05, train_size=10)
    assert d.std == 0.05 and d.n == 10
    before = rng.state()
    d.reference(100, seed=5)
    assert rng.state() == before


def test_finite_training_set_resamples_fixed_points(backend):
    d = data.make_dataset("ring", backend, backend.random(0), train_size=20)
    points = backend.to_numpy(d.points)
    assert points.shape == (20, 2)
    x = backend.to_numpy(d.sample(200))
    # every minibatch row is one of the 20 points, and more than one of them is used
    match = (np.abs(x[:, None, :] - points[None]).max(axis=2) == 0).any(axis=1)
    assert match.all()
    assert len({tuple(r) for r in x.tolist()}) > 1
    assert d.sample(3).dtype == backend.float_dtype


def test_digits_scaled_for_tanh():
    pytest.importorskip("sklearn")
    b = get_backend("numpy")
    d = data.make_dataset("digits", b, b.random(0))
    assert d.images.shape == (1797, 64) and d.output == "tanh"
    assert d.images.min() == -1.0 and d.images.max() == 1.0  # pixel values 0..16 -> v/8 − 1
    sevens = data.make_dataset("digits", b, b.random(0), digit=7)
    assert 150 < sevens.images.shape[0] < 200


def test_digits_without_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now fails
    b = get_backend("numpy")
    with pytest.raises(ImportError, match=r'pip install "minigan\[digits\]"'):
        data.make_dataset("digits", b, b.random(0))


def test_a_gan_trains_on_digits_with_a_tanh_output():
    pytest.importorskip("sklearn")
    gan = GAN(
        TrainConfig(
            dataset="digits",
            g_output="tanh",
            noise_dim=8,
            g_hidden=(32,),
            d_hidden=(32,),
            batch_size=16,
            steps=2,
        )
    )
    gan.train()
    x = gan.sample(10)
    assert x.shape == (10, 64) and np.abs(x).max() <= 1.0


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("moons", {}, "dataset"),
        ("ring", {"std": 0.0}, "std"),
        ("ring", {"modes": 0}, "modes"),
        ("ring", {"radius": -1.0}, "radius"),
        ("grid", {"side": 2.5}, "side"),
        ("gaussian", {"mean": float("nan")}, "mean"),
        ("ring", {"train_size": 0}, "train_size"),
        ("ring", {"colour": "red"}, "colour"),
        ("digits", {"digit": 10}, "digit"),
    ],
)
def test_bad_parameters(name, params, match):
    if name == "digits":
        pytest.importorskip("sklearn")
    b = get_backend("numpy")
    with pytest.raises(ValueError, match=match):
        data.make_dataset(name, b, b.random(0), **params)


def test_bad_batch_size():
    b = get_backend("numpy")
    d = data.make_dataset("ring", b, b.random(0))
    for m in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="m"):
            d.sample(m)
