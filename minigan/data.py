"""Toy data: samplers that draw real examples x on the backend's device.

Every dataset has ``dim`` and ``sample(m) -> (m, dim)`` array in the backend's float
dtype. Mixtures also expose ``means`` (K, dim) and ``std`` so metrics can score samples.
"""

from __future__ import annotations

import math

import numpy as np

from .backend import Backend, Random

DATASETS = ("gaussian", "ring", "grid")


class Dataset:
    name = "dataset"
    dim: int

    def __init__(self, backend: Backend, rng: Random):
        self.backend, self.rng = backend, rng

    def sample(self, m: int):
        raise NotImplementedError

    def config(self) -> dict:
        raise NotImplementedError


def _check_m(m):
    if isinstance(m, bool) or not isinstance(m, int) or m <= 0:
        raise ValueError(f"m: expected a positive number of samples, got {m!r}")


class Gaussian1D(Dataset):
    """x ~ N(mean, std²), shape (m, 1)."""

    name = "gaussian"
    dim = 1

    def __init__(self, backend, rng, mean=4.0, std=0.5):
        super().__init__(backend, rng)
        if not std > 0:
            raise ValueError(f"std: expected a positive number, got {std!r}")
        self.mean, self.std = float(mean), float(std)
        self.means = np.array([[self.mean]])

    def sample(self, m):
        _check_m(m)
        return self.rng.normal((m, 1)) * self.std + self.mean

    def density(self, x):
        """p_data(x) for a NumPy array x."""
        return np.exp(-0.5 * ((x - self.mean) / self.std) ** 2) / (self.std * math.sqrt(2 * math.pi))

    def config(self):
        return {"name": self.name, "mean": self.mean, "std": self.std}


class GaussianMixture2D(Dataset):
    """An equal-weight mixture of isotropic 2-D Gaussians N(means[k], std²·I)."""

    dim = 2

    def __init__(self, backend, rng, means, std, name="mixture"):
        super().__init__(backend, rng)
        if not std > 0:
            raise ValueError(f"std: expected a positive number, got {std!r}")
        self.name = name
        self.means = np.asarray(means, dtype=np.float64)  # host copy, for metrics and plots
        self.std = float(std)
        self._means = backend.asarray(self.means.astype(np.float32 if backend.float_dtype == backend.xp.float32 else np.float64))

    def sample(self, m):
        _check_m(m)
        k = self.rng.integers(self.means.shape[0], (m,))
        return self.backend.xp.take(self._means, k, axis=0) + self.rng.normal((m, 2)) * self.std


class Ring(GaussianMixture2D):
    """``modes`` Gaussians on a circle: means r·(cos 2πi/K, sin 2πi/K), std ``std``.

    Defaults radius 2, std 0.02 (the common setting); preset ``pacgan``: radius 1, std 0.01.
    """

    def __init__(self, backend, rng, modes=8, radius=2.0, std=0.02):
        if isinstance(modes, bool) or not isinstance(modes, int) or modes < 1:
            raise ValueError(f"modes: expected a positive integer, got {modes!r}")
        a = 2 * math.pi * np.arange(modes) / modes
        super().__init__(backend, rng, radius * np.stack([np.cos(a), np.sin(a)], axis=1), std, "ring")
        self.modes, self.radius = modes, float(radius)

    def config(self):
        return {"name": "ring", "modes": self.modes, "radius": self.radius, "std": self.std}


class Grid(GaussianMixture2D):
    """side×side Gaussians on a grid with ``spacing`` between means, centred at 0.

    Defaults side 5, spacing 2 (means {−4, −2, 0, 2, 4}²), std 0.05 (PacGAN's values).
    """

    def __init__(self, backend, rng, side=5, spacing=2.0, std=0.05):
        if isinstance(side, bool) or not isinstance(side, int) or side < 1:
            raise ValueError(f"side: expected a positive integer, got {side!r}")
        c = (np.arange(side) - (side - 1) / 2) * spacing
        means = np.array([[a, b] for a in c for b in c])
        super().__init__(backend, rng, means, std, "grid")
        self.side, self.spacing = side, float(spacing)

    def config(self):
        return {"name": "grid", "side": self.side, "spacing": self.spacing, "std": self.std}


PRESETS = {
    "ring": {},
    "grid": {},
    "gaussian": {},
    "pacgan": {"ring": {"radius": 1.0, "std": 0.01}, "grid": {"spacing": 2.0, "std": 0.05}},
}


def make_dataset(name: str, backend: Backend, rng: Random, **params) -> Dataset:
    """A dataset by name: gaussian (mean, std), ring (modes, radius, std), grid (side, spacing, std)."""
    if name == "gaussian":
        return Gaussian1D(backend, rng, **params)
    if name == "ring":
        return Ring(backend, rng, **params)
    if name == "grid":
        return Grid(backend, rng, **params)
    raise ValueError(f"dataset: expected one of {DATASETS}, got {name!r}")
