"""Moved to ``minigan.app.train`` (the ``train`` command; the run driver it calls is
``minigan.app.run``, whose names it also holds); this old path keeps working: it is that module."""

import sys

from .app import train as _moved

sys.modules[__name__] = _moved
