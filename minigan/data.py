"""Data: samplers that draw real examples x on the backend's device.

Every dataset has ``name``, ``dim``, ``sample(m) -> (m, dim)`` array in the backend's float
dtype on its device (drawn with the run's generator), ``reference(n, seed) -> (n, dim)``
NumPy array (fresh draws from the true distribution with a separate generator, for
metrics) and ``config()``. Mixtures also expose ``means`` (K, dim) (host NumPy) and ``std``
so metrics can score samples. Datasets meant for a tanh generator output say so in
``output`` ("tanh"); the others leave it None (a linear output).

Names (``DATASETS``, ``make_dataset``):

- ``gaussian``     1-D N(mean, std²) (default 4, 0.5): the paper's Figure 1 toy;
- ``ring``         8 Gaussians on a circle, default radius 2, std 0.02 (the common setting);
- ``grid``         5×5 Gaussians, means {−4, −2, 0, 2, 4}², std 0.05;
- ``pacgan_ring``  PacGAN's ring (Lin et al. 2018, arXiv 1712.04086): radius 1, std 0.01,
                   a finite training set of 100,000 points;
- ``pacgan_grid``  PacGAN's grid: spacing 2, std 0.05, 100,000 training points;
- ``digits``       scikit-learn's 8×8 handwritten digits (1,797 images, 64-D), pixel values
                   0..16 scaled to [−1, 1] for a tanh output (``pip install "minigan[digits]"``).

A finite training set (``train_size=n``): n points are drawn once (from the run's
generator, when the dataset is made) and each minibatch takes m of them uniformly with
replacement, ``xp.take(points, idx)``, as when training on a fixed dataset.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from ._checks import check_int, check_positive, is_number
from ._types import Array, ArrayLike
from .backend import Backend, Random

DATASETS = ("gaussian", "ring", "grid", "pacgan_ring", "pacgan_grid", "digits")


def _check_m(m: Any, name: str = "m") -> int:
    return check_int(name, m, what="a positive number of samples")


def _is_real(v):
    return is_number(v) and math.isfinite(v)


def _check_positive(name, v):
    return check_positive(name, v, "a positive number")


class Dataset:
    """Base class. Subclasses implement ``_draw(m, rng)``: m samples from the distribution."""

    name = "dataset"
    dim: int
    output: str | None = None  # generator output activation the data's range calls for (None: linear)

    def __init__(self, backend: Backend, rng: Random) -> None:
        if not isinstance(backend, Backend):
            raise TypeError(f"backend: expected a Backend, got {type(backend).__name__}")
        if not isinstance(rng, Random):
            raise TypeError(f"rng: expected a backend Random, got {type(rng).__name__}")
        self.backend, self.rng = backend, rng

    def _draw(self, m: int, rng: Random) -> Array:
        raise NotImplementedError

    def sample(self, m: int) -> Array:
        """m real examples, (m, dim), the backend's float dtype, on its device."""
        return self._draw(_check_m(m), self.rng)

    def reference(self, n: int, seed: int = 0) -> np.ndarray:
        """n fresh draws from the true distribution, as a (n, dim) NumPy array.

        Uses its own generator (``seed``), so it does not change the run's random stream.
        """
        n = _check_m(n, "n")
        return self.backend.to_numpy(self._draw(n, self.backend.random(seed)))

    def decode(self, x: np.ndarray) -> np.ndarray:
        """Generated samples (host NumPy) in the data's own scale: the identity, unless the data
        set standardized its data (``FileDataset``)."""
        return x

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Points in the data's own scale (host NumPy) as the networks see them: ``decode``'s inverse."""
        return x

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"


class Gaussian1D(Dataset):
    """x ~ N(mean, std²), shape (m, 1)."""

    name = "gaussian"
    dim = 1

    def __init__(self, backend: Backend, rng: Random, mean: float = 4.0, std: float = 0.5) -> None:
        super().__init__(backend, rng)
        _check_positive("std", std)
        if not _is_real(mean):
            raise ValueError(f"mean: expected a finite number, got {mean!r}")
        self.mean, self.std = float(mean), float(std)
        self.means = np.array([[self.mean]])

    def _draw(self, m, rng):
        return rng.normal((m, 1)) * self.std + self.mean

    def density(self, x: np.ndarray) -> np.ndarray:
        """p_data(x) for a NumPy array x."""
        return np.exp(-0.5 * ((x - self.mean) / self.std) ** 2) / (self.std * math.sqrt(2 * math.pi))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "mean": self.mean, "std": self.std}


class GaussianMixture2D(Dataset):
    """An equal-weight mixture of isotropic 2-D Gaussians N(means[k], std²·I).

    x = μ_k + std·ε with k ~ U{0..K−1}, ε ~ N(0, I); shape (m, 2).
    """

    dim = 2

    def __init__(
        self, backend: Backend, rng: Random, means: ArrayLike, std: float, name: str = "mixture"
    ) -> None:
        super().__init__(backend, rng)
        _check_positive("std", std)
        self.name = name
        self.means = np.asarray(means, dtype=np.float64)  # host copy, for metrics and plots
        if self.means.ndim != 2 or self.means.shape[1] != 2 or self.means.shape[0] < 1:
            raise ValueError(f"means: expected shape (K, 2), got {self.means.shape}")
        self.std = float(std)
        self._means = backend.asarray(self.means, dtype=backend.float_dtype)

    def _draw(self, m, rng):
        k = rng.integers(self.means.shape[0], (m,))
        return self.backend.xp.take(self._means, k, axis=0) + rng.normal((m, 2)) * self.std

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "means": self.means.tolist(), "std": self.std}


class Ring(GaussianMixture2D):
    """``modes`` Gaussians on a circle: means r·(cos 2πi/K, sin 2πi/K), std ``std``.

    Defaults radius 2, std 0.02 (the common setting); PacGAN's (``pacgan_ring``): radius 1,
    std 0.01.
    """

    def __init__(
        self, backend: Backend, rng: Random, modes: int = 8, radius: float = 2.0, std: float = 0.02
    ) -> None:
        modes = check_int("modes", modes)
        _check_positive("radius", radius)
        a = 2 * math.pi * np.arange(modes) / modes
        super().__init__(backend, rng, radius * np.stack([np.cos(a), np.sin(a)], axis=1), std, "ring")
        self.modes, self.radius = modes, float(radius)

    def config(self) -> dict[str, Any]:
        return {"name": "ring", "modes": self.modes, "radius": self.radius, "std": self.std}


class Grid(GaussianMixture2D):
    """side×side Gaussians on a grid with ``spacing`` between means, centred at 0.

    Defaults side 5, spacing 2 (means {−4, −2, 0, 2, 4}²), std 0.05 (PacGAN's values).
    """

    def __init__(
        self, backend: Backend, rng: Random, side: int = 5, spacing: float = 2.0, std: float = 0.05
    ) -> None:
        side = check_int("side", side)
        _check_positive("spacing", spacing)
        c = (np.arange(side) - (side - 1) / 2) * spacing
        means = np.array([[a, b] for a in c for b in c])
        super().__init__(backend, rng, means, std, "grid")
        self.side, self.spacing = side, float(spacing)

    def config(self) -> dict[str, Any]:
        return {"name": "grid", "side": self.side, "spacing": self.spacing, "std": self.std}


class Digits(Dataset):
    """scikit-learn's 8×8 handwritten digits (UCI optdigits test set: 1,797 images), 64-D.

    Pixel values v ∈ {0..16} become x = v/8 − 1 ∈ [−1, 1], the range of a tanh output
    (``output = "tanh"``). ``sample(m)`` takes m images uniformly with replacement.
    ``digit``: keep only images of this class (0..9), or None for all.
    """

    name = "digits"
    dim = 64
    output = "tanh"

    def __init__(self, backend: Backend, rng: Random, digit: int | None = None) -> None:
        super().__init__(backend, rng)
        if digit is not None:
            digit = check_int("digit", digit, low=0, high=9, what="None or an integer 0..9")
        images, labels = load_digits()
        if digit is not None:
            images = images[labels == digit]
        self.digit = digit
        self.images = images  # host (N, 64) float64 in [-1, 1]
        self._images = backend.asarray(images, dtype=backend.float_dtype)

    def _draw(self, m, rng):
        idx = rng.integers(self.images.shape[0], (m,))
        return self.backend.xp.take(self._images, idx, axis=0)

    def config(self) -> dict[str, Any]:
        return {"name": "digits", "digit": self.digit}


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 64) in [−1, 1], labels (1797,)) from scikit-learn, as float64/int."""
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError:
        raise ImportError(
            'dataset "digits" needs scikit-learn, which is not installed: pip install "minigan[digits]"'
        ) from None
    d = _load()
    return np.asarray(d.data, dtype=np.float64) / 8.0 - 1.0, np.asarray(d.target)


class FiniteDataset(Dataset):
    """A fixed training set of n points drawn once from ``base``; minibatches resample it.

    points: (n, dim), drawn with the run's generator when made; ``sample(m)`` =
    ``xp.take(points, idx)``, idx ~ U{0..n−1}^m (with replacement). ``reference`` still
    draws from the true distribution. PacGAN trains on 100,000 points (Lin et al. 2018).
    """

    def __init__(self, base: Dataset, n: int) -> None:
        super().__init__(base.backend, base.rng)
        n = check_int("train_size", n, what="None or a positive integer")
        self.base, self.n = base, n
        self.name, self.dim, self.output = base.name, base.dim, base.output
        for attr in ("means", "std"):
            if hasattr(base, attr):
                setattr(self, attr, getattr(base, attr))
        self.points = base._draw(n, base.rng)

    def _draw(self, m, rng):
        return self.base._draw(m, rng)

    def sample(self, m: int) -> Array:
        idx = self.rng.integers(self.n, (_check_m(m),))
        return self.backend.xp.take(self.points, idx, axis=0)

    def config(self) -> dict[str, Any]:
        return {**self.base.config(), "train_size": self.n}


class ArrayDataset(Dataset):
    """Your own data: the rows of an (N, dim) array; ``sample(m)`` takes m rows uniformly with
    replacement, ``reference(n)`` likewise with its own generator. ``GAN(data=array)`` makes one."""

    name = "array"

    def __init__(self, backend: Backend, rng: Random, x: ArrayLike) -> None:
        super().__init__(backend, rng)
        x = np.asarray(backend.to_numpy(x) if hasattr(x, "__array_namespace__") else x)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"data: expected an (N, dim) array with N, dim >= 1, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise ValueError(f"data: expected real numbers, got dtype {x.dtype}")
        if not np.all(np.isfinite(x)):
            row = int(np.argwhere(~np.isfinite(x))[0][0])
            raise ValueError(f"data: contains NaN or inf (first in row {row})")
        self.dim = x.shape[1]
        self.points = backend.asarray(x.astype(_np_float(backend)), dtype=backend.float_dtype)

    def _draw(self, m, rng):
        if m > self.points.shape[0]:
            raise ValueError(f"data: {self.points.shape[0]} rows, fewer than the batch of {m}")
        idx = rng.integers(self.points.shape[0], (m,))
        return self.backend.xp.take(self.points, idx, axis=0)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "rows": int(self.points.shape[0]), "dim": self.dim}


def load_table(path: str, key: str | None = None) -> np.ndarray:
    """An (N, d) float64 table from a ``.npy``, ``.npz`` (its one array, or ``key``) or ``.csv``
    file (numeric columns; a header row is recognised and skipped). Anything else is one
    ValueError naming the file and the problem (FileNotFoundError for a missing file)."""
    import os

    ext = os.path.splitext(path)[1].lower()
    if not os.path.exists(path):
        raise FileNotFoundError(f"data: no such file: {path}")
    if ext == ".npy":
        x = np.load(path, allow_pickle=False)
    elif ext == ".npz":
        with np.load(path, allow_pickle=False) as z:
            if key is None and len(z.files) != 1:
                raise ValueError(
                    f"data: {path} holds {len(z.files)} arrays ({', '.join(z.files)}): name one as FILE:key"
                )
            if key is not None and key not in z.files:
                raise ValueError(f"data: {path} has no array {key!r} (it has {', '.join(z.files)})")
            x = z[key if key is not None else z.files[0]]
    elif ext == ".csv":
        x = _read_csv(path)
    else:
        raise ValueError(f"data: expected a .npy, .npz or .csv file, got {path}")
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"data: {path}: expected a 2-D table (rows × columns), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"data: {path}: expected numbers, got dtype {x.dtype}")
    return x.astype(np.float64)


def _read_csv(path):
    import csv

    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows:
        raise ValueError(f"data: {path} is empty")

    def number(v):
        try:
            return float(v)
        except ValueError:
            return None

    header = rows[0] if any(number(v) is None for v in rows[0]) else None
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"data: {path} has a header and no rows")
    width = len(body[0])
    out = np.empty((len(body), width))
    for i, r in enumerate(body):
        if len(r) != width:
            raise ValueError(
                f"data: {path}: row {i + 1 + bool(header)} has {len(r)} columns, expected {width}"
            )
        for j, v in enumerate(r):
            num = number(v)
            if num is None:
                name = f"{header[j]!r} ({j + 1})" if header and j < len(header) else str(j + 1)
                raise ValueError(
                    f"data: {path}: column {name} is not numeric (row {i + 1 + bool(header)}: {v!r})"
                )
            out[i, j] = num
    return out


class FileDataset(ArrayDataset):
    """Your data from a file (``load_table``): standardized per column by default — the generator
    learns (x − mean)/std, and ``decode`` maps its samples back — with ``holdout`` of the rows (a
    seeded split) kept out of training for the metrics (``reference``)."""

    name = "file"

    def __init__(
        self,
        backend: Backend,
        rng: Random,
        path: str,
        key: str | None = None,
        standardize: bool = True,
        holdout: float = 0.1,
    ) -> None:
        x = load_table(path, key)
        if not np.all(np.isfinite(x)):
            row, col = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"data: {path}: NaN or inf in row {row + 1}, column {col + 1}")
        if not 0.0 <= holdout < 1.0:
            raise ValueError(f"holdout: expected a fraction 0 <= holdout < 1, got {holdout!r}")
        self.path, self.key, self.standardize, self.holdout = path, key, bool(standardize), float(holdout)
        order = np.random.default_rng(0).permutation(
            x.shape[0]
        )  # the split does not depend on the run's seed
        n_out = int(round(holdout * x.shape[0]))
        self.held_out, train = x[order[:n_out]], x[order[n_out:]]
        self.shift, self.scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        if standardize:  # from the training rows only
            self.shift, self.scale = train.mean(axis=0), train.std(axis=0)
            if np.any(self.scale == 0):
                col = int(np.argmax(self.scale == 0))
                raise ValueError(
                    f"data: {path}: column {col + 1} is constant (std 0): it cannot be standardized "
                    "(drop it, or keep the raw scale)"
                )
        super().__init__(backend, rng, (train - self.shift) / self.scale)

    def decode(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale + self.shift

    def encode(self, x: np.ndarray) -> np.ndarray:
        return (x - self.shift) / self.scale

    def reference(self, n: int, seed: int = 0) -> np.ndarray:
        """n held-out rows (with replacement), in the data's own scale; training rows if none is held out."""
        n = _check_m(n, "n")
        pool = self.held_out if len(self.held_out) else self.decode(self.backend.to_numpy(self.points))
        return pool[np.random.default_rng(seed).integers(0, len(pool), n)]

    def config(self) -> dict[str, Any]:
        return {
            "name": "file",
            "path": self.path,
            "key": self.key,
            "standardize": self.standardize,
            "holdout": self.holdout,
            "rows": int(self.points.shape[0]),
            "dim": self.dim,
        }


def _np_float(backend):
    return np.float64 if backend.float_dtype == backend.xp.float64 else np.float32


# name -> (dataset class, default parameters); presets after the paper they come from.
PRESETS: dict[str, tuple[type[Dataset], dict[str, Any]]] = {
    "gaussian": (Gaussian1D, {}),
    "ring": (Ring, {}),
    "grid": (Grid, {}),
    "pacgan_ring": (Ring, {"modes": 8, "radius": 1.0, "std": 0.01, "train_size": 100_000}),
    "pacgan_grid": (Grid, {"side": 5, "spacing": 2.0, "std": 0.05, "train_size": 100_000}),
    "digits": (Digits, {}),
    "file": (FileDataset, {}),
}


def make_dataset(name: str, backend: Backend, rng: Random, **params: Any) -> Dataset:
    """A dataset by name (see ``DATASETS``); ``params`` override the preset's values.

    gaussian (mean, std), ring (modes, radius, std), grid (side, spacing, std),
    digits (digit); every one also takes ``train_size`` (None: a fresh draw each batch).
    """
    if name not in PRESETS:
        raise ValueError(f"dataset: expected one of {DATASETS}, got {name!r}")
    cls, defaults = PRESETS[name]
    params = {**defaults, **params}
    train_size = params.pop("train_size", None)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "backend", "rng"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(
            f"data_params: dataset {name!r} takes {sorted(accepted) + ['train_size']}, "
            f"not {', '.join(map(repr, unknown))}"
        )
    data = cls(backend, rng, **params)
    if name.startswith("pacgan_"):
        data.name = name
    return data if train_size is None else FiniteDataset(data, train_size)
