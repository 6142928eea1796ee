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
                   0..16 scaled to [−1, 1] for a tanh output (``pip install scikit-learn``).

A finite training set (``train_size=n``): n points are drawn once (from the run's
generator, when the dataset is made) and each minibatch takes m of them uniformly with
replacement, ``xp.take(points, idx)``, as when training on a fixed dataset.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
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

    def network_input(self, x: ArrayLike, name: str = "x") -> np.ndarray:
        """``encode(x)`` (float64, (N, dim)) for points x in the data's own scale, checked: real,
        finite, and within the range of the backend's float dtype once encoded (``network_input``)."""
        return network_input(x, self.encode, self.backend, self.dim, name)

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"


def network_input(
    x: ArrayLike, encode: Callable[[np.ndarray], np.ndarray], backend: Backend, dim: int, name: str = "x"
) -> np.ndarray:
    """``encode(x)`` as float64 (N, dim): the points x (N, dim), in the data's own scale, as the
    networks will see them — or one ValueError naming ``name`` when x is not an (N, dim) array of
    real numbers, holds NaN or inf, or encodes to a value the backend's float dtype cannot hold
    (float32: beyond ±3.4e38, which would become inf and D(x) NaN). Rows and columns from 1."""
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name}: expected real numbers, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] != dim:
        raise ValueError(f"{name}: expected an array of shape (N, {dim}) with N >= 1, got {a.shape}")
    a = a.astype(np.float64)
    bad = _first_bad(a)
    if bad is not None:
        raise ValueError(f"{name}: NaN or inf in row {bad[0] + 1}, column {bad[1] + 1}")
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.asarray(encode(a), dtype=np.float64)
    dtype = _np_float(backend)
    bad = _first_bad(z, float(np.finfo(dtype).max))
    if bad is not None:
        r, c = bad
        raise ValueError(
            f"{name}: {a[r, c]:.3g} in row {r + 1}, column {c + 1} overflows {np.dtype(dtype).name} "
            f"on the scale the networks see ({z[r, c]:.3g}; the largest is {np.finfo(dtype).max:.2g})"
        )
    return z


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
            'dataset "digits" needs scikit-learn, which is not installed: pip install scikit-learn'
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
    replacement, ``reference(n)`` likewise with its own generator. ``GAN(data=array)`` makes one.

    Refused, each with one line (rows and columns counted from 1): a masked array with masked
    values (drop those rows first), complex or non-numeric values, NaN or inf, and a value beyond
    the range of the backend's float dtype (float32: ±3.4e38), which would become inf there."""

    name = "array"

    def __init__(self, backend: Backend, rng: Random, x: ArrayLike) -> None:
        super().__init__(backend, rng)
        if np.ma.isMaskedArray(x):
            masked = int(np.ma.count_masked(x))
            if masked:
                raise ValueError(
                    f"data: a masked array with {masked} masked value(s): expected plain values; drop "
                    "the masked rows first, x[~np.ma.getmaskarray(x).any(axis=1)]"
                )
            x = np.ma.getdata(x)
        x = np.asarray(backend.to_numpy(x) if hasattr(x, "__array_namespace__") else x)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"data: expected an (N, dim) array with N, dim >= 1, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise ValueError(f"data: expected real numbers, got dtype {x.dtype}")
        dtype = _np_float(backend)
        bad = _first_bad(x, float(np.finfo(dtype).max))
        if bad is not None:
            r, c = bad
            raise ValueError(f"data: {_bad_value(x[r, c], f'in row {r + 1}, column {c + 1}', dtype)}")
        self.dim = x.shape[1]
        self.points = backend.asarray(x.astype(dtype), dtype=backend.float_dtype)

    def _draw(self, m, rng):
        if m > self.points.shape[0]:
            raise ValueError(f"data: {self.points.shape[0]} rows, fewer than the batch of {m}")
        idx = rng.integers(self.points.shape[0], (m,))
        return self.backend.xp.take(self.points, idx, axis=0)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "rows": int(self.points.shape[0]), "dim": self.dim}


def _first_bad(x: np.ndarray, limit: float = math.inf) -> tuple[int, int] | None:
    """(row, column), 0-based, of the first value of x (N, d) in row order that is NaN, ±inf or
    larger in magnitude than ``limit``; None when there is none."""
    if not np.issubdtype(x.dtype, np.floating):
        return None  # integers are finite, and within float32's range
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(x) | (np.abs(x) > limit)
    if not bad.any():
        return None
    r, c = np.argwhere(bad)[0]
    return int(r), int(c)


def _bad_value(v: float, where: str, dtype: Any) -> str:
    """What is wrong with the value v that ``_first_bad`` found ``where`` ("in row 3, column 2"),
    in words: it is NaN or inf, or it overflows ``dtype``."""
    if not math.isfinite(v):
        return f"NaN or inf {where}"
    name = np.dtype(dtype).name
    return (
        f"{v:.3g} {where} overflows {name}, the dtype the networks compute in "
        f"(its largest value is {float(np.finfo(dtype).max):.2g})"
    )


# --------------------------------------------------------------------------------------
# Reading a table from a file
# --------------------------------------------------------------------------------------
# A number in a data file: decimal digits with an optional sign, point and exponent, or nan/inf
# (refused later, by row). float() takes more — '1_000', full-width or Arabic-Indic digits —
# which a data file should not hold.
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.I | re.A)
NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", (b"PK\x03\x04", b"PK\x05\x06")


def load_table(path: str, key: str | None = None) -> np.ndarray:
    """An (N, d) float64 table from a ``.npy``, ``.npz`` (its one array, or ``key``) or ``.csv``
    file (UTF-8 text, a byte-order mark allowed; numeric columns; a first row of names only is a
    header and skipped). Anything else is one ValueError naming the file and the problem
    (FileNotFoundError for a missing file). Rows are counted from 1, without the header; a CSV's
    messages add the line of the file where it differs."""
    return _load(path, key)[0]


def _load(path: str, key: str | None) -> tuple[np.ndarray, list[int] | None]:
    """``load_table``'s table and, for a CSV, the line of the file of each row (else None)."""
    import os

    ext = os.path.splitext(path)[1].lower()
    if not os.path.exists(path):
        raise FileNotFoundError(f"data: no such file: {path}")
    if ext not in (".npy", ".npz", ".csv"):
        raise ValueError(f"data: expected a .npy, .npz or .csv file, got {path}")
    if key is not None and ext != ".npz":
        raise ValueError(
            f"data: {path}: a {ext} file holds one table, so it takes no key (:{key}); "
            "FILE:key names an array of a .npz file"
        )
    lines = None
    if ext == ".csv":
        x, lines = _read_csv(path)
    else:
        x = _read_numpy(path, key, ext)
    if x.ndim != 2:
        raise ValueError(f"data: {path}: expected a 2-D table (rows × columns), got shape {x.shape}")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(
            f"data: {path}: complex numbers (dtype {x.dtype}): expected real ones "
            "(save the real and imaginary parts as columns of their own)"
        )
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"data: {path}: expected numbers, got dtype {x.dtype}")
    return x.astype(np.float64), lines


def _read_numpy(path: str, key: str | None, ext: str) -> np.ndarray:
    """The array of a .npy file, or of a .npz file's one array (or ``key``), checked to be a
    NumPy file first (a text table or a pickle named .npy is not)."""
    import zipfile

    with open(path, "rb") as f:
        head = f.read(6)
    if ext == ".npy" and head != NPY_MAGIC:
        raise ValueError(
            f"data: {path}: not a NumPy .npy file (it lacks the header np.save writes); "
            "a text table wants the .csv extension"
        )
    if ext == ".npz" and head[:4] not in ZIP_MAGIC:
        raise ValueError(f"data: {path}: not a NumPy .npz file (np.savez writes a zip archive of .npy files)")
    try:
        if ext == ".npy":
            return np.asarray(np.load(path, allow_pickle=False))
        with np.load(path, allow_pickle=False) as z:
            if key is None and len(z.files) != 1:
                raise ValueError(
                    f"data: {path} holds {len(z.files)} arrays ({', '.join(z.files)}): name one as FILE:key"
                )
            if key is not None and key not in z.files:
                raise ValueError(f"data: {path} has no array {key!r} (it has {', '.join(z.files)})")
            return np.asarray(z[key if key is not None else z.files[0]])
    except ValueError as e:
        if str(e).startswith("data: "):
            raise
        if "allow_pickle" in str(e):
            raise ValueError(f"data: {path}: holds Python objects (dtype object), not numbers") from None
        raise ValueError(f"data: {path}: a damaged NumPy file ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"data: {path}: a damaged NumPy file ({e})") from None


def _read_csv(path: str) -> tuple[np.ndarray, list[int]]:
    """The numbers of a CSV file, (N, d), and the line of the file each row comes from."""
    rows, lines = _csv_rows(path)
    if not rows:
        raise ValueError(f"data: {path} is empty")
    header = rows[0] if _is_header(rows[0]) else None
    if header is not None:
        rows, lines = rows[1:], lines[1:]
    if not rows:
        raise ValueError(f"data: {path} has a header and no rows")
    width = len(rows[0])
    out = np.empty((len(rows), width))
    for i, r in enumerate(rows):
        if len(r) != width:
            raise ValueError(f"data: {path}: {_row(i, lines)} has {len(r)} columns, expected {width}")
        for j, v in enumerate(r):
            num = _number(v)
            if num is None:
                raise ValueError(f"data: {path}: {_cell_fault(v, _row(i, lines), j, header)}")
            out[i, j] = num
    return out, lines


def _csv_rows(path: str) -> tuple[list[list[str]], list[int]]:
    """The non-empty rows of a UTF-8 CSV file (a byte-order mark dropped) and their lines."""
    import csv

    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for r in reader:
                if r:
                    rows.append(r)
                    lines.append(reader.line_num)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"data: {path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}): "
            "save the table as UTF-8"
        ) from None
    except csv.Error as e:
        raise ValueError(f"data: {path}: not a CSV table ({e})") from None
    return rows, lines


def _number(cell: str) -> float | None:
    """The value of a cell that is a plain decimal number (``NUMBER``), else None."""
    text = cell.strip()
    return float(text) if NUMBER.fullmatch(text) else None


def _is_header(row: list[str]) -> bool:
    """A first row is a header when it holds names only: no cell is a number, not all are empty."""
    return all(_number(v) is None for v in row) and any(v.strip() for v in row)


def _cell_fault(v: str, row: str, j: int, header: list[str] | None) -> str:
    """Why the cell v (in ``row``, "row 3"; column j, 0-based) is no number, in words."""
    name = f"{header[j]!r} ({j + 1})" if header and j < len(header) else str(j + 1)
    if not v.strip():
        return f"empty cell in {row}, column {name}: expected a number"
    why = ""
    try:
        float(v)
        why = "; write plain decimal digits" + (", without '_'" if "_" in v else "")
    except ValueError:
        if row == "row 1" and header is None:
            why = "; a header row holds names only"
    return f"column {name} is not numeric: {v!r} in {row}{why}"


def _row(i: int, lines: list[int] | None) -> str:
    """Row i (0-based) in words, counted from 1: "row 3", and for a CSV "row 3 (line 5)", the line
    of the file it comes from, where that differs."""
    line = f" (line {lines[i]})" if lines is not None and lines[i] != i + 1 else ""
    return f"row {i + 1}{line}"


class FileDataset(ArrayDataset):
    """Your data from a file (``load_table``): standardized per column by default — the generator
    learns (x − mean)/std, and ``decode`` maps its samples back — with ``holdout`` of the rows (a
    seeded split) kept out of training for the metrics (``reference``).

    Refused, each with one line naming the file: NaN or inf; a column whose spread float32 (the
    backend's float dtype) cannot represent (std below 1.2e-38) or that is constant, when
    standardized; a column whose mean or std overflows float64 when standardized (values near
    1e154 and beyond); with ``standardize=False``, a value beyond float32's range (±3.4e38)."""

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
        if not is_number(holdout) or not 0.0 <= holdout < 1.0:
            raise ValueError(f"holdout: expected a fraction 0 <= holdout < 1, got {holdout!r}")
        x, lines = _load(path, key)
        self.path, self.key, self.standardize, self.holdout = path, key, bool(standardize), float(holdout)
        dtype = _np_float(backend)
        bad = _first_bad(x, math.inf if standardize else float(np.finfo(dtype).max))
        if bad is not None:
            r, c = bad
            why = _bad_value(x[r, c], f"in {_row(r, lines)}, column {c + 1}", dtype)
            hint = (
                ""
                if math.isnan(x[r, c]) or math.isinf(x[r, c])
                else ": rescale the column, or standardize it"
            )
            raise ValueError(f"data: {path}: {why}{hint}")
        order = np.random.default_rng(0).permutation(x.shape[0])  # a split independent of the run's seed
        n_out = int(round(holdout * x.shape[0]))
        self.held_out, train = x[order[:n_out]], x[order[n_out:]]
        self.shift, self.scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        if standardize:  # from the training rows only
            self.shift, self.scale = _standardization(path, x, train, lines, dtype)
        else:
            _check_spread(path, train, dtype)
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


def _standardization(
    path: str, x: np.ndarray, train: np.ndarray, lines: list[int] | None, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of each column of the training rows, or one ValueError for the first column
    that cannot be standardized: its mean or std overflows float64, it is constant, or its
    spread is below float32's smallest normal number (the ``dtype`` the networks compute in)."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        shift, scale = train.mean(axis=0), train.std(axis=0)
    tiny = float(np.finfo(dtype).tiny)
    for c in range(x.shape[1]):
        col = x[:, c]
        if not (math.isfinite(shift[c]) and math.isfinite(scale[c])):
            r = int(np.argmax(np.abs(col)))
            raise ValueError(
                f"data: {path}: column {c + 1} overflows when standardized: its mean or std exceeds "
                f"float64 (it reaches {col[r]:.3g} in {_row(r, lines)}); rescale it"
            )
        if scale[c] == 0 and np.ptp(train[:, c]) == 0:
            raise ValueError(
                f"data: {path}: column {c + 1} is constant (std 0): it cannot be standardized "
                "(drop it, or keep the raw scale)"
            )
        if scale[c] < tiny:
            _check_spread(path, train[:, c : c + 1], dtype, c)
    return shift, scale


def _check_spread(path: str, x: np.ndarray, dtype: Any, first: int = 0) -> None:
    """One ValueError for the first column of x (its number ``first`` + 1 in the file) whose values
    differ by less than the smallest normal number of ``dtype`` (float32: 1.2e-38), which cannot
    tell them apart."""
    tiny = float(np.finfo(dtype).tiny)
    spread = np.ptp(x, axis=0)
    for c in np.flatnonzero((spread > 0) & (spread < tiny)):
        raise ValueError(
            f"data: {path}: column {first + c + 1} varies by only {spread[c]:.3g}: its spread is below "
            f"what {np.dtype(dtype).name} can represent ({tiny:.2g}); rescale it"
        )


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
