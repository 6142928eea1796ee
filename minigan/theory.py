"""The theory of the min-max game (Goodfellow et al. 2014, Sec. 4), evaluated numerically.

The derivations: docs/MATH.md §10 (Proposition 1 in §10.1, Theorem 1 in §10.2).

For a fixed generator with density p_g, the value function

    V(D, G) = ∫ p_data(x) log D(x) + p_g(x) log(1 − D(x)) dx              (Eq. 1)

is maximised pointwise by the optimal discriminator (Proposition 1)

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

and its maximum, the virtual training criterion (Theorem 1), is

    C(G) = max_D V(D, G) = −log 4 + 2·JSD(p_data ‖ p_g),

    JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m),   m = (p + q)/2,   0 ≤ JSD ≤ log 2,

so C(G) ≥ −log 4 with equality iff p_g = p_data (then D* ≡ ½), and C(G) = 0 when the
supports are disjoint (JSD = log 2).

Everything here is host-side NumPy in float64 on 1-D densities sampled on a grid ``x``
(N,) — ``p_data`` and ``p_g`` are arrays (N,) of density values, not networks — and
integrals are trapezoid sums over the grid. Choose a grid that covers both supports,
fine enough to resolve them; at a density's jump (a uniform's edge) the trapezoid
rule's error is O(h).

Conventions: 0·log 0 = 0; where p_data = p_g = 0, D* is undefined and returned as ½
(it carries no weight in any integral).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._checks import check_int
from ._types import ArrayLike

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def _grid(x: ArrayLike) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(f"x: expected a 1-D grid of at least 2 points, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or not np.all(np.diff(a) > 0):
        raise ValueError("x: expected finite, strictly increasing grid points")
    return a


def _density(p: ArrayLike, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if n is not None and a.shape != (n,):
        raise ValueError(
            f"{name}: expected density values of shape ({n},) (one per grid point), got {a.shape}"
        )
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name}: expected finite, non-negative density values")
    return a


def _xlogy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a·log b elementwise with 0·log 0 = 0 (a, b ≥ 0)."""
    out = np.zeros(np.broadcast(a, b).shape)
    nz = a > 0
    out[nz] = a[nz] * np.log(b[nz])
    return out


def integrate(f: ArrayLike, x: ArrayLike) -> float:
    """∫ f dx by the trapezoid rule on the grid x (N,); f (N,)."""
    x = _grid(x)
    f = np.asarray(f, dtype=np.float64)
    if f.shape != x.shape:
        raise ValueError(f"f: expected shape {x.shape} (one value per grid point), got {f.shape}")
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(x)))


# --------------------------------------------------------------------------------------
# Proposition 1 and Theorem 1
# --------------------------------------------------------------------------------------
def optimal_discriminator(p_data: ArrayLike, p_g: ArrayLike) -> np.ndarray:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x))   (Goodfellow et al. 2014, Proposition 1; docs/MATH.md §10.1).

    p_data, p_g: density values (N,) (or any equal shapes). Returns D* of that shape, in
    [0, 1]; ½ where both densities are 0 (undefined there, and of no weight).
    """
    pd = _density(p_data, "p_data")
    pg = _density(p_g, "p_g")
    if pd.shape != pg.shape:
        raise ValueError(f"p_g: expected the shape of p_data {pd.shape}, got {pg.shape}")
    s = pd + pg
    out = np.full(s.shape, 0.5)
    nz = s > 0
    out[nz] = pd[nz] / s[nz]
    return out


def value(d: ArrayLike, p_data: ArrayLike, p_g: ArrayLike, x: ArrayLike) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 − D) dx for a discriminator given by its values.

    d: D(x) on the grid (N,), in [0, 1]; p_data, p_g: densities (N,); x: grid (N,).
    −inf if D = 0 where p_data > 0 (or D = 1 where p_g > 0). Goodfellow et al. 2014, Eq. 1.
    """
    x = _grid(x)
    pd, pg = _density(p_data, "p_data", x.shape[0]), _density(p_g, "p_g", x.shape[0])
    d = np.asarray(d, dtype=np.float64)
    if d.shape != x.shape or not np.all((d >= 0) & (d <= 1)):
        raise ValueError(f"d: expected discriminator values in [0, 1] of shape {x.shape}")
    with np.errstate(divide="ignore"):
        return integrate(_xlogy(pd, d) + _xlogy(pg, 1.0 - d), x)


def max_value(p_data: ArrayLike, p_g: ArrayLike, x: ArrayLike) -> float:
    """max_D V(D, G) = V(D*, G) = ∫ p_data log D* + p_g log(1 − D*) dx, computed directly.

    The integrand is ≤ 0, so the result lies in [−log 4, 0]. Theorem 1 says it equals
    ``criterion(p_data, p_g, x)``; computing both checks the algebra of the proof.
    """
    x = _grid(x)
    pd, pg = _density(p_data, "p_data", x.shape[0]), _density(p_g, "p_g", x.shape[0])
    # D* = p_data/s and 1 − D* = p_g/s with s = p_data + p_g: the ratio form keeps
    # log(1 − D*) finite where D* rounds to 1 but p_g > 0 (far tails)
    s = np.where(pd + pg > 0, pd + pg, 1.0)
    f = _xlogy(pd, pd / s) + _xlogy(pg, pg / s)
    return integrate(f, x)


def kl_divergence(p: ArrayLike, q: ArrayLike, x: ArrayLike) -> float:
    """KL(p ‖ q) = ∫ p log(p/q) dx (nats; inf where p > 0 = q)."""
    x = _grid(x)
    p, q = _density(p, "p", x.shape[0]), _density(q, "q", x.shape[0])
    if np.any((p > 0) & (q == 0)):
        return math.inf
    nz = p > 0
    f = np.zeros_like(p)
    f[nz] = p[nz] * np.log(p[nz] / q[nz])
    return integrate(f, x)


def jsd(p: ArrayLike, q: ArrayLike, x: ArrayLike) -> float:
    """JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2 (nats, in [0, log 2]).

    By quadrature on the grid x; p, q: densities (N,).
    """
    x = _grid(x)
    p, q = _density(p, "p", x.shape[0]), _density(q, "q", x.shape[0])
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, x) + 0.5 * kl_divergence(q, m, x)


def criterion(p_data: ArrayLike, p_g: ArrayLike, x: ArrayLike) -> float:
    """C(G) = −log 4 + 2·JSD(p_data ‖ p_g)   (Goodfellow et al. 2014, Theorem 1; docs/MATH.md §10.2)."""
    return -LOG4 + 2.0 * jsd(p_data, p_g, x)


# --------------------------------------------------------------------------------------
# Densities with samplers, for experiments with a known p_g
# --------------------------------------------------------------------------------------
class Density:
    """A 1-D distribution with a density ``pdf(x)`` and a sampler ``sample(n, rng)``.

    Used to stand in for p_g (or p_data) when the density must be known exactly
    (demo 3: train only D against a fixed p_g and compare with D*).
    """

    name = "density"

    def pdf(self, x: ArrayLike) -> np.ndarray:
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws as a (n,) float64 NumPy array."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """An interval holding (almost) all the mass, for choosing a grid."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Normal(Density):
    """N(mean, std²): pdf = exp(−½((x − μ)/σ)²) / (σ√(2π))."""

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        if not std > 0:
            raise ValueError(f"std: expected a positive number, got {std!r}")
        self.mean, self.std = float(mean), float(std)
        self.name = f"N({self.mean:g}, {self.std:g}²)"

    def pdf(self, x: ArrayLike) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.std
        return np.exp(-0.5 * z * z) / (self.std * math.sqrt(2 * math.pi))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mean, self.std, size=n)

    def support(self) -> tuple[float, float]:
        return (self.mean - 8 * self.std, self.mean + 8 * self.std)


class Uniform(Density):
    """U[low, high]: pdf = 1/(high − low) on [low, high], 0 elsewhere."""

    def __init__(self, low: float = 0.0, high: float = 1.0) -> None:
        if not high > low:
            raise ValueError(f"high: expected high > low = {low!r}, got {high!r}")
        self.low, self.high = float(low), float(high)
        self.name = f"U[{self.low:g}, {self.high:g}]"

    def pdf(self, x: ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.where((x >= self.low) & (x <= self.high), 1.0 / (self.high - self.low), 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=n)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


class Mixture(Density):
    """Σ_k w_k p_k(x): a weighted mixture of densities (weights normalised to sum 1)."""

    def __init__(self, components: Sequence[Density], weights: Sequence[float] | None = None) -> None:
        self.components = list(components)
        if not self.components or not all(isinstance(c, Density) for c in self.components):
            raise TypeError("components: expected a non-empty list of Density objects")
        w = np.ones(len(self.components)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.components),) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                f"weights: expected {len(self.components)} non-negative weights, got {weights!r}"
            )
        self.weights = w / w.sum()
        self.name = " + ".join(f"{wk:.2g}·{c.name}" for wk, c in zip(self.weights, self.components))

    def pdf(self, x: ArrayLike) -> np.ndarray:
        return sum(wk * c.pdf(x) for wk, c in zip(self.weights, self.components))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self.components), size=n, p=self.weights)
        out = np.empty(n)
        for i, c in enumerate(self.components):
            idx = np.nonzero(k == i)[0]
            out[idx] = c.sample(idx.shape[0], rng)
        return out

    def support(self) -> tuple[float, float]:
        s = [c.support() for c in self.components]
        return (min(a for a, _ in s), max(b for _, b in s))


def common_grid(*densities: Density, n: int = 20001, margin: float = 0.0) -> np.ndarray:
    """A uniform grid (n,) over the union of the densities' supports, widened by ``margin``."""
    n = check_int("n", n, low=2)
    lo = min(d.support()[0] for d in densities) - margin
    hi = max(d.support()[1] for d in densities) + margin
    return np.linspace(lo, hi, n)


def gaussian_kde(samples: ArrayLike, x: ArrayLike, bandwidth: float | None = None) -> np.ndarray:
    """A Gaussian kernel density estimate of 1-D samples (n,), evaluated on x (N,).

    p̂(x) = (1/n) Σ_i N(x; s_i, h²), h = ``bandwidth`` or Silverman's rule
    h = 0.9·min(σ̂, IQR/1.34)·n^(−1/5). Used to estimate p_g from generator samples.
    """
    s = np.asarray(samples, dtype=np.float64).reshape(-1)
    if s.shape[0] < 2 or not np.all(np.isfinite(s)):
        raise ValueError("samples: expected at least 2 finite values")
    x = np.asarray(x, dtype=np.float64)
    if bandwidth is None:
        sd = s.std(ddof=1)
        iqr = np.subtract(*np.percentile(s, [75, 25]))
        spread = min(sd, iqr / 1.34) if iqr > 0 else sd
        bandwidth = 0.9 * max(spread, 1e-12) * s.shape[0] ** -0.2
    if not bandwidth > 0:
        raise ValueError(f"bandwidth: expected a positive number, got {bandwidth!r}")
    h = float(bandwidth)
    out = np.zeros(x.shape)
    for i in range(0, s.shape[0], 2048):  # chunks keep the (chunk, N) matrix small
        z = (x[None, :] - s[i : i + 2048, None]) / h
        out += np.exp(-0.5 * z * z).sum(axis=0)
    return out / (s.shape[0] * h * math.sqrt(2 * math.pi))
