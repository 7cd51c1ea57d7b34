"""Statistics over training seeds after Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the
Statistical Precipice" (NeurIPS), with the estimators of their library ``rliable``.

For each (label, env) the per-seed final success rates give

- the **interquartile mean** (IQM: the mean of the middle 50% of the seeds, ``rliable.metrics.aggregate_iqm``) with
  a 95% percentile **stratified bootstrap** interval over seeds;
- for pairs of labels on the same env, the **probability of improvement** P(X > Y): the chance that a seed of X
  beats a seed of Y, ties counting half (the Mann-Whitney U statistic over ``n_x * n_y``,
  ``rliable.metrics.probability_of_improvement``), with its 95% bootstrap interval (each side resampled on its own).

The bootstrap is rliable's ``get_interval_estimates`` with ``method="percentile"`` for one task, where stratifying
by task means resampling seeds with replacement. It is the within-run intervals' percentile bootstrap
(:func:`agents.harness.evaluation.percentile_bootstrap`: a numpy ``Generator``) with vectorised statistics
(equal to rliable's, tested) because ``rliable.library`` 1.2 cannot be imported with ``arch`` 8 (it passes
``random_state``, which arch 8 removed), and arch 7 cannot be imported with pandas 3; its resampling also draws from
numpy's global random state, which a fixed seed here avoids touching. A single seed has no interval: it is reported
as ``None`` (``null`` in JSON), never as a zero-width one.

:func:`aggregate_runs` takes the ``runs`` rows of a benchmark's ``results.json``, so scripts can recompute these
statistics from committed results.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import numpy as np
import scipy.stats

from agents.harness.evaluation import METRICS, SEED_BOUNDS, WITHIN_RUN_CI, percentile_bootstrap, t_interval

REPS = 2000  # bootstrap resamples
RNG_SEED = 0  # every interval uses this seed: the same scores always give the same interval
CONFIDENCE = 0.95
METRIC = "success_rate"
REFERENCE = "Agarwal et al. 2021, Deep RL at the Edge of the Statistical Precipice (rliable)"
NO_INTERVAL = "not defined with one seed"
QUANTILES = ((1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2)  # the interval's ends among the bootstrap replicates


def iqm(scores: Sequence[float]) -> float:
    """Interquartile mean of one label's per-seed scores (``rliable.metrics.aggregate_iqm``)."""
    from rliable import metrics

    return float(metrics.aggregate_iqm(_column(scores)))


def probability_of_improvement(scores_x: Sequence[float], scores_y: Sequence[float]) -> float:
    """P(X > Y) over the seeds of X and Y, ties counting 1/2 (``rliable.metrics.probability_of_improvement``)."""
    from rliable import metrics

    return float(metrics.probability_of_improvement(_column(scores_x), _column(scores_y)))


def iqm_interval(scores: Sequence[float], reps: int = REPS, seed: int = RNG_SEED) -> list[float] | None:
    """95% percentile stratified-bootstrap interval of :func:`iqm`; None for fewer than two seeds."""
    x = np.asarray(scores, dtype=float)
    if len(x) < 2:
        return None
    return list(percentile_bootstrap(partial(iqm_replicates, x), [len(x)], reps, seed, QUANTILES))


def improvement_interval(scores_x: Sequence[float], scores_y: Sequence[float], reps: int = REPS, seed: int = RNG_SEED) -> list[float] | None:
    """95% bootstrap interval of :func:`probability_of_improvement`, X's and Y's seeds resampled independently
    (rliable's ``StratifiedIndependentBootstrap``); None unless both sides have two seeds or more."""
    x, y = np.asarray(scores_x, dtype=float), np.asarray(scores_y, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return None
    return list(percentile_bootstrap(partial(improvement_replicates, x, y), [len(x), len(y)], reps, seed, QUANTILES))


def iqm_replicates(x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """:func:`iqm` of each resample ``x[indices[r]]`` at once: ``(reps,)``."""
    return scipy.stats.trim_mean(x[indices], proportiontocut=0.25, axis=1)


def improvement_replicates(x: np.ndarray, y: np.ndarray, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """:func:`probability_of_improvement` of each pair of resamples ``(x[ix[r]], y[iy[r]])`` at once: ``(reps,)``.

    Identical resamples give 1/2 here as in rliable (which special-cases them): the pair count is symmetric then.
    """
    xs, ys = x[ix][:, :, None], y[iy][:, None, :]
    return ((xs > ys) + 0.5 * (xs == ys)).mean(axis=(1, 2))


def aggregate_runs(
    rows: Iterable[dict[str, Any]],
    compare: Sequence[Sequence[str]] | None = None,
    reps: int = REPS,
    seed: int = RNG_SEED,
) -> dict[str, Any]:
    """IQM per (label, env) and probabilities of improvement per pair of labels on each env.

    :param rows: one dict per training run with ``label``, ``env_id`` and ``success_rate`` (the ``runs`` of a
        benchmark's ``results.json``); rows are grouped in the order they come.
    :param compare: the ``(x, y)`` pairs to compare on every env holding both; default: every pair of labels on
        the env, in the order they first come.
    :return: ``{"metric", "method", "iqm": [...], "probability_of_improvement": [...]}``; each ``ci`` is
        ``[lo, hi]``, or None with a ``note`` where it is not defined (one seed).
    """
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        groups.setdefault((str(row["label"]), str(row["env_id"])), []).append(float(row[METRIC]))
    labels = list(dict.fromkeys(label for label, _ in groups))
    if compare is not None:
        for pair in compare:
            unknown = [label for label in pair if label not in labels]
            if len(pair) != 2 or unknown:
                raise ValueError(f"compare pair {list(pair)}: expected two of the labels {labels}")
    iqms = []
    for (label, env_id), scores in groups.items():
        ci = iqm_interval(scores, reps, seed)
        iqms.append({"label": label, "env_id": env_id, "n_seeds": len(scores), "scores": scores, "iqm": iqm(scores),
                     "ci": ci, **({} if ci else {"note": NO_INTERVAL})})  # fmt: skip
    improvements = []
    for env_id in dict.fromkeys(env for _, env in groups):
        on_env = [label for label in labels if (label, env_id) in groups]
        pairs = itertools.combinations(on_env, 2) if compare is None else [p for p in compare if all(q in on_env for q in p)]
        for x, y in pairs:
            sx, sy = groups[x, env_id], groups[y, env_id]
            ci = improvement_interval(sx, sy, reps, seed)
            improvements.append({"env_id": env_id, "x": x, "y": y, "n_x": len(sx), "n_y": len(sy),
                                 "probability": probability_of_improvement(sx, sy),
                                 "ci": ci, **({} if ci else {"note": NO_INTERVAL})})  # fmt: skip
    return {
        "metric": METRIC,
        "method": {
            "reference": REFERENCE,
            "iqm": "interquartile mean over seeds (rliable.metrics.aggregate_iqm)",
            "probability_of_improvement": "P(X > Y) over pairs of seeds, ties 1/2 (rliable.metrics.probability_of_improvement)",
            "interval": f"{CONFIDENCE:.0%} percentile stratified bootstrap over seeds",
            "reps": reps,
            "rng_seed": seed,
        },
        "iqm": iqms,
        "probability_of_improvement": improvements,
    }


def markdown_sections(aggregates: dict[str, Any], env_id: str) -> list[str]:
    """The Markdown lines of one env's IQM table and probability-of-improvement table."""
    rows = [r for r in aggregates["iqm"] if r["env_id"] == env_id]
    if not rows:
        return []
    reps = aggregates["method"]["reps"]
    lines = [
        "", "### Over training seeds (rliable)", "",
        f"Interquartile mean (IQM: the mean of the middle half of the seeds) of the per-seed success rates, with a "
        f"95% stratified-bootstrap CI ({reps:,} resamples of the seeds, fixed seed). P(X > Y): the probability that a "
        f"seed of X scores above a seed of Y (ties count 1/2; 0.5 = no difference), with its 95% bootstrap CI. "
        f"One seed has no interval.",
        "", "| agent | seeds | IQM success rate | 95% CI |", "| --- | ---: | ---: | --- |",
    ]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['label']} | {r['n_seeds']} | {100 * r['iqm']:.1f}% | {ci_text(r['ci'], 100, 1)} |")
    pairs = [p for p in aggregates["probability_of_improvement"] if p["env_id"] == env_id]
    if pairs:
        lines += ["", "| X | Y | P(X > Y) | 95% CI |", "| --- | --- | ---: | --- |"]
        for p in pairs:
            lines.append(f"| {p['x']} | {p['y']} | {p['probability']:.2f} | {ci_text(p['ci'], 1, 2)} |")
    return lines


def ci_text(ci: list[float] | None, scale: float, digits: int) -> str:
    """``[lo, hi]`` times ``scale`` with ``digits`` decimals, or the note that one seed has no interval."""
    return NO_INTERVAL if ci is None else f"[{ci[0] * scale:.{digits}f}, {ci[1] * scale:.{digits}f}]"


def _column(scores: Sequence[float]) -> np.ndarray:
    """Scores as rliable's ``(num_runs, num_tasks)`` matrix with one task."""
    return np.asarray(scores, dtype=float).reshape(-1, 1)


def across_seeds(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95% CI of each metric of :func:`agents.harness.evaluation.summarize` over training seeds
    (Student-t, the few-seed counterpart of :func:`aggregate_runs`' IQM); one seed keeps its within-run CI.

    :return: per metric ``{"mean", "ci": [lo, hi], "per_seed": [...]}``, plus ``n_seeds``.
    """
    out: dict[str, Any] = {"n_seeds": len(summaries)}
    for metric in METRICS:
        values = [s[metric] for s in summaries if metric in s]
        if not values:
            continue
        finite = [v for v in values if not math.isnan(v)]
        mean = float(np.mean(finite)) if finite else math.nan
        if len(summaries) == 1:
            ci = summaries[0].get(WITHIN_RUN_CI[metric], [math.nan, math.nan])
        else:
            ci = list(t_interval(finite)) if len(finite) >= 2 else [math.nan, math.nan]
            low, high = SEED_BOUNDS[metric]
            if not any(math.isnan(c) for c in ci):
                ci = [max(low, ci[0]), min(high, ci[1])]
        out[metric] = {"mean": mean, "ci": [float(ci[0]), float(ci[1])], "per_seed": values}
    return out
