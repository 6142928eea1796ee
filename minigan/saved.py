"""Moved to ``minigan.app.sample_eval`` (the ``sample`` and ``eval`` commands);
this old path keeps working: it is that module."""

import sys

from .app import sample_eval as _moved

sys.modules[__name__] = _moved
