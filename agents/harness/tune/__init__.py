"""The tune wing of the harness: ``hrm-mazes tune``.

=================  ======================================================================  ==========
module             job                                                                     torch?
=================  ======================================================================  ==========
``study``          Optuna studies over ``train`` runs, workers through the runner:         yes
                   best.yaml, study.csv, summary.md; :func:`tune`, the command's one call
``search_spaces``  what a study samples per algorithm                                      no
=================  ======================================================================  ==========

The options of ``tune``, :class:`~agents.harness.config.TuneConfig`, are declared with train's in
:mod:`agents.harness.config`; the workers run through :mod:`agents.harness.runner`, shared with the benchmark and
the demo.

``from agents.harness.tune import tune, TuneConfig`` works, but the names are imported lazily, so that
``import agents.harness.tune.search_spaces`` imports neither torch nor Optuna.
"""

from __future__ import annotations

from agents._lazy import lazy_exports

_LAZY = {"tune": "agents.harness.tune.study", "TuneResult": "agents.harness.tune.study", "TuneConfig": "agents.harness.config"}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
