"""Moved to ``minigan.figures.plots`` (the figures of a run);
this old path keeps working: it is that module."""

import sys

from .figures import plots as _moved

sys.modules[__name__] = _moved
