"""The callback of every training run: progress bar, periodic greedy evaluation, checkpoints, wall-clock cap."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from agents.harness.algos import get_algo, optimizer_steps
from agents.harness.checkpoints import RunState, save_checkpoint
from agents.harness.config import TrainConfig
from agents.harness.encodings import env_encoding, make_env
from agents.harness.evaluation import VALIDATION_SEED_OFFSET, ModelPlayer, evaluate, headline
from agents.harness.progress import progress_bar
from agents.harness.rundir import RunPaths, append_eval_row, read_eval_rows, save_model_atomic, write_atomic


class TrainingCallback(BaseCallback):
    """Progress bar, periodic greedy evaluation and checkpoints, all keyed on env steps.

    Evaluations play validation episodes (``VALIDATION_SEED_OFFSET``, disjoint from the test episodes of
    ``hrm-mazes evaluate``), append a row to ``evaluations.csv`` and log ``eval/...``; the model of the best one so
    far (highest success rate, the earlier on a tie) is ``best_model.zip``, as SB3's ``EvalCallback`` keeps it,
    with ``best_model.json`` saying which evaluation it was. Checkpoints are taken between rollouts,
    so every collected transition is stored and trained on, and a resumed run loses only the training envs'
    unfinished episodes (PPO's rollout buffer is empty there too). A resumed run evaluates at every evaluation
    point after its last ``evaluations.csv`` row, including one an interruption cut off.

    Everything it needs to know about the run is the run's resolved config (:func:`agents.harness.training.resolve_fresh`):
    the algorithm (progress bar, evaluation player, whether checkpoints hold a replay buffer), the env and encoding
    of the evaluations (the training envs'), the env-step budget (the bar's total), ``eval_freq`` /
    ``eval_episodes`` / ``checkpoint_freq``, ``progress`` and ``max_wall_s`` (stop training, ``time_limited``, once
    the run's wall-clock seconds pass it).

    :param run: the resolved :class:`~agents.harness.config.TrainConfig` of the run.
    :param paths: the run directory.
    :param state: the run's checkpoint state; its ``wall_time_s`` is the time spent before this session.
    """

    def __init__(self, run: TrainConfig, paths: RunPaths, state: RunState) -> None:
        super().__init__()
        self.algo, self.env_id, self.encoding = run.algo, run.env_id, env_encoding(run.hyperparams or {})
        self.paths, self.state = paths, state
        self.total_steps = run.steps
        self.eval_freq, self.eval_episodes, self.checkpoint_freq = run.eval_freq, run.eval_episodes, run.checkpoint_freq
        self.off_policy = get_algo(run.algo).off_policy
        self.progress = run.progress
        self.max_wall_s = run.max_wall_s
        self.bar = None
        self.started = time.perf_counter()
        self.wall_before = state.wall_time_s
        self.last_eval = math.nan
        self.best_eval = _best_so_far(paths)
        self.next_eval = 0
        self.next_checkpoint = 0
        self.time_limited = False

    def wall_time(self) -> float:
        """Seconds of training in this run, earlier sessions included."""
        return self.wall_before + time.perf_counter() - self.started

    # --- SB3 hooks ----------------------------------------------------------------------------------------------

    def _on_training_start(self) -> None:
        now = self.model.num_timesteps
        rows = read_eval_rows(self.paths.evaluations)
        evaluated = int(rows[-1]["env_steps"]) if rows else 0
        self.next_eval = (evaluated // self.eval_freq + 1) * self.eval_freq
        self.next_checkpoint = (now // self.checkpoint_freq + 1) * self.checkpoint_freq
        if self.progress:
            self.bar = progress_bar(self.total_steps, f"{self.algo} {self.env_id}", unit="step", initial=now)
        if self.next_eval <= now:  # the evaluation at this point was cut off before its row was written
            self.evaluate()
            self.next_eval = (now // self.eval_freq + 1) * self.eval_freq

    def _on_step(self) -> bool:
        steps = self.model.num_timesteps
        if self.bar is not None:
            if self.n_calls % 50 == 0:
                self.bar.set_postfix_str(self.postfix(), refresh=False)
            self.bar.update(steps - self.bar.n)
        if self.max_wall_s is not None and self.wall_time() >= self.max_wall_s:
            self.time_limited = True
            return False
        if steps >= self.next_eval:
            self.evaluate()
            self.next_eval = (steps // self.eval_freq + 1) * self.eval_freq
        return True

    def _on_rollout_start(self) -> None:
        steps = self.model.num_timesteps
        if steps >= self.next_checkpoint:
            self.save_checkpoint()
            self.next_checkpoint = (steps // self.checkpoint_freq + 1) * self.checkpoint_freq

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(self.postfix())
        self.close_bar()

    # --- the work -----------------------------------------------------------------------------------------------

    def save_best(self, row: dict[str, Any]) -> None:
        """``best_model.zip`` (written beside, then renamed) and ``best_model.json`` for the evaluation ``row``."""
        save_model_atomic(self.model, self.paths.best_model)
        info = {**row, "seed_offset": VALIDATION_SEED_OFFSET, "episodes": self.eval_episodes}
        write_atomic(self.paths.best_model_info, json.dumps(info, indent=1) + "\n")
        self.best_eval = row["success_rate"]

    def evaluate(self) -> None:
        """Greedy evaluation now: a row in ``evaluations.csv`` and ``eval/...`` in the logs."""
        result = evaluate(
            ModelPlayer(self.model, self.algo),
            self.env_id,
            episodes=self.eval_episodes,
            env_fn=lambda: make_env(self.env_id, **self.encoding),
            env_kwargs=self.encoding["env_kwargs"],
            n_parallel=min(64, self.eval_episodes),
            seed_offset=VALIDATION_SEED_OFFSET,
        )
        s = result.summary
        self.last_eval = s["success_rate"]
        row = {
            "env_steps": self.model.num_timesteps,
            "optimizer_steps": optimizer_steps(self.model),
            "wall_time_s": round(self.wall_time(), 2),
            **headline(s),
        }
        append_eval_row(self.paths.evaluations, row)
        if s["success_rate"] > self.best_eval:
            self.save_best(row)
        for key in ("success_rate", "mean_length", "path_efficiency"):
            if not math.isnan(s[key]):
                self.logger.record(f"eval/{key}", s[key])
        self.logger.record("charts/env_steps", row["env_steps"])
        self.logger.record("charts/optimizer_steps", row["optimizer_steps"])
        self.logger.dump(self.model.num_timesteps)
        if self.bar is not None:
            self.bar.set_postfix_str(self.postfix())

    def save_checkpoint(self) -> None:
        save_checkpoint(self.model, self.paths, self.state, self.off_policy, self.wall_time())

    def postfix(self) -> str:
        """The progress bar's live numbers: training success, last greedy evaluation, epsilon."""
        buf = list(getattr(self.model, "ep_success_buffer", []))
        parts = [f"success(train)={100 * sum(buf) / len(buf):.0f}%" if buf else "success(train)=-"]
        if not math.isnan(self.last_eval):
            parts.append(f"eval={100 * self.last_eval:.0f}%")
        if hasattr(self.model, "exploration_rate") and self.off_policy:
            parts.append(f"eps={self.model.exploration_rate:.2f}")
        return " ".join(parts)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _best_so_far(paths: RunPaths) -> float:
    """The success rate ``best_model.zip`` was kept for (a resumed run goes on from it); -inf without one."""
    try:
        return float(json.loads(paths.best_model_info.read_text())["success_rate"])
    except (OSError, ValueError, KeyError, TypeError):
        return -math.inf
