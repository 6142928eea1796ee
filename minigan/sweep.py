"""Moved to ``minigan.app.sweep`` (the ``sweep`` command); this old path keeps working: it is that module."""

import sys

from .app import sweep as _moved

sys.modules[__name__] = _moved
