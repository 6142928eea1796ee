"""minigan: the GAN min-max game and its loss functions, every gradient written by hand."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ._version import __version__
from .backend import Backend, BackendUnavailable, get_backend
from .networks import MLP, MLPSpec, discriminator, generator

if TYPE_CHECKING:  # imported when called: ``import minigan`` stays light
    from .checkpoint import SavedGAN


def load(path: str | os.PathLike[str], backend: str | Backend | None = None) -> SavedGAN:
    """The generator and discriminator saved in a checkpoint (or a run folder holding
    ``checkpoint.npz``), ready to ``.sample(n, seed=)`` and ``.discriminate(x)``: no data set or
    optimizer is rebuilt (``checkpoint.SavedGAN``). To train on, use ``checkpoint.load``."""
    from .checkpoint import load_saved

    return load_saved(path, backend)


__all__ = [
    "Backend",
    "BackendUnavailable",
    "get_backend",
    "MLP",
    "MLPSpec",
    "generator",
    "discriminator",
    "load",
    "__version__",
]
