"""minigan: the GAN min-max game and its loss functions, every gradient written by hand."""

from .backend import Backend, BackendUnavailable, get_backend
from .networks import MLP, MLPSpec, discriminator, generator

__version__ = "0.1.0"

__all__ = ["Backend", "BackendUnavailable", "get_backend", "MLP", "MLPSpec", "generator", "discriminator"]
