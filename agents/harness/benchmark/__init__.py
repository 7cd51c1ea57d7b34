"""The benchmark wing of the harness: ``hrm-mazes benchmark``.

=============  =========================================================================  ==========
module         job                                                                        torch?
=============  =========================================================================  ==========
``suites``     suite files (YAML), checked key by key; the runs they list                 no
``trials``     a suite's trials through :mod:`agents.harness.runner`; ``--resume``;        on use
               :func:`run_suite`, the command's one call
``report``     the results table, CSV / JSON and learning curves of a benchmark           on use
=============  =========================================================================  ==========

Shared with the rest of the harness, and so not here: :mod:`agents.harness.runner` (also tune's workers and the
demo's trainings) and :mod:`agents.harness.aggregate` (the rliable statistics, also read by
``benchmarks/score_table.py`` and ``benchmarks/suite_curves.py``).

``from agents.harness.benchmark import run_suite, load_suite`` works, but the names are imported lazily, so that
``import agents.harness.benchmark.suites`` costs only that module.
"""

from __future__ import annotations

from agents._lazy import lazy_exports

_LAZY = {"run_suite": "agents.harness.benchmark.trials", "load_suite": "agents.harness.benchmark.suites"}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
