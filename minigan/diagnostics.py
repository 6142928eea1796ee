"""Moved to ``minigan.app.diagnostics`` (the training diagnostics);
this old path keeps working: it is that module."""

import sys

from .app import diagnostics as _moved

sys.modules[__name__] = _moved
