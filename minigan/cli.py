"""Moved to ``minigan.app.train`` (the ``train`` command and the run driver); this old path keeps working: it is that module."""

import sys

from .app import train as _moved

sys.modules[__name__] = _moved
