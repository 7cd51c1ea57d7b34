"""Old import path of :mod:`agents.harness.models`, kept for one reason: models saved before the harness moved to
``agents/harness/`` pickled their feature extractor as ``agents.baselines.GridCNN``, and still load with it.
New code imports from :mod:`agents.harness.models`."""

from agents.harness.models import GridCNN

__all__ = ["GridCNN"]
