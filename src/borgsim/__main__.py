"""``python -m borgsim``: see :mod:`borgsim.cli`."""
import sys

from .cli import main

sys.exit(main())
