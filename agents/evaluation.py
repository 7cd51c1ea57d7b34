"""Old import path of :mod:`agents.harness.evaluation`, with the players' old names (``ModelPolicy`` is now
:class:`~agents.harness.evaluation.ModelPlayer`, ...). Kept only until ``examples/train_hrm_dqn.py`` imports
from :mod:`agents.harness.evaluation`; new code should do the same."""

from agents.harness.evaluation import EVAL_SEED_OFFSET, ModelPlayer, OraclePlayer, RandomPlayer, evaluate, format_ci

ModelPolicy, OraclePolicy, RandomPolicy = ModelPlayer, OraclePlayer, RandomPlayer

__all__ = ["EVAL_SEED_OFFSET", "ModelPolicy", "OraclePolicy", "RandomPolicy", "evaluate", "format_ci"]
