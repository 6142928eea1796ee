"""The array backend: which array library runs the model, on which device, in which dtype.

Model code never imports numpy or cupy. It asks a :class:`Backend` (by name, ``get_backend("cupy")``,
or with ``$MINIGAN_BACKEND``) for its namespace ``xp`` and uses only the Python Array API standard on
it, so the same code runs on

- ``numpy``  (default; CPU),
- ``cupy``   (NVIDIA GPU; from a clone ``pip install -e ".[cuda12x]"`` or ``".[cuda13x]"``, or
  CuPy alone: ``pip install cupy-cuda12x``),
- ``strict`` (``array-api-strict``, for tests: it refuses anything outside the standard;
  its simulated devices — ``"strict:device1"``: any mix of devices is an error, like a GPU;
  ``"strict:no_float64"``: float64 is refused — catch most GPU bugs on a CPU).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from . import engine
from ._checks import check_int
from ._types import Array, ArrayLike, DType, Shape

BACKEND_NAMES = ("numpy", "cupy", "strict")
STRICT_DEVICES = ("CPU_DEVICE", "device1", "device2", "no_float64")


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here (library missing, or no usable GPU)."""


class Random:
    """A seeded random generator that draws on the backend's device, in its dtype: a NumPy
    ``Generator`` (PCG64), its draws moved to the device; on cupy a ``cupy.random`` generator seeded
    from it. ``state()`` / ``set_state()`` give a JSON string, so checkpoints can store it."""

    def __init__(self, backend: Backend, seed: int | None = 0) -> None:
        if seed is not None:
            seed = check_int("seed", seed, low=0)
        self.backend = backend
        self._host = self._rng = np.random.default_rng(seed)  # _rng: the generator that draws
        self._reseed_device()

    def _reseed_device(self):
        """On cupy: draw with a new device generator, seeded from the host one."""
        if self.backend.name == "cupy":
            self._rng = self.backend.xp.random.default_rng(int(self._host.integers(0, 2**63 - 1)))

    def normal(self, shape: Shape, dtype: DType | str | None = None) -> Array:
        """Standard normal samples of ``shape``, float dtype (default: backend's)."""
        dtype = self.backend.dtype(dtype)
        return self.backend.asarray(self._rng.standard_normal(shape, dtype=_np_dtype(dtype)), dtype=dtype)

    def uniform(
        self, shape: Shape, low: float = 0.0, high: float = 1.0, dtype: DType | str | None = None
    ) -> Array:
        """Uniform samples on [low, high)."""
        dtype = self.backend.dtype(dtype)
        u = self._rng.random(shape, dtype=_np_dtype(dtype)) * (high - low) + low
        return self.backend.asarray(u, dtype=dtype)

    def integers(self, high: int, shape: Shape) -> Array:
        """Integers in [0, high) of ``shape`` (int64 where the device allows it)."""
        return self.backend.asarray(self._rng.integers(0, high, size=shape))

    def state(self) -> str:
        """The generator state as a JSON string. cupy's device stream cannot be exported: it is
        reseeded from the host generator, so that restoring the host state reproduces it."""
        s = json.dumps(self._host.bit_generator.state)
        self._reseed_device()
        return s

    def set_state(self, state: str) -> None:
        try:
            self._host.bit_generator.state = json.loads(state)
        except (ValueError, TypeError, KeyError) as e:
            raise ValueError(f"state: not a random-generator state ({e})") from None
        self._reseed_device()


def _np_dtype(dtype):
    """The numpy dtype with the same name as a backend dtype."""
    try:
        return np.dtype(dtype)
    except TypeError:  # array_api_strict dtypes print as "array_api_strict.float32"
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


class Backend:
    """An array library (``name``: "numpy" | "cupy" | "strict"; its namespace ``xp``), the
    ``device`` arrays are created on, the default ``float_dtype`` (``xp.float32`` unless float64
    was asked for) and ``ops``, the engine room's operations for this library (``engine.Ops``)."""

    name: str
    xp: Any  # the array namespace: the numpy, cupy or array_api_strict module
    device: Any  # "cpu", a cupy.cuda.Device or an array_api_strict.Device
    float_dtype: DType
    ops: engine.Ops

    def __init__(
        self, name: str = "numpy", *, device: Any = None, dtype: str = "float32", fused: bool = False
    ) -> None:
        if name not in BACKEND_NAMES:
            raise ValueError(f"backend: expected one of {BACKEND_NAMES}, got {name!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype: expected 'float32' or 'float64', got {dtype!r}")
        self.name = name
        ops: engine.Ops
        if name == "numpy":
            self.xp, self.device, ops = np, "cpu", engine.NumpyOps()
        elif name == "strict":
            try:
                import array_api_strict
            except ImportError:
                raise BackendUnavailable(
                    "backend 'strict' needs array-api-strict, which is not installed: "
                    "pip install array-api-strict"
                ) from None
            dev = device or "CPU_DEVICE"
            if dev not in STRICT_DEVICES:
                raise ValueError(f"device: expected one of {STRICT_DEVICES} for strict, got {dev!r}")
            if dev == "no_float64" and dtype == "float64":
                raise ValueError(
                    "dtype: strict:no_float64 cannot compute in float64 (the device refuses it); "
                    "use dtype='float32'"
                )
            self.xp, self.device = array_api_strict, array_api_strict.Device(dev)
            ops = engine.Ops(self.xp)
        else:
            self.xp = _import_cupy()
            self.device = self.xp.cuda.Device(int(device or 0))
            ops = engine.CupyOps(self.xp, fused)
        self.float_dtype = getattr(self.xp, dtype)
        self.ops = engine.register(ops)

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, device={self.device!r}, dtype={self.float_dtype})"

    @property
    def spec(self) -> str:
        """A string that ``get_backend`` turns back into this backend."""
        if self.name == "strict":
            return f"strict:{self.device}".replace("array_api_strict.Device('", "").replace("')", "")
        return self.name

    def dtype(self, dtype: DType | str | None = None) -> DType:
        """The backend dtype for ``dtype`` (None: the default float; or a name)."""
        if dtype is None:
            return self.float_dtype
        return getattr(self.xp, dtype) if isinstance(dtype, str) else dtype

    def asarray(self, x: ArrayLike, dtype: DType | None = None) -> Array:
        """``x`` (array, NumPy array, list or scalar) as a backend array on the device."""
        xp = self.xp
        if self.name == "numpy":
            return np.asarray(x, dtype=dtype)
        if self.name == "cupy":
            with self.device:
                return xp.asarray(x, dtype=dtype)
        if not isinstance(x, (np.ndarray, np.generic)) and hasattr(x, "__array_namespace__"):
            if dtype is not None and x.dtype != dtype:
                x = xp.astype(x, dtype)
            return x if x.device == self.device else xp.asarray(x, device=self.device, copy=True)
        return xp.asarray(np.asarray(x), dtype=dtype, device=self.device)

    def zeros(self, shape: Shape, dtype: DType | str | None = None) -> Array:
        return self.xp.zeros(shape, dtype=self.dtype(dtype), device=self.device)

    def ones(self, shape: Shape, dtype: DType | str | None = None) -> Array:
        return self.xp.ones(shape, dtype=self.dtype(dtype), device=self.device)

    def full(self, shape: Shape, value: float, dtype: DType | str | None = None) -> Array:
        return self.xp.full(shape, value, dtype=self.dtype(dtype), device=self.device)

    def random(self, seed: int | None = 0) -> Random:
        """A seeded generator drawing on this backend; ``seed`` a non-negative integer (None: fresh
        entropy from the operating system)."""
        return Random(self, seed)

    def to_numpy(self, x: Array) -> np.ndarray:
        """A NumPy copy of a backend array (for plotting, saving, printing)."""
        if isinstance(x, (np.ndarray, np.generic, float, int)):
            return np.asarray(x)
        if self.name == "cupy":
            return self.xp.asnumpy(x)
        if self.name == "strict" and x.device != self.xp.Device("CPU_DEVICE"):
            x = self.xp.asarray(x, device=self.xp.Device("CPU_DEVICE"), copy=True)
        return np.asarray(x)

    def synchronize(self) -> None:
        """Wait until the device has finished its queued work (for timing)."""
        if self.name == "cupy":
            self.xp.cuda.get_current_stream().synchronize()


def _import_cupy():
    try:
        import cupy
    except ImportError:
        raise BackendUnavailable(
            "backend 'cupy' needs CuPy, which is not installed: pip install cupy-cuda12x (CUDA 12) "
            'or cupy-cuda13x (CUDA 13); from a clone of minigan, pip install -e ".[cuda12x]" does the same'
        ) from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device found")
        cupy.zeros(1).sum().item()  # touch the driver now, not at the first real allocation
    except Exception as e:  # noqa: BLE001 - any CUDA failure means the same thing to the user
        raise BackendUnavailable(
            f"backend 'cupy': CuPy is installed but no usable GPU/driver was found ({e}); use "
            "backend 'numpy', or install the CuPy that matches your CUDA driver (cupy-cuda12x, cupy-cuda13x)"
        ) from None
    return cupy


def get_backend(
    name: str | Backend | None = None,
    *,
    device: Any = None,
    dtype: str = "float32",
    fused: bool | None = None,
) -> Backend:
    """The backend called ``name`` ("numpy", "cupy", "strict" or "strict:<device>"; None:
    ``$MINIGAN_BACKEND``, else numpy; a Backend passes through). ``fused`` (CuPy only): run the loss
    and Adam chains as single kernels (engine.CupyOps); None: ``$MINIGAN_FUSED == "1"``."""
    if isinstance(name, Backend):
        return name
    if name is None:
        name = os.environ.get("MINIGAN_BACKEND", "numpy") or "numpy"
    if not isinstance(name, str):
        raise TypeError(f"backend: expected a name or a Backend, got {type(name).__name__}")
    base, _, dev = name.partition(":")
    if fused is None:
        fused = os.environ.get("MINIGAN_FUSED") == "1"
    return Backend(base, device=dev or device, dtype=dtype, fused=fused)
