"""Environment throughput table (SPEC section 6): a thin entry point for ``hrm_mazes.throughput``.

    python benchmarks/env_throughput.py --seconds 3      # same as: hrm-mazes bench-env --seconds 3
"""

import sys

from hrm_mazes.throughput import main

if __name__ == "__main__":
    sys.exit(main())
