"""The names minigan's type hints share (``Array`` and friends).

``Array`` is an array of whichever backend is in use — ``numpy.ndarray``, ``cupy.ndarray`` or
array-api-strict's ``Array`` (``minigan/backend.py``). The three share no static type (the Array
API standard has no typing protocol that mypy checks), so ``Array`` is ``Any``: an annotation
``x: Array`` says that x is an array of the backend, of the shape its docstring gives, without
pretending that it is a NumPy array. Functions that take or return NumPy arrays on the host
(metrics, theory, plots) say ``np.ndarray`` instead; "array-like" inputs (lists, any backend's
arrays, converted on entry) are ``ArrayLike``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

Array: TypeAlias = Any
"""An array of the backend in use (numpy, cupy or array-api-strict)."""

ArrayLike: TypeAlias = Any
"""Anything ``numpy.asarray`` (or the backend's ``asarray``) accepts: lists, scalars, arrays."""

Grads: TypeAlias = dict[str, Array]
"""Parameter gradients by parameter name, e.g. ``{"0.W": ..., "0.b": ...}``."""

DLossResult: TypeAlias = tuple[Array, Array, Array]
"""A discriminator-side loss: (value, ∂value/∂l_real, ∂value/∂l_fake) (docs/MATH.md §6)."""

GLossResult: TypeAlias = tuple[Array, Array]
"""A generator-side loss: (value, ∂value/∂l_fake) (docs/MATH.md §6)."""

DLoss: TypeAlias = Callable[..., DLossResult]
GLoss: TypeAlias = Callable[..., GLossResult]

DType: TypeAlias = Any
"""A dtype of the backend (``xp.float32``), or None / a name where a function says so."""

Shape: TypeAlias = "int | tuple[int, ...]"
"""An array shape."""

Cache: TypeAlias = Any
"""What a layer's or network's forward hands its backward (arrays, tuples or lists of them, or None).

A backward returns ``(dx, grads)``, annotated ``tuple[Array, Grads]``: dx is None when the caller
passed ``need_dx=False`` (``Array`` being ``Any``, ``Array | None`` would say nothing more)."""
