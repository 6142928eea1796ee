"""Moved to ``minigan.app.bench`` (the ``bench`` command); this old path keeps working, also as
``python -m minigan.bench``."""

import sys

from .app.bench import *  # noqa: F403
from .app.bench import CONFIGS, main, make_gan

__all__ = ["CONFIGS", "make_gan", "main"]

if __name__ == "__main__":
    sys.exit(main())
