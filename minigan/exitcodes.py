"""Moved to ``minigan.app.exitcodes`` (the exit codes of every command);
this old path keeps working: it is that module."""

import sys

from .app import exitcodes as _moved

sys.modules[__name__] = _moved
