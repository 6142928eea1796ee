"""``python -m minigan.app.bench``: the ``minigan bench`` command."""

import sys

from .command import main

sys.exit(main())
