"""``python -m scheduling.bench``: the benchmark's command (see ``scheduling.bench.cli``)."""
import sys

from .cli import main

sys.exit(main())
