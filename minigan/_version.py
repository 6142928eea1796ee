"""The version of minigan (the package and every checkpoint it writes record it)."""

__version__ = "0.1.0"
