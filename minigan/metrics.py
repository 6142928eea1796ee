"""How good are the generated samples? Host-side metrics on NumPy arrays.

Mixtures of Gaussians (the 2-D ring and grid), after PacGAN (Lin et al. 2018,
arXiv 1712.04086, Sec. 5.1; their code ``fjxmlzn/PacGAN``, ``MetricLogger``):

- each sample x is assigned to its nearest mode k* = argmin_k d_k(x), where
  d_k(x) = ‖x − μ_k‖ / σ_k is the per-mode Mahalanobis distance of an isotropic
  Gaussian N(μ_k, σ_k² I);
- x is **high quality** when d_k*(x) < 3 (within three standard deviations);
- mode k is **covered** when at least one high-quality sample is assigned to it;
- **kl** is the reverse KL divergence KL(p̂ ‖ u) = Σ_k p̂_k log(K p̂_k) of the histogram
  p̂ of high-quality samples over the K modes (p̂_k = counts_k / Σ counts) to the uniform
  distribution u_k = 1/K of the true mixture (0 log 0 = 0). "Reverse": the generated
  distribution comes first, so missing modes cost log(K / covered) rather than ∞.
  It is 0 for a perfectly balanced histogram and log K when every high-quality sample
  sits on one mode; NaN when there is no high-quality sample at all.
  PacGAN's Table 1 reports a "reverse KL" on 2,500 samples with modes as the bins; which
  samples enter the histogram is our reading (their released code logs entropy and JS of
  this same high-quality histogram): a sample far from every mode belongs to no bin.

1-D data (the paper's Figure 1 toy): the Jensen–Shannon divergence of two histograms on
shared bins, and the Wasserstein-1 distance of the two empirical distributions.

Any dimension (e.g. the 64-D digits, your own data): a sliced Wasserstein-1 distance, the
mean W1 of the samples projected on random unit directions, and the energy distance of
Székely & Rizzo, a two-sample statistic that is 0 exactly when the two distributions are
equal (docs/MATH.md §14), with an optional permutation p-value.

``evaluate(gan)`` picks the right ones for the dataset a GAN trains on.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from ._checks import check_int
from ._types import ArrayLike

HIGH_QUALITY_STDS = 3.0  # PacGAN: "within three standard deviations"
ENERGY_TEST_POINTS = 500  # evaluate's permutation test: at most this many points a side (199 splits, ~0.1 s)


class Evaluable(Protocol):
    """What ``evaluate`` needs of a model: a ``training.GAN`` or a ``checkpoint.SavedGAN``."""

    @property
    def data(self) -> Any: ...  # a data.Dataset (dim, reference, encode; means and std for mixtures)

    @property
    def step(self) -> int: ...

    def sample(self, n: int, seed: int | None = ...) -> np.ndarray: ...


def _as_samples(x: ArrayLike, name: str, dim: int | None = None) -> np.ndarray:
    """x as a float64 (N, dim) NumPy array, or a ValueError naming ``name``."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a numeric array, got {type(x).__name__}") from None
    if a.ndim == 1 and dim in (None, 1):
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 1 or (dim is not None and a.shape[1] != dim):
        want = f"(N, {dim})" if dim is not None else "(N, dim)"
        raise ValueError(f"{name}: expected shape {want} with N >= 1, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")
    return a


# --------------------------------------------------------------------------------------
# Mixtures (PacGAN)
# --------------------------------------------------------------------------------------
def assign_modes(
    samples: ArrayLike, means: ArrayLike, std: ArrayLike, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode and its Mahalanobis distance for each sample.

    samples: (N, d); means: (K, d); std: a scalar σ or (K,) per-mode σ_k.
    Returns ``(k, dist)``: k (N,) int indices of argmin_k ‖x − μ_k‖/σ_k, and dist (N,)
    that minimal distance in units of σ.
    """
    means = _as_samples(means, "means")
    x = _as_samples(samples, "samples", means.shape[1])
    s = np.asarray(std, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(means.shape[0], float(s))
    if s.shape != (means.shape[0],) or not np.all(s > 0):
        raise ValueError(f"std: expected a positive scalar or {means.shape[0]} positive values, got {std!r}")
    ks, ds = [], []
    for i in range(0, x.shape[0], chunk):
        diff = x[i : i + chunk, None, :] - means[None, :, :]  # (n, K, d)
        d = np.sqrt(np.sum(diff * diff, axis=2)) / s  # (n, K)
        k = np.argmin(d, axis=1)
        ks.append(k)
        ds.append(d[np.arange(k.shape[0]), k])
    return np.concatenate(ks), np.concatenate(ds)


def reverse_kl_to_uniform(counts: ArrayLike) -> float:
    """KL(p̂ ‖ u) = Σ_k p̂_k log(K p̂_k), p̂ = counts / Σ counts, u = 1/K (nats; 0 log 0 = 0).

    NaN when all counts are 0 (no histogram to compare).
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.shape[0] < 1 or np.any(c < 0):
        raise ValueError(f"counts: expected a 1-D array of non-negative counts, got {counts!r}")
    total = c.sum()
    if total == 0:
        return float("nan")
    p = c[c > 0] / total
    return float(np.sum(p * np.log(p * c.shape[0])))


def mixture_metrics(
    samples: ArrayLike, means: ArrayLike, std: ArrayLike, threshold: float = HIGH_QUALITY_STDS
) -> dict[str, Any]:
    """PacGAN's metrics for samples of a mixture of isotropic Gaussians N(μ_k, σ_k² I).

    samples: (N, d) NumPy array; means: (K, d); std: σ (scalar) or (K,).

    Returns a dict:
      modes_covered: number of modes with >= 1 high-quality sample (int, 0..K);
      modes:         K;
      high_quality:  fraction of samples within ``threshold``·σ of their nearest mode (0..1);
      kl:            KL(p̂ ‖ uniform) of the high-quality histogram (see module docstring);
      counts:        (K,) int array, high-quality samples per mode.
    """
    if not threshold > 0:
        raise ValueError(f"threshold: expected a positive number of standard deviations, got {threshold!r}")
    k, dist = assign_modes(samples, means, std)
    K = np.asarray(means).shape[0]
    good = dist < threshold
    counts = np.bincount(k[good], minlength=K)
    return {
        "modes_covered": int(np.count_nonzero(counts)),
        "modes": int(K),
        "high_quality": float(good.mean()),
        "kl": reverse_kl_to_uniform(counts),
        "counts": counts,
    }


# --------------------------------------------------------------------------------------
# 1-D distances
# --------------------------------------------------------------------------------------
def _as_1d(x: ArrayLike, name: str) -> np.ndarray:
    return _as_samples(x, name, 1)[:, 0]


def js_divergence_1d(
    real: ArrayLike, fake: ArrayLike, bins: int = 50, range: tuple[float, float] | None = None
) -> float:
    """Jensen–Shannon divergence of the histograms of two 1-D samples (nats, in [0, log 2]).

    JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, with p, q the normalised counts
    on ``bins`` equal bins over ``range`` (default: the span of both samples together).
    This is the divergence of Goodfellow et al. 2014, Theorem 1, on a histogram.
    """
    a, b = _as_1d(real, "real"), _as_1d(fake, "fake")
    bins = check_int("bins", bins)
    if range is None:
        lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
        if hi <= lo:
            hi = lo + 1.0
        range = (lo, hi)
    p = np.histogram(a, bins=bins, range=range)[0].astype(np.float64)
    q = np.histogram(b, bins=bins, range=range)[0].astype(np.float64)
    if p.sum() == 0 or q.sum() == 0:
        raise ValueError(f"range: {range!r} holds none of the {'real' if p.sum() == 0 else 'fake'} samples")
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(u: np.ndarray, v: np.ndarray) -> float:
        nz = u > 0
        return float(np.sum(u[nz] * np.log(u[nz] / v[nz])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def wasserstein1_1d(real: ArrayLike, fake: ArrayLike) -> float:
    """W1 distance of two 1-D empirical distributions: ∫ |F_real(t) − F_fake(t)| dt.

    Exact for the empirical CDFs (samples may differ in number); for equal sizes it equals
    mean |sort(real) − sort(fake)|.
    """
    a, b = np.sort(_as_1d(real, "real")), np.sort(_as_1d(fake, "fake"))
    t = np.sort(np.concatenate([a, b]))
    dt = np.diff(t)
    Fa = np.searchsorted(a, t[:-1], side="right") / a.shape[0]
    Fb = np.searchsorted(b, t[:-1], side="right") / b.shape[0]
    return float(np.sum(np.abs(Fa - Fb) * dt))


def sliced_wasserstein1(real: ArrayLike, fake: ArrayLike, projections: int = 64, seed: int = 0) -> float:
    """Sliced W1: the mean over ``projections`` random unit directions θ of W1(θ·real, θ·fake).

    real: (N, d), fake: (M, d). Any dimension (used for the 64-D digits).
    """
    a = _as_samples(real, "real")
    b = _as_samples(fake, "fake", a.shape[1])
    projections = check_int("projections", projections)
    theta = np.random.default_rng(seed).standard_normal((a.shape[1], projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    pa, pb = a @ theta, b @ theta
    return float(np.mean([wasserstein1_1d(pa[:, j], pb[:, j]) for j in np.arange(projections)]))


def _mean_pair_distance(a: np.ndarray, b: np.ndarray, chunk: int = 1 << 20) -> float:
    """mean over all n·m pairs of ‖a_i − b_j‖ (Euclidean), a: (n, d), b: (m, d).

    Each squared distance is ‖a_i‖² + ‖b_j‖² − 2 a_i·b_j (one matrix product per block of
    rows of ``a``, at most ``chunk`` distances held at once), clipped at 0 against rounding.
    The caller centres both samples first, which keeps that cancellation small.
    """
    rows = max(1, chunk // b.shape[0])
    bb = np.einsum("ij,ij->i", b, b)
    total = 0.0
    for i in range(0, a.shape[0], rows):
        x = a[i : i + rows]
        sq = np.einsum("ij,ij->i", x, x)[:, None] + bb[None, :] - 2.0 * (x @ b.T)
        if a is b:  # a point's distance to itself is 0, not the rounding left by the subtraction
            sq[np.arange(x.shape[0]), np.arange(i, i + x.shape[0])] = 0.0
        total += float(np.sum(np.sqrt(np.maximum(sq, 0.0))))
    return total / (a.shape[0] * b.shape[0])


def energy_distance(real: ArrayLike, fake: ArrayLike, unbiased: bool = False) -> float:
    """The energy distance E = 2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ of two samples
    (Székely & Rizzo 2004, 2013; docs/MATH.md §14).

    real: (N, d), fake: (M, d), any d. By default the V-statistic: every expectation is the
    mean over all pairs, the i = j pairs included, so E is the energy distance of the two
    empirical distributions — never negative, 0 only when they are the same, and for d = 1
    the square of ``scipy.stats.energy_distance`` (which returns √E = √(2 ∫ (F − G)²)).
    ``unbiased=True`` averages within a sample over i ≠ j only (the U-statistic: unbiased
    for the population E, may be slightly negative; needs N, M >= 2).
    Euclidean distances in the samples' own units: E has the units of a distance.
    O(N·M·d) time, memory in blocks (2,500 × 2,500 points in 64-D: about 0.15 s).
    """
    a = _as_samples(real, "real")
    b = _as_samples(fake, "fake", a.shape[1])
    if unbiased and min(a.shape[0], b.shape[0]) < 2:
        raise ValueError("unbiased: needs at least 2 samples on each side")
    centre = np.concatenate([a, b]).mean(axis=0)
    a, b = a - centre, b - centre
    n, m = a.shape[0], b.shape[0]
    xx, yy = _mean_pair_distance(a, a), _mean_pair_distance(b, b)
    if unbiased:  # the diagonal is 0: the mean over i != j is the full mean times n/(n - 1)
        xx, yy = xx * n / (n - 1), yy * m / (m - 1)
    return 2.0 * _mean_pair_distance(a, b) - xx - yy


def energy_test(real: ArrayLike, fake: ArrayLike, permutations: int = 199, seed: int = 0) -> dict[str, float]:
    """Energy distance with a permutation p-value (Székely & Rizzo 2004; docs/MATH.md §14).

    Pools the N + M samples, recomputes the V-statistic for ``permutations`` random splits
    into N and M, and returns ``{"energy": E, "p_value": (1 + #{E_perm >= E}) / (1 +
    permutations)}`` (the smallest p-value it can give is 1/(1 + permutations)). Holds the
    (N+M)² distance matrix: meant for up to a few thousand points.
    """
    a = _as_samples(real, "real")
    b = _as_samples(fake, "fake", a.shape[1])
    permutations = check_int("permutations", permutations)
    n, m = a.shape[0], b.shape[0]
    z = np.concatenate([a, b])
    z = z - z.mean(axis=0)
    sq = np.einsum("ij,ij->i", z, z)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0))
    np.fill_diagonal(dist, 0.0)

    def stat(mask: np.ndarray) -> float:  # mask: True for the rows taken as the first sample
        s = mask.astype(np.float64)
        ds = dist @ s
        xx = s @ ds
        xy = (1.0 - s) @ ds
        yy = dist.sum() - 2.0 * xy - xx
        return 2.0 * xy / (n * m) - xx / n**2 - yy / m**2

    first = np.zeros(n + m, dtype=bool)
    first[:n] = True
    e = float(stat(first))
    rng = np.random.default_rng(seed)
    hits = sum(stat(rng.permutation(first)) >= e for _ in range(permutations))
    return {"energy": e, "p_value": (1 + int(hits)) / (1 + permutations)}


def distance_metrics_1d(real: ArrayLike, fake: ArrayLike, bins: int = 50) -> dict[str, float]:
    """{"js": js_divergence_1d, "w1": wasserstein1_1d} for 1-D samples."""
    return {"js": js_divergence_1d(real, fake, bins), "w1": wasserstein1_1d(real, fake)}


# --------------------------------------------------------------------------------------
# A GAN's metrics
# --------------------------------------------------------------------------------------
def evaluate(gan: Evaluable, n: int = 2500, seed: int = 12345) -> dict[str, Any]:
    """The metrics that fit the GAN's dataset, on n generated samples (PacGAN: 2,500).

    - 2-D mixtures (ring, grid and their presets): ``mixture_metrics``;
    - 1-D: ``distance_metrics_1d`` against n fresh draws from the true distribution;
    - otherwise (digits, your own data): ``{"sliced_w1": ..., "energy": ..., "energy_p": ...}``,
      both on the scale the networks see (a file's columns standardized as in training).
      ``sliced_w1`` against n draws from the data (for a file: from its held-out rows).
      ``energy``: the energy distance, the unbiased U-statistic (0 ± noise for a generator of
      the data's distribution), against a file's held-out rows themselves (drawn with
      replacement, a few rows would repeat, and their zero distances would bias E upwards by
      about E‖X − X'‖/rows), else against the n draws. ``energy_p``: the permutation p-value of
      ``energy_test`` on at most ENERGY_TEST_POINTS points a side (small: the samples are told
      apart from the data). docs/MATH.md §14.

    Draws use generators seeded from ``seed``, never ``gan.rng``: evaluating does not change
    the course of training. The result also holds ``n`` and ``step``.
    """
    n = check_int("n", n, low=2)
    data = gan.data
    fake = gan.sample(n, seed=seed)
    if not np.all(np.isfinite(fake)):
        raise ValueError("samples: the generator produced NaN or inf")
    if data.dim == 2 and getattr(data, "means", None) is not None:
        out = mixture_metrics(fake, data.means, data.std)
    else:
        real = data.reference(n, seed=seed + 1)
        if data.dim == 1:
            out = distance_metrics_1d(real, fake)
        else:
            # on the scale the networks see: a standardized file's columns weigh alike
            real, fake = data.encode(real), data.encode(fake)
            rows = getattr(data, "held_out", None)
            ref = (
                data.encode(np.asarray(rows, dtype=np.float64))
                if rows is not None and len(rows) >= 2
                else real
            )
            k = min(ENERGY_TEST_POINTS, n)
            out = {
                "sliced_w1": sliced_wasserstein1(real, fake, seed=seed),
                "energy": energy_distance(ref, fake, unbiased=True),
                "energy_p": energy_test(ref[:k], fake[:k], seed=seed)["p_value"],
            }
    out["n"] = n
    out["step"] = int(gan.step)
    return out


def format_metrics(m: dict[str, Any]) -> str:
    """A one-line summary, e.g. ``modes 8/8, high quality 97.1 %, KL 0.012``."""
    if not isinstance(m, dict) or not {"modes_covered", "js", "sliced_w1"} & set(m):
        got = f"keys {sorted(m)}" if isinstance(m, dict) else type(m).__name__
        raise ValueError(
            f"m: expected the metrics of evaluate() (with modes_covered, js or sliced_w1), got {got}"
        )
    if "modes_covered" in m:
        kl = "nan" if math.isnan(m["kl"]) else f"{m['kl']:.3f}"
        return (
            f"modes {m['modes_covered']}/{m['modes']}, high quality {100 * m['high_quality']:.1f} %, KL {kl}"
        )
    if "js" in m:
        return f"JS {m['js']:.4f} nats, W1 {m['w1']:.4f}"
    if "energy" in m:
        return f"sliced W1 {m['sliced_w1']:.4f}, energy {m['energy']:.4f} (p {m['energy_p']:.3g})"
    return f"sliced W1 {m['sliced_w1']:.4f}"
