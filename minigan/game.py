"""Moved to ``minigan.figures.game`` (the figures of the game);
this old path keeps working: it is that module."""

import sys

from .figures import game as _moved

sys.modules[__name__] = _moved
