"""``python -m benchmarks [--quick | --full]``: see benchmarks/README.md."""

import sys

from benchmarks.run import main

sys.exit(main())
