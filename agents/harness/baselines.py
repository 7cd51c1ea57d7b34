"""Old name of :mod:`agents.harness.models`, kept for one reason: models saved before the rename pickled their
feature extractor as ``agents.harness.baselines.GridCNN`` (SB3 stores ``policy_kwargs`` classes by reference), and
still load with it. New code imports from :mod:`agents.harness.models`."""

from agents.harness.models import GridCNN

__all__ = ["GridCNN"]
