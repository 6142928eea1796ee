"""Layers, each a forward/backward pair written by hand (no autodiff anywhere).

Every layer follows one contract (after CS231n's ``layers.py``):

- ``out, cache = layer.forward(x, train=True)``: ``x`` of shape (N, in_features);
- ``dx, grads = layer.backward(dout, cache)``: ``dout`` = ∂L/∂out, of the shape of ``out``;
  ``dx`` = ∂L/∂x, of the shape of ``x``; ``grads`` maps each name in ``layer.params`` to
  ∂L/∂param, of that parameter's shape. ``backward(..., need_dx=False)`` skips ``dx``
  (returns None) where nobody needs it, e.g. the generator's first layer;
  ``need_grads=False`` skips the parameter gradients (returns {}), e.g. when D's
  backward only carries the generator's gradient through to G.

Nothing mutates its inputs. Parameters live in ``layer.params`` (name -> array); running
statistics that are state but not parameters (BatchNorm) live in ``layer.buffers``.
All code uses only the Array API standard on ``backend.xp``.
"""

from __future__ import annotations

import math

from .backend import Backend, Random, on_gpu

INITS = ("he", "xavier", "normal", "uniform")


# In-place elementwise work (an activation's mask) goes block by block over rows: a block's
# temporaries stay small and in cache, where a full-size mask would be one more activation-
# sized array at the moment memory peaks (and, on NumPy, a large fresh array costs page
# faults on every step). A block is about a quarter of the array, kept between BLOCK_MIN and
# BLOCK_MAX elements so that the per-block call overhead stays small.
BLOCK_MIN, BLOCK_MAX = 1 << 14, 1 << 16


# Below this many elements an activation's "in-place" forward writes a new array instead
# (one pass, the fastest); at and above it (32 MiB of float32) it works over its input,
# block by block: there a fresh array costs more in page faults than the extra passes.
INPLACE_MIN = 1 << 23


def _overwrite(x) -> bool:
    """Whether an owned array x is better overwritten (large, on the CPU) than replaced."""
    n = 1
    for s in x.shape:
        n *= s
    return n >= INPLACE_MIN and not on_gpu(x)


def row_blocks(x):
    """Row slices of a 2-D array ``x`` covering it in blocks (see BLOCK_MIN, BLOCK_MAX).

    Blocks are a CPU matter (cache, page faults): on a GPU (CuPy) the whole array is one
    block, since one kernel over it beats many small launches.
    """
    n, f = x.shape
    if on_gpu(x):
        return [slice(0, n)]
    size = min(max(n * f // 4, BLOCK_MIN), BLOCK_MAX)
    step = max(1, size // max(f, 1))
    return [slice(a, min(a + step, n)) for a in range(0, n, step)]


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


class Layer:
    """Base class: a layer without parameters."""

    params: dict
    buffers: dict

    def __init__(self):
        self.params = {}
        self.buffers = {}

    def forward(self, x, train: bool = True):
        raise NotImplementedError

    def backward(self, dout, cache, need_dx: bool = True, need_grads: bool = True):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------------------
# Affine layers
# --------------------------------------------------------------------------------------
def init_weight(backend: Backend, rng: Random, fan_in: int, fan_out: int, init: str, dtype=None):
    """A (fan_in, fan_out) weight matrix.

    he:      N(0, 2/fan_in)                 (He et al. 2015, for ReLU)
    xavier:  U(±sqrt(6/(fan_in+fan_out)))  (Glorot & Bengio 2010)
    normal:  N(0, 0.02²)                    (DCGAN, Radford et al. 2016)
    uniform: U(±1/sqrt(fan_in))             (PyTorch's nn.Linear default)
    """
    if init == "he":
        return rng.normal((fan_in, fan_out), dtype) * math.sqrt(2.0 / fan_in)
    if init == "xavier":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform((fan_in, fan_out), -a, a, dtype)
    if init == "normal":
        return rng.normal((fan_in, fan_out), dtype) * 0.02
    if init == "uniform":
        a = 1.0 / math.sqrt(fan_in)
        return rng.uniform((fan_in, fan_out), -a, a, dtype)
    raise ValueError(f"init: expected one of {INITS}, got {init!r}")


def matmul(a, b):
    """The matrix product a @ b of a (N, K) and b (K, F), as every layer does it.

    With K = 1 the product is an outer product, out[n, f] = a[n, 0]·b[0, f], and it is done
    as that broadcast multiply: NumPy cannot hand an inner dimension of 1 to BLAS and falls
    back to a plain loop, 2-3x slower than the broadcast (a D's last layer has one output, so
    its dx = dout @ Wᵀ is such a product; see benchmarks/README.md).
    """
    if a.shape[1] == 1:
        return a * b
    return a @ b


class Linear(Layer):
    """Affine map ``out = x @ W + b``.

    x: (N, in_features); W: (in_features, out_features); b: (out_features,);
    out: (N, out_features).

    Backward: dx = dout @ Wᵀ, dW = xᵀ @ dout, db = Σ_n dout[n].
    """

    def __init__(self, in_features, out_features, backend: Backend, rng: Random, init="he", dtype=None):
        super().__init__()
        _check_positive_int("in_features", in_features)
        _check_positive_int("out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.xp = backend.xp
        self.params["W"] = init_weight(backend, rng, in_features, out_features, init, dtype)
        self.params["b"] = backend.zeros((out_features,), dtype)

    def forward(self, x, train=True):
        out = matmul(x, self.params["W"])
        out += self.params["b"]  # in place: out is ours, and this saves an (N, out) temporary
        return out, x

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        x = cache
        if need_grads:
            # db = Σ_n dout[n] = 1ᵀ·dout, done as a matrix-vector product: on NumPy a BLAS
            # GEMV is several times faster than the strided reduction xp.sum(dout, axis=0)
            grads = {"W": matmul(x.T, dout), "b": self._ones(dout) @ dout}
        else:
            grads = {}
        dx = matmul(dout, self.params["W"].T) if need_dx else None
        return dx, grads

    def _ones(self, dout):
        """A vector of N ones in dout's dtype and device (kept for the next call)."""
        ones = getattr(self, "_ones_cache", None)
        n = dout.shape[0]
        if ones is None or ones.shape[0] != n or ones.dtype != dout.dtype or ones.device != dout.device:
            ones = self.xp.ones((n,), dtype=dout.dtype, device=dout.device)
            self._ones_cache = ones
        return ones

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features})"


class Maxout(Layer):
    """Maxout units (Goodfellow et al. 2013), the paper's discriminator layer.

    Each of the ``units`` outputs is the max of ``pieces`` affine pieces:
    ``out[n, j] = max_p z[n, j, p]``, ``z = reshape(x @ W + b, (N, units, pieces))``.

    x: (N, in_features); W: (in_features, units·pieces); b: (units·pieces,);
    out: (N, units).

    Backward: the gradient flows only to the winning piece, dz[n,j,p] = dout[n,j]·[p = argmax],
    then through the affine map as in Linear.
    """

    def __init__(self, in_features, units, pieces, backend: Backend, rng: Random, init="he", dtype=None):
        super().__init__()
        _check_positive_int("units", units)
        _check_positive_int("pieces", pieces)
        self.units, self.pieces = units, pieces
        self.xp = backend.xp
        self.linear = Linear(in_features, units * pieces, backend, rng, init, dtype)
        self.params = self.linear.params  # W, b are the affine pieces

    def forward(self, x, train=True):
        xp = self.xp
        z, lin_cache = self.linear.forward(x)
        z = xp.reshape(z, (z.shape[0], self.units, self.pieces))
        winner = xp.argmax(z, axis=-1)
        out = xp.max(z, axis=-1)
        return out, (lin_cache, winner)

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        xp = self.xp
        lin_cache, winner = cache
        pieces = xp.arange(self.pieces, device=winner.device)
        onehot = winner[:, :, None] == pieces  # (N, units, pieces)
        dz = xp.where(onehot, dout[:, :, None], 0.0)
        dz = xp.reshape(dz, (dz.shape[0], self.units * self.pieces))
        return self.linear.backward(dz, lin_cache, need_dx, need_grads)

    def __repr__(self):
        return f"Maxout({self.linear.in_features}, {self.units}, pieces={self.pieces})"


# --------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------
def sigmoid(xp, x):
    """σ(x) = 1/(1+e^-x) without overflow: e^(-|x|) ≤ 1 on both branches."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class ReLU(Layer):
    """out = max(x, 0); dx = dout·[x > 0]. The cache is the input x."""

    def __init__(self, backend: Backend):
        super().__init__()
        self.xp = backend.xp

    def forward(self, x, train=True):
        return self.xp.maximum(x, 0.0), x

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        # dout·[x > 0] as a product with the 0/1 mask: on NumPy, xp.where over a random
        # mask is about ten times slower than compare + cast + multiply
        return dout * self.xp.astype(cache > 0, dout.dtype), {}

    def backward_inplace(self, dout, cache):
        """``backward``'s dx written over ``dout`` (dout ← dout·[x > 0]), for a caller that
        owns dout, as MLP.backward owns each dx it gets from the layer above: no new array.
        ``cache`` may be x or the output max(x, 0): [x > 0] = [max(x, 0) > 0]."""
        xp = self.xp
        for r in row_blocks(dout):
            d = dout[r, :]
            d *= xp.astype(cache[r, :] > 0, dout.dtype)
        return dout

    def forward_inplace(self, x):
        """max(x, 0) for a caller that owns x and keeps no other use for it (MLP.forward with
        inplace=True: the array the layer before just made). Returns the output, which is
        also the cache (backward needs only the sign pattern, the same in the output); a
        large x is overwritten, as x·[x > 0] block by block, a smaller one replaced."""
        xp = self.xp
        if not _overwrite(x):
            return xp.maximum(x, 0.0)
        for r in row_blocks(x):
            b = x[r, :]
            b *= xp.astype(b > 0, x.dtype)
        return x


class LeakyReLU(Layer):
    """out = x if x > 0 else slope·x; dx = dout·(1 if x > 0 else slope).

    With 0 ≤ slope < 1, out = max(x, slope·x), and the derivative is
    slope + (1 − slope)·[x > 0]: both without xp.where (slow over random masks on NumPy).
    """

    def __init__(self, backend: Backend, slope: float = 0.2):
        super().__init__()
        if not 0.0 <= slope < 1.0:
            raise ValueError(f"slope: expected 0 <= slope < 1, got {slope!r}")
        self.xp, self.slope = backend.xp, float(slope)

    def forward(self, x, train=True):
        return self.xp.maximum(x, self.slope * x), x

    def _derivative(self, x, dtype):
        d = self.xp.astype(x > 0, dtype)  # [x > 0]
        d *= 1.0 - self.slope
        d += self.slope
        return d

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        return dout * self._derivative(cache, dout.dtype), {}

    def backward_inplace(self, dout, cache):
        """``backward``'s dx written over ``dout`` (see ReLU.backward_inplace; the cache may
        be x or the output: both are > 0 exactly where x > 0)."""
        for r in row_blocks(dout):
            d = dout[r, :]
            d *= self._derivative(cache[r, :], dout.dtype)
        return dout

    def forward_inplace(self, x):
        """The output x·(1 if x > 0 else slope), over ``x`` when large (see ReLU.forward_inplace)."""
        if not _overwrite(x):
            return self.forward(x)[0]
        for r in row_blocks(x):
            b = x[r, :]
            b *= self._derivative(b, x.dtype)
        return x

    def __repr__(self):
        return f"LeakyReLU({self.slope})"


class Tanh(Layer):
    """out = tanh(x); dx = dout·(1 − out²)."""

    def __init__(self, backend: Backend):
        super().__init__()
        self.xp = backend.xp

    def forward(self, x, train=True):
        out = self.xp.tanh(x)
        return out, out

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        out = cache
        return dout * (1.0 - out * out), {}


class Sigmoid(Layer):
    """out = σ(x); dx = dout·out·(1 − out). (Not for D's output: D emits logits.)"""

    def __init__(self, backend: Backend):
        super().__init__()
        self.xp = backend.xp

    def forward(self, x, train=True):
        out = sigmoid(self.xp, x)
        return out, out

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        out = cache
        return dout * out * (1.0 - out), {}


# --------------------------------------------------------------------------------------
# Regularisers
# --------------------------------------------------------------------------------------
class Dropout(Layer):
    """Inverted dropout: in training out = x·mask/(1−p), mask ~ Bernoulli(1−p); in eval out = x.

    dx = dout·mask/(1−p) (training), dout (eval).
    """

    def __init__(self, p: float, backend: Backend, rng: Random):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p: expected a dropout probability 0 <= p < 1, got {p!r}")
        self.p, self.xp, self.rng = float(p), backend.xp, rng

    def forward(self, x, train=True):
        if not train or self.p == 0.0:
            return x, None
        keep = self.rng.uniform(x.shape, dtype=x.dtype) >= self.p
        scale = self.xp.astype(keep, x.dtype) * (1.0 / (1.0 - self.p))
        return x * scale, scale

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        return (dout if cache is None else dout * cache), {}

    def __repr__(self):
        return f"Dropout({self.p})"


class BatchNorm(Layer):
    """Batch normalisation over the batch axis (Ioffe & Szegedy 2015).

    Training: μ, σ² = batch mean and (biased) variance per feature,
    x̂ = (x − μ)/sqrt(σ² + eps), out = γ·x̂ + β; the running statistics move as
    r ← (1 − momentum)·r + momentum·batch_stat (PyTorch's convention; running variance
    uses the unbiased batch variance). Eval: x̂ uses the running statistics.

    x: (N, F); γ, β: (F,). Backward (training), with g = dout·γ:
    dx = (1/sqrt(σ²+eps))·(g − mean_n g − x̂·mean_n(g·x̂)); dγ = Σ_n dout·x̂; dβ = Σ_n dout.
    """

    def __init__(self, features, backend: Backend, momentum=0.1, eps=1e-5, dtype=None):
        super().__init__()
        _check_positive_int("features", features)
        self.xp, self.features, self.momentum, self.eps = backend.xp, features, float(momentum), float(eps)
        self.params["gamma"] = backend.ones((features,), dtype)
        self.params["beta"] = backend.zeros((features,), dtype)
        self.buffers["running_mean"] = backend.zeros((features,), dtype)
        self.buffers["running_var"] = backend.ones((features,), dtype)

    def forward(self, x, train=True):
        xp = self.xp
        if train:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"x: BatchNorm in training needs a batch of at least 2, got {n}")
            mu = xp.mean(x, axis=0)
            xc = x - mu
            var = xp.mean(xc * xc, axis=0)
            m = self.momentum
            self.buffers["running_mean"] = (1 - m) * self.buffers["running_mean"] + m * mu
            self.buffers["running_var"] = (1 - m) * self.buffers["running_var"] + m * var * (n / (n - 1))
        else:
            xc = x - self.buffers["running_mean"]
            var = self.buffers["running_var"]
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        xhat = xc * inv_std
        out = xhat * self.params["gamma"] + self.params["beta"]
        return out, (xhat, inv_std, train)

    def backward(self, dout, cache, need_dx=True, need_grads=True):
        xp = self.xp
        xhat, inv_std, train = cache
        grads = {"gamma": xp.sum(dout * xhat, axis=0), "beta": xp.sum(dout, axis=0)} if need_grads else {}
        if not need_dx:
            return None, grads
        g = dout * self.params["gamma"]
        if not train:
            return g * inv_std, grads
        dx = inv_std * (g - xp.mean(g, axis=0) - xhat * xp.mean(g * xhat, axis=0))
        return dx, grads

    def __repr__(self):
        return f"BatchNorm({self.features})"


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def make_activation(name: str, backend: Backend, leaky_slope: float = 0.2) -> Layer:
    """The activation layer called ``name`` (relu, leaky_relu, tanh, sigmoid)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {tuple(ACTIVATIONS)}, got {name!r}")
    if name == "leaky_relu":
        return LeakyReLU(backend, leaky_slope)
    return ACTIVATIONS[name](backend)
