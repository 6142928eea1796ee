"""GAN loss forms, each computed from the discriminator's **logits** with its gradient beside it.

Notation (docs/MATH.md §1, §5): ``l`` is a logit, D = σ(l), sp(l) = log(1 + e^l) (softplus).
Then log D = −sp(−l) and log(1 − D) = −sp(l), so no loss ever takes log σ(l), and sp has a
stable form (below) that stays finite for any finite logit.

Every function takes logits of shape (m,) or (m, 1) — ``l_real`` = D's logits on real
samples x, ``l_fake`` = D's logits on generated samples G(z) — and returns

    value, ∂value/∂l_real, ∂value/∂l_fake      (discriminator-side forms)
    value, ∂value/∂l_fake                       (generator-side forms)

where ``value`` is a 0-d array (the batch mean) and each gradient has the shape of its logits
and already includes the 1/m of the mean (the derivations: docs/MATH.md §6). ``check=True``
(the default) validates the inputs first, the only step here that syncs with a GPU.
"""

from __future__ import annotations

import math
from typing import Any

from ._checks import is_number
from ._types import Array, DLoss, DLossResult, GLoss, GLossResult
from .engine import ops_for

LOG4, LOG2 = math.log(4.0), math.log(2.0)


# -- Stable elementwise pieces (docs/MATH.md §5) --
def softplus_sigmoid(l: Array) -> tuple[Array, Array]:
    """(sp(l), σ(l)) together, sharing e = e^−|l| ≤ 1 (a loss and its gradient need both):

    sp(l) = max(l, 0) + log1p(e),   σ(l) = (1 if l ≥ 0 else e)/(1 + e).

    sp'(l) = σ(l), and 1 − σ(l) = σ(−l): the gradients below use σ(−l), not σ(l) − 1, which keeps
    tiny values exact instead of rounding them to 0. Defined once, in ``engine.Ops``."""
    return ops_for(l).softplus_sigmoid(l)


def softplus(l: Array) -> Array:
    """sp(l) = log(1 + e^l) = max(l, 0) + log1p(e^−|l|); never overflows (docs/MATH.md §5)."""
    return softplus_sigmoid(l)[0]


def sigmoid(l: Array) -> Array:
    """σ(l) = 1/(1 + e^−l), from e^−|l| ≤ 1, so it never overflows (docs/MATH.md §5)."""
    return softplus_sigmoid(l)[1]


def _mean(v):
    """The mean of all entries as Σ (v/N), not Σ v / N (docs/MATH.md §6.6): N values near the largest
    float overflow their sum, their N-th parts never do. (NumPy's ``mean`` costs twice a ``sum`` on
    small arrays.)"""
    return v.__array_namespace__().sum(v / math.prod(v.shape))


def _in_range(value, check, names="l_real, l_fake"):
    """``value``; with ``check``, first one clear line if it overflowed: at logits near the largest
    float a loss's true value can lie beyond it (e.g. sp(−l_r) + sp(l_f) ≈ 2|l|; the range of each
    form: docs/MATH.md §6.6)."""
    if check and not bool(value.__array_namespace__().isfinite(value)):
        raise ValueError(
            f"{names}: the loss value overflows {value.dtype} at these logits; expected logits within "
            "this form's range (docs/MATH.md §6.6)"
        )
    return value


def check_logits(name: str, l: Array) -> None:
    """Raise a clear error unless ``l`` is a finite float array of shape (m,) or (m, 1)."""
    if not hasattr(l, "__array_namespace__"):
        raise TypeError(f"{name}: expected an array of logits, got {type(l).__name__}")
    xp = l.__array_namespace__()
    if not xp.isdtype(l.dtype, "real floating"):
        raise TypeError(f"{name}: expected a real floating dtype, got {l.dtype}")
    if not (len(l.shape) == 1 or (len(l.shape) == 2 and l.shape[1] == 1)) or l.shape[0] < 1:
        raise ValueError(f"{name}: expected logits of shape (m,) or (m, 1) with m >= 1, got {tuple(l.shape)}")
    if not bool(xp.all(xp.isfinite(l))):
        raise ValueError(f"{name}: contains NaN or inf (the discriminator has diverged?)")


def _sizes(l_real, l_fake, check):
    """(m, n), the numbers of real and generated samples; ``check``: first validate both logits."""
    if check:
        check_logits("l_real", l_real)
        check_logits("l_fake", l_fake)
        if l_real.dtype != l_fake.dtype:
            raise TypeError(f"l_fake: expected the dtype of l_real ({l_real.dtype}), got {l_fake.dtype}")
    return l_real.shape[0], l_fake.shape[0]


def _size(l_fake, check):
    """n, the number of generated samples; ``check``: first validate the logits."""
    if check:
        check_logits("l_fake", l_fake)
    return l_fake.shape[0]


def check_real_target(v: Any) -> float:
    """``float(v)`` if v is a valid target α for the real samples of one-sided label smoothing,
    0 < α ≤ 1 (1: no smoothing; docs/MATH.md §6.2), else a ValueError naming ``real_target``."""
    if not (is_number(v) and 0.0 < v <= 1.0):
        raise ValueError(f"real_target: expected 0 < real_target <= 1, got {v!r}")
    return float(v)


# -- The paper's forms (Goodfellow et al. 2014) and the article's total loss --
def value_function(l_real: Array, l_fake: Array, check: bool = True) -> DLossResult:
    """V(D, G) = mean log D(x) + mean log(1 − D(G(z))) = −mean sp(−l_r) − mean sp(l_f)
    (Goodfellow et al. 2014, Eq. 1): D ascends V, G descends it (docs/MATH.md §2).
    ∂V/∂l_r = σ(−l_r)/m  (= (1 − D(x))/m),   ∂V/∂l_f = −σ(l_f)/n  (= −D(G(z))/n)."""
    m, n = _sizes(l_real, l_fake, check)
    sp_r, s_r = softplus_sigmoid(-l_real)  # sp(−l_r), σ(−l_r)
    sp_f, s_f = softplus_sigmoid(l_fake)  # sp(l_f), σ(l_f)
    return _in_range(-_mean(sp_r) - _mean(sp_f), check), s_r * (1.0 / m), s_f * (-1.0 / n)


def discriminator_loss(
    l_real: Array, l_fake: Array, real_target: float = 1.0, check: bool = True
) -> DLossResult:
    """L_D: binary cross-entropy with real = 1, fake = 0; equals −V(D, G) (docs/MATH.md §2, §6.1).

    L_D = −mean log D(x) − mean log(1 − D(G(z))) = mean sp(−l_r) + mean sp(l_f).

    With one-sided label smoothing (Salimans et al. 2016, arXiv 1606.03498; docs/MATH.md §6.2) the
    real target is α = ``real_target`` (e.g. 0.9) and fakes stay 0:
    L_D = mean[α sp(−l_r) + (1 − α) sp(l_r)] + mean sp(l_f);
    ∂L_D/∂l_r = (σ(l_r) − α)/m = ((1 − α)σ(l_r) − α σ(−l_r))/m,   ∂L_D/∂l_f = σ(l_f)/n."""
    m, n = _sizes(l_real, l_fake, check)
    a = check_real_target(real_target)  # a number, not an array: checked on every call
    sp_r, s_r = softplus_sigmoid(-l_real)  # sp(−l_r), σ(−l_r)
    if a == 1.0:
        real, d_real = _mean(sp_r), s_r * (-1.0 / m)
    else:
        sp_r1, s_r1 = softplus_sigmoid(l_real)  # sp(l_r), σ(l_r)
        real = _mean(a * sp_r + (1.0 - a) * sp_r1)
        d_real = ((1.0 - a) * s_r1 - a * s_r) / m
    sp_f, s_f = softplus_sigmoid(l_fake)  # sp(l_f), σ(l_f)
    return _in_range(real + _mean(sp_f), check), d_real, s_f * (1.0 / n)


def generator_minimax_loss(l_fake: Array, check: bool = True) -> GLossResult:
    """L_G^mm = mean log(1 − D(G(z))) = −mean sp(l_f): the saturating loss G minimises in Eq. 1.
    ∂L_G^mm/∂l_f = −σ(l_f)/n → 0 when D rejects the fakes (l_f → −∞): it saturates (docs/MATH.md §3)."""
    n = _size(l_fake, check)
    sp_f, s_f = softplus_sigmoid(l_fake)  # sp(l_f), σ(l_f)
    return _in_range(-_mean(sp_f), check, "l_fake"), s_f * (-1.0 / n)


def generator_nonsaturating_loss(l_fake: Array, check: bool = True) -> GLossResult:
    """L_G^ns = −mean log D(G(z)) = mean sp(−l_f): the paper's practical generator loss (Sec. 3;
    docs/MATH.md §3). ∂L_G^ns/∂l_f = (σ(l_f) − 1)/n = −σ(−l_f)/n → −1/n when D rejects the fakes:
    no saturation."""
    n = _size(l_fake, check)
    sp, s = softplus_sigmoid(-l_fake)  # sp(−l_f), σ(−l_f)
    return _in_range(_mean(sp), check, "l_fake"), s * (-1.0 / n)


def generator_maximum_likelihood_loss(l_fake: Array, check: bool = True) -> GLossResult:
    """L_G^ml = −½·mean exp(σ⁻¹(D(G(z)))) = −½·mean e^{l_f} (Goodfellow 2016, arXiv 1701.00160, §3.2.3):
    with D optimal, its expected gradient is KL(p_data ‖ p_g)'s (docs/MATH.md §3). ∂/∂l_f = −½·e^{l_f}/n."""
    n = _size(l_fake, check)
    e = l_fake.__array_namespace__().exp(l_fake)
    return _in_range(-0.5 * _mean(e), check, "l_fake"), e * (-0.5 / n)


def total_loss(l_real: Array, l_fake: Array, check: bool = True) -> DLossResult:
    """The article's total loss L_D + L_G^ns, both terms on the same generated batch (docs/MATH.md §4):
    = mean sp(−l_r) + mean sp(l_f) + mean sp(−l_f); both terms are minimised and lie in
    [0, ∞), which is why the article adds L_G^ns and not L_G^mm (range (−∞, 0]).
    ∂/∂l_r = −σ(−l_r)/m,   ∂/∂l_f = (2σ(l_f) − 1)/n = (σ(l_f) − σ(−l_f))/n."""
    m, n = _sizes(l_real, l_fake, check)
    sp_r, s_r = softplus_sigmoid(-l_real)  # sp(−l_r), σ(−l_r)
    sp_f, s_f = softplus_sigmoid(l_fake)  # sp(l_f), σ(l_f)
    sp_nf, s_nf = softplus_sigmoid(-l_fake)  # sp(−l_f), σ(−l_f)
    return _in_range(_mean(sp_r) + _mean(sp_f) + _mean(sp_nf), check), s_r * (-1.0 / m), (s_f - s_nf) / n


# -- Common extensions --
def least_squares_d_loss(
    l_real: Array, l_fake: Array, a: float = 0.0, b: float = 1.0, check: bool = True
) -> DLossResult:
    """LSGAN discriminator (Mao et al. 2017, arXiv 1611.04076; docs/MATH.md §6.3), on the raw output l:
    L_D = mean ½(l_r − b)² + mean ½(l_f − a)²;   ∂/∂l_r = (l_r − b)/m,  ∂/∂l_f = (l_f − a)/n.
    Defaults a = 0, b = 1 (the 0-1 coding; a = −1, b = 1 is the other common choice)."""
    m, n = _sizes(l_real, l_fake, check)
    r, f = l_real - b, l_fake - a
    return _in_range(0.5 * _mean(r * r) + 0.5 * _mean(f * f), check), r / m, f / n


def least_squares_g_loss(l_fake: Array, c: float = 1.0, check: bool = True) -> GLossResult:
    """LSGAN generator (docs/MATH.md §6.3): L_G = mean ½(l_f − c)²;   ∂/∂l_f = (l_f − c)/n."""
    n = _size(l_fake, check)
    f = l_fake - c
    return _in_range(0.5 * _mean(f * f), check, "l_fake"), f / n


def hinge_d_loss(l_real: Array, l_fake: Array, check: bool = True) -> DLossResult:
    """Hinge discriminator (Lim & Ye 2017; Miyato et al. 2018; docs/MATH.md §6.4):
    L_D = mean relu(1 − l_r) + mean relu(1 + l_f);
    ∂/∂l_r = −[l_r < 1]/m,   ∂/∂l_f = [l_f > −1]/n   (the kinks at l = ±1 take 0)."""
    m, n = _sizes(l_real, l_fake, check)
    xp = l_real.__array_namespace__()
    value = _mean(xp.maximum(1.0 - l_real, 0.0)) + _mean(xp.maximum(1.0 + l_fake, 0.0))
    d_real = -xp.astype(l_real < 1.0, l_real.dtype) / m
    d_fake = xp.astype(l_fake > -1.0, l_fake.dtype) / n
    return _in_range(value, check), d_real, d_fake


def hinge_g_loss(l_fake: Array, check: bool = True) -> GLossResult:
    """Hinge generator (docs/MATH.md §6.4): L_G = −mean l_f;   ∂/∂l_f = −1/n."""
    return wasserstein_g_loss(l_fake, check)


def wasserstein_d_loss(l_real: Array, l_fake: Array, check: bool = True) -> DLossResult:
    """Wasserstein critic (Arjovsky et al. 2017, arXiv 1701.07875; docs/MATH.md §6.5), l = critic output:
    L_D = mean l_f − mean l_r;   ∂/∂l_r = −1/m,  ∂/∂l_f = 1/n.
    Only meaningful with a Lipschitz critic: train with weight clipping (c = 0.01)."""
    m, n = _sizes(l_real, l_fake, check)
    xp = l_real.__array_namespace__()
    value = _mean(l_fake) - _mean(l_real)
    return _in_range(value, check), xp.full_like(l_real, -1.0 / m), xp.full_like(l_fake, 1.0 / n)


def wasserstein_g_loss(l_fake: Array, check: bool = True) -> GLossResult:
    """Wasserstein generator (docs/MATH.md §6.5): L_G = −mean l_f;   ∂/∂l_f = −1/n."""
    n = _size(l_fake, check)
    return _in_range(-_mean(l_fake), check, "l_fake"), l_fake.__array_namespace__().full_like(
        l_fake, -1.0 / n
    )


# -- Registries: the loss pairs a training run can choose by name --
DISCRIMINATOR_LOSSES: dict[str, DLoss] = {
    "bce": discriminator_loss,
    "least_squares": least_squares_d_loss,
    "hinge": hinge_d_loss,
    "wasserstein": wasserstein_d_loss,
}
GENERATOR_LOSSES: dict[str, GLoss] = {
    "minimax": generator_minimax_loss,
    "nonsaturating": generator_nonsaturating_loss,
    "maximum_likelihood": generator_maximum_likelihood_loss,
    "least_squares": least_squares_g_loss,
    "hinge": hinge_g_loss,
    "wasserstein": wasserstein_g_loss,
}
# generator loss -> the discriminator loss it is played against
PAIRED_D_LOSS = {
    "minimax": "bce",
    "nonsaturating": "bce",
    "maximum_likelihood": "bce",
    "least_squares": "least_squares",
    "hinge": "hinge",
    "wasserstein": "wasserstein",
}


def get_generator_loss(name: str) -> GLoss:
    if name not in GENERATOR_LOSSES:
        raise ValueError(f"g_loss: expected one of {tuple(GENERATOR_LOSSES)}, got {name!r}")
    return GENERATOR_LOSSES[name]


def get_discriminator_loss(name: str) -> DLoss:
    if name not in DISCRIMINATOR_LOSSES:
        raise ValueError(f"d_loss: expected one of {tuple(DISCRIMINATOR_LOSSES)}, got {name!r}")
    return DISCRIMINATOR_LOSSES[name]
