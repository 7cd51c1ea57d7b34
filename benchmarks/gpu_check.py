"""The one-shot GPU check: everything to measure on a lent GPU, as one command that ends within its budget.

A GPU is lent for ~15 minutes of machine time in all (SPEC section 6), so this is the one prepared command
(<= 10 minutes, default budget ``--minutes 9``) that runs on it, in four phases, each with its own cap:

1. **CUDA tests**: ``python -m pytest -q -m cuda tests`` in a subprocess, killed at ``--pytest-minutes``;
   pass / fail / skip / error counts. With ``--tiny`` (the dry run) it only collects them (``--collect-only``).
2. **HRM-DQN optimizer steps/s** at the paper's size (``agents/configs/hrm-dqn.yaml``: d 64, 4+4 blocks, 2x2
   cycles, 8 segments, batch 256, 256 envs), in bf16 autocast and in float32: ``make_learner`` and ``measure``
   of ``benchmarks/hrm_throughput.py`` (the full ``HRMDQN.learn`` loop, and the network's work alone).
3. **Batched env steps/s** of both envs at a few batch sizes (``hrm_mazes.throughput.bench_vector``).
4. **Training**: the paper-size HRM-DQN on ``--env`` (default FourRooms-Dynamic-v0) through the harness
   (:func:`agents.harness.training.train`, what ``hrm-mazes train`` runs) for ``--train-minutes``, with periodic
   greedy evaluations on validation seeds (spaced from phase 2's measured rate to give about ``--evals`` of
   them), then the final model on ``--test-episodes`` test episodes. Training gets what is left of
   ``--minutes`` after the earlier phases and a reserve for the final evaluation, at most ``--train-minutes``.

Outputs: ``<out>/gpu_check.json`` and ``<out>/gpu_check.md`` (device, versions, date, command line, every
measurement; rewritten after each phase, so a run cut short keeps what it measured), a copy of the final model
``<out>/gpu_check_model.zip``, and the training run directory (``--run-dir``, default ``<out>/gpu_check_run``).
An existing result is never overwritten: the names get a suffix (``gpu_check-2.json``, ...). Exit status 0 when
every phase ran and passed, 1 otherwise, 2 for a command line that cannot run (CUDA missing, ...: one line).

    bash benchmarks/gpu_check.sh                              # on the day a GPU is lent (docs/cuda.md)
    python benchmarks/gpu_check.py --device cpu --tiny        # dry run of every phase on a CPU (tiny sizes)
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PHASES = {"tests": "cuda_tests", "hrm": "hrm_steps", "env": "env_steps", "train": "training"}  # --skip name -> key
TITLES = {
    "cuda_tests": "CUDA tests",
    "hrm_steps": "HRM-DQN optimizer steps/s",
    "env_steps": "batched env steps/s",
    "training": "training and test evaluation",
}
# Per-phase defaults: the real check, and the dry run (--tiny: tiny sizes, seconds per phase).
FULL = dict(pytest_minutes=2.5, hrm_seconds=15.0, env_seconds=1.5, env_sizes=[256, 4096, 16384], train_minutes=4.0,
            evals=6, val_episodes=100, test_episodes=500)  # fmt: skip
TINY = dict(pytest_minutes=1.5, hrm_seconds=1.0, env_seconds=0.2, env_sizes=[16, 256], train_minutes=0.1,
            evals=2, val_episodes=10, test_episodes=20)  # fmt: skip
# The model: the paper's preset, or the CPU preset shrunk further for the dry run.
PAPER_CONFIG, TINY_CONFIG = "paper", "cpu-small"
TINY_OVERRIDES = dict(n_envs=4, batch_size=8, learning_starts=64, buffer_size=5000)
RESERVE_S = {False: 75.0, True: 5.0}  # after training: final validation evaluation, checkpoint, test evaluation
MIN_TRAIN_S = {False: 30.0, True: 2.0}  # less left than this: training is skipped
NEVER = 10**12  # checkpoint_freq: only the final checkpoint (the paper's 1M replay buffer is ~0.8 GB)


# --- the command line -----------------------------------------------------------------------------------------


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line ``gpu_check: error: ...`` and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--device", choices=["cuda", "cpu"], default="cuda", help="torch device (default cuda; cpu needs --tiny)"
    )
    p.add_argument("--tiny", action="store_true", help="dry run: tiny sizes, seconds per phase, tests only collected")
    p.add_argument("--out", default="results/gpu", help="folder of gpu_check.json / .md (default results/gpu)")
    p.add_argument("--run-dir", help="training run directory (default <out>/gpu_check_run)")
    p.add_argument("--minutes", type=positive(float), default=9.0, help="budget of the whole check (default 9)")
    p.add_argument("--env", default="FourRooms-Dynamic-v0", help="env of phases 2 and 4 (default FourRooms-Dynamic-v0)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument("--tests", nargs="+", default=["tests"], help="test paths of phase 1 (default tests)")
    p.add_argument("--skip", nargs="+", choices=list(PHASES), default=[], help="phases to leave out")
    p.add_argument(
        "--pytest-minutes", type=positive(float), help=f"phase 1 time limit (default {FULL['pytest_minutes']})"
    )
    p.add_argument(
        "--hrm-seconds",
        type=positive(float),
        help=f"phase 2 timed seconds per precision (default {FULL['hrm_seconds']:g})",
    )
    p.add_argument(
        "--env-seconds", type=positive(float), help=f"phase 3 timed seconds per row (default {FULL['env_seconds']})"
    )
    p.add_argument("--env-sizes", type=positive(int), nargs="+", help="phase 3 batch sizes (default 256 4096 16384)")
    p.add_argument(
        "--train-minutes", type=positive(float), help=f"phase 4 training cap (default {FULL['train_minutes']:g})"
    )
    p.add_argument("--evals", type=positive(int), help=f"phase 4 periodic evaluations, about (default {FULL['evals']})")
    p.add_argument(
        "--val-episodes",
        type=positive(int),
        help=f"validation episodes per evaluation (default {FULL['val_episodes']})",
    )
    p.add_argument(
        "--test-episodes",
        type=positive(int),
        help=f"test episodes of the final model (default {FULL['test_episodes']})",
    )
    return p


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    for key, value in (TINY if args.tiny else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


# --- where results go -----------------------------------------------------------------------------------------


@dataclass
class Outputs:
    json: Path
    markdown: Path
    model: Path
    run_dir: Path


def free_outputs(out: Path, run_dir: str | None) -> Outputs:
    """The output names with the first suffix (none, ``-2``, ``-3``...) under which none of them exists yet."""
    k = 1
    while True:
        suffix = "" if k == 1 else f"-{k}"
        outputs = Outputs(out / f"gpu_check{suffix}.json", out / f"gpu_check{suffix}.md",
                          out / f"gpu_check_model{suffix}.zip",
                          Path(run_dir) if run_dir else out / f"gpu_check_run{suffix}")  # fmt: skip
        taken = [outputs.json, outputs.markdown, outputs.model] + ([] if run_dir else [outputs.run_dir])
        if not any(p.exists() for p in taken):
            return outputs
        k += 1


def clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities as null, numpy scalars and paths as plain values."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- the check --------------------------------------------------------------------------------------------------


@dataclass
class Check:
    """One run of the check: its options, deadline, outputs and the report written after every phase."""

    args: argparse.Namespace
    outputs: Outputs
    deadline: float
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def phases(self) -> dict[str, Any]:
        return self.report["phases"]

    def left_s(self) -> float:
        return self.deadline - time.perf_counter()

    def write(self) -> None:
        self.outputs.json.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((self.outputs.json, json.dumps(clean(self.report), indent=1) + "\n"),
                           (self.outputs.markdown, render_markdown(clean(self.report)))):  # fmt: skip
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)


def device_record(device: str) -> dict[str, Any]:
    """The device, torch / CUDA versions and the host, for the report."""
    import torch

    from agents.harness.runtime import environment_record

    record = environment_record()
    info: dict[str, Any] = {"type": device, "torch": torch.__version__, "cuda": torch.version.cuda,
                            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}  # fmt: skip
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(name=props.name, capability=f"{props.major}.{props.minor}", memory_gib=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count, matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
                    cudnn_allow_tf32=torch.backends.cudnn.allow_tf32)  # fmt: skip
    else:
        info["name"] = record["host"]["cpu"]
    return {"device": info, "host": record["host"], "versions": record["versions"]}


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def sibling(name: str) -> Any:
    """A script beside this one as a module (benchmarks/ is no package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def training_hyperparams(args: argparse.Namespace) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The training preset, its overrides, and the hyperparameters they give (phases 2 and 4 share them)."""
    from agents.harness.hyperparams import apply_overrides, load_preset

    config, overrides = (TINY_CONFIG, dict(TINY_OVERRIDES)) if args.tiny else (PAPER_CONFIG, {})
    hyperparams, _ = load_preset("hrm-dqn", args.env, config)
    return config, overrides, apply_overrides(hyperparams, overrides)


# --- phase 1: the CUDA tests ------------------------------------------------------------------------------------

_COUNT = re.compile(r"(\d+) (passed|failed|skipped|deselected|xfailed|xpassed|errors?|warnings?)\b")
_COLLECTED = re.compile(r"(\d+)(?:/\d+)? tests? collected")


def parse_pytest(lines: list[str]) -> dict[str, int]:
    """Counts of pytest's last summary line (``3 passed, 851 deselected in 30s``; ``3/854 tests collected``), and
    ``collection_errors``: test files that could not be imported (short summary lines ``ERROR path - ...``)."""
    counts = {k: 0 for k in ("passed", "failed", "skipped", "errors", "deselected", "collected")}
    for line in reversed(lines):
        found = _COUNT.findall(line)
        collected = _COLLECTED.search(line)
        if found or collected or "no tests ran" in line:
            for n, word in found:
                word = {"error": "errors", "warning": "warnings"}.get(word, word)
                counts[word] = int(n)
            if collected:
                counts["collected"] = int(collected.group(1))
            break
    counts["collection_errors"] = sum(
        1 for line in lines if line.startswith("ERROR ") and "::" not in line.split(" - ")[0]
    )
    return counts


def phase_tests(check: Check) -> dict[str, Any]:
    args = check.args
    command = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", "-rfE",
               "--continue-on-collection-errors", *(["--collect-only"] if args.tiny else []), *args.tests]  # fmt: skip
    limit = args.pytest_minutes * 60
    shown = shlex.join(["python", *command[1:]])
    print(f"  {shown}   (limit {limit:.0f} s)", flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # its lines as they come, not all at the end
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines: list[str] = []

    def pump() -> None:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            print("    " + lines[-1], flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        rc, timed_out = proc.wait(timeout=limit), False
    except subprocess.TimeoutExpired:
        proc.kill()
        rc, timed_out = proc.wait(), True
        print(f"  pytest killed at its time limit ({limit:.0f} s)", flush=True)
    reader.join(timeout=10)
    counts = parse_pytest(lines)
    test_errors = counts["errors"] - counts["collection_errors"]
    if args.tiny:
        ok = rc == 0 and counts["collected"] > 0
    else:
        ok = not timed_out and counts["failed"] == 0 and test_errors <= 0 and counts["passed"] > 0
    return {"status": "ok" if ok else "failed", "command": shown, "collect_only": args.tiny, "exit_code": rc,
            "timed_out": timed_out, "limit_s": limit, **counts, "tail": lines[-30:]}  # fmt: skip


# --- phase 2: HRM-DQN optimizer steps/s -------------------------------------------------------------------------


def phase_hrm(check: Check) -> dict[str, Any]:
    """bf16 autocast and float32 on one learner: ms per optimizer step from ``hrm_throughput.measure``."""
    args = check.args
    hrm_throughput = sibling("hrm_throughput")
    _, _, hp = training_hyperparams(args)
    size = "cpu" if args.tiny else "paper"  # hrm_throughput's name of the preset
    batch, n_envs = int(hp["batch_size"]), int(hp["n_envs"])
    print(f"  building the {size}-size learner: batch {batch}, {n_envs} envs, {args.env} ...", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = hrm_throughput.make_learner(size, args.device, batch, n_envs, args.env, args.seed)
    cfg = model.policy.config
    updates_per_collection = cfg.segments * model.gradient_steps
    rows = []
    for precision in ("bf16", "float32"):
        model.policy.autocast_bf16 = precision == "bf16"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = hrm_throughput.measure(model, args.device, args.hrm_seconds, rounds=3)
        row = {
            "precision": precision,
            "optimizer_steps_per_s": 1e3 / r["b"],  # the whole HRMDQN.learn loop
            "env_steps_per_s": n_envs / updates_per_collection * 1e3 / r["b"],
            "network_optimizer_steps_per_s": 1e3 / r["a"],  # the network's work alone, (a)
            "learn_ms": r["b"], "network_ms": r["a"], "acting_ms": r["act"],
            "overhead_ratio": r["ratio_net"], "timed_optimizer_steps": r["steps"],
        }  # fmt: skip
        rows.append(row)
        print(f"  {precision:>7}: {row['optimizer_steps_per_s']:,.1f} optimizer steps/s ({row['env_steps_per_s']:,.0f} "
              f"env steps/s) in HRMDQN.learn; network alone {row['network_optimizer_steps_per_s']:,.1f}/s", flush=True)  # fmt: skip
    model.policy.autocast_bf16 = None
    model.env.close()
    model_fields = ("d_model", "num_heads", "H_layers", "L_layers", "H_cycles", "L_cycles", "segments", "mlp_width")
    return {"status": "ok", "env_id": args.env, "size": size, "batch_size": batch, "n_envs": n_envs,
            "model": {k: getattr(cfg, k) for k in model_fields},
            "parameters": sum(p.numel() for p in model.q_net.parameters()), "seconds_per_precision": args.hrm_seconds,
            "rows": rows}  # fmt: skip


# --- phase 3: batched env steps/s -------------------------------------------------------------------------------


def phase_env(check: Check) -> dict[str, Any]:
    from hrm_mazes.throughput import ENV_IDS, TARGETS, bench_vector

    args = check.args
    warmup = min(1.0, max(0.1, args.env_seconds / 4))
    rows = []
    for env_id in (e for e in ENV_IDS if e in TARGETS):  # the envs with a SPEC target; the check's budget fits them
        for n in args.env_sizes:
            rate = bench_vector(env_id, n, "vector_entry_point", args.env_seconds, warmup)
            rows.append({"env_id": env_id, "num_envs": n, "steps_per_s": rate})
            print(f"  {env_id} N={n}: {rate:,.0f} steps/s", flush=True)
    return {"status": "ok", "seconds_per_row": args.env_seconds, "rows": rows}


# --- phase 4: training and the final evaluation -----------------------------------------------------------------


def phase_training(check: Check) -> dict[str, Any]:
    from agents.harness.config import TrainConfig
    from agents.harness.evaluation import evaluate
    from agents.harness.loading import load_agent
    from agents.harness.rundir import RunPaths, read_eval_rows
    from agents.harness.training import train
    from hrm_mazes.seeds import TEST

    args = check.args
    config, overrides, hp = training_hyperparams(args)
    n_envs = int(hp["n_envs"])
    train_s = min(args.train_minutes * 60, check.left_s() - RESERVE_S[args.tiny])
    if train_s < MIN_TRAIN_S[args.tiny]:
        return {"status": "skipped", "reason": f"{max(train_s, 0):.0f} s left of --minutes {args.minutes:g}"}
    # Evaluations every eval_freq env steps: about --evals of them at phase 2's rate (without it: every 100 vec steps).
    rows = check.phases.get("hrm_steps", {}).get("rows", [])
    precision = "bf16" if args.device == "cuda" else "float32"
    rate = next((r["env_steps_per_s"] for r in rows if r["precision"] == precision), None)
    eval_freq = int(rate * train_s / args.evals) if rate else 100 * n_envs
    eval_freq = max(n_envs, eval_freq // n_envs * n_envs)
    print(f"  {train_s:.0f} s of training, greedy evaluation of {args.val_episodes} validation episodes every "
          f"{eval_freq:,} env steps", flush=True)  # fmt: skip
    run = TrainConfig(algo="hrm-dqn", env_id=args.env, config=config, seed=args.seed, device=args.device,
                      out=check.outputs.run_dir, eval_freq=eval_freq, eval_episodes=args.val_episodes,
                      checkpoint_freq=NEVER, max_wall_s=train_s, overrides=overrides)  # fmt: skip
    result = train(run)
    evaluations = read_eval_rows(RunPaths(result.run_dir).evaluations)
    out: dict[str, Any] = {
        "status": "failed", "env_id": args.env, "config": config, "overrides": overrides, "seed": args.seed,
        "run_dir": result.run_dir, "max_train_s": train_s, "eval_freq": eval_freq, "val_episodes": args.val_episodes,
        "env_steps": result.env_steps, "optimizer_steps": result.optimizer_steps, "train_wall_s": result.wall_time_s,
        "time_limited": result.time_limited, "interrupted": result.interrupted, "evaluations": evaluations,
    }  # fmt: skip
    if result.model_path is None:
        return out
    shutil.copyfile(result.model_path, check.outputs.model)
    check.phases["training"] = {**out, "status": "running"}  # the training's numbers are kept if the rest is cut off
    check.write()
    print(f"  final model: {args.test_episodes} test episodes ...", flush=True)
    agent = load_agent(model=result.model_path, device=args.device)
    started = time.perf_counter()
    s = evaluate(agent.player, agent.env_id, args.test_episodes, env_fn=agent.env_fn,
                 env_kwargs=agent.encoding["env_kwargs"], seed_offset=TEST.start, n_parallel=64, progress=True).summary  # fmt: skip
    out["test"] = {"episodes": s["episodes"], "seed_offset": TEST.start, "success_rate": s["success_rate"],
                   "success_ci": s["success_ci"], "mean_length": s["mean_length"],
                   "path_efficiency": s.get("path_efficiency"), "wall_s": time.perf_counter() - started}  # fmt: skip
    out["status"] = "ok"
    print(f"  test success {100 * s['success_rate']:.1f}% over {s['episodes']} episodes after {result.env_steps:,} env "
          f"steps / {result.optimizer_steps:,} optimizer steps", flush=True)  # fmt: skip
    return out


PHASE_FUNCTIONS: dict[str, Callable[[Check], dict[str, Any]]] = {
    "cuda_tests": phase_tests, "hrm_steps": phase_hrm, "env_steps": phase_env, "training": phase_training,
}  # fmt: skip


# --- the Markdown report ----------------------------------------------------------------------------------------


def _num(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.{digits}g}"


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


META_KEYS = {"status", "error", "reason", "wall_s", "peak_gpu_memory_gib"}  # a phase's keys that are no measurement


def render_markdown(r: dict[str, Any]) -> str:
    """The report as Markdown: header, then one section per phase (whatever of it exists yet)."""
    d = r.get("device", {})
    lines = [
        "# One-shot GPU check" + (" (dry run, --tiny)" if r.get("dry_run") else ""),
        "",
        f"- date: {r.get('date')}",
        f"- device: {d.get('name')} ({d.get('type')}); torch {d.get('torch')}, CUDA {d.get('cuda')}, cuDNN {d.get('cudnn')}",
        f"- host: {r.get('host', {}).get('cpu')}, {r.get('host', {}).get('cpu_count')} CPUs; "
        f"python {r.get('versions', {}).get('python')}, commit {r.get('commit')}",
        f"- command: `{r.get('command')}`",
        f"- wall time: {_num(r.get('wall_s'))} s of a {r.get('budget_minutes')} min budget; status: {r.get('status')}",
        "",
    ]
    phases = r.get("phases", {})
    for number, key in enumerate(PHASE_FUNCTIONS, 1):
        p = phases.get(key)
        lines += [f"## {number}. {TITLES[key]}", ""]
        if p is None:
            lines += ["not reached", ""]
            continue
        note = p.get("error") or p.get("reason") or "cut off before it finished"
        if not set(p) - META_KEYS:  # nothing measured
            lines += [f"{p['status']}: {note}", ""]
            continue
        state = f"{p['status']}: {note}" if p["status"] in ("error", "running") else p["status"]
        memory = f", peak GPU memory {p['peak_gpu_memory_gib']:.1f} GiB" if p.get("peak_gpu_memory_gib") else ""
        lines += RENDER[key](p) + [f"({state}; {_num(p.get('wall_s'))} s{memory})", ""]
    outputs = r.get("outputs", {})
    lines += ["## Outputs", ""] + [f"- {k}: `{v}`" for k, v in outputs.items()] + [""]
    return "\n".join(lines)


def _render_tests(p: dict[str, Any]) -> list[str]:
    """``N passed, N failed, ...`` (a dry run: ``N collected, N deselected``)."""
    keys = ("collected", "deselected") if p["collect_only"] else ("passed", "failed", "skipped", "errors", "deselected")
    counts = ", ".join(f"{p[k]} {k}" for k in keys)
    extra = f"; {p['collection_errors']} test file(s) failed to import" if p.get("collection_errors") else ""
    timed = f"; killed at its {p['limit_s']:.0f} s limit" if p.get("timed_out") else ""
    return [f"`{p['command']}`: {counts} (exit {p['exit_code']}){extra}{timed}", ""]


def _render_hrm(p: dict[str, Any]) -> list[str]:
    m = p["model"]
    lines = [f"{p['env_id']}, {p['size']} size: d {m['d_model']}, {m['H_layers']}+{m['L_layers']} blocks, "
             f"{m['H_cycles']}x{m['L_cycles']} cycles, {m['segments']} segments, {p['parameters']:,} parameters; "
             f"batch {p['batch_size']}, {p['n_envs']} envs; ~{p['seconds_per_precision']:g} s timed per precision.", "",
             "| precision | optimizer steps/s (learn) | env steps/s (learn) | optimizer steps/s (network alone) "
             "| learn ms | network ms | acting ms | learn / (network + acting) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for row in p["rows"]:
        lines.append(f"| {row['precision']} | {_num(row['optimizer_steps_per_s'])} | {_num(row['env_steps_per_s'])} "
                     f"| {_num(row['network_optimizer_steps_per_s'])} | {_num(row['learn_ms'])} | {_num(row['network_ms'])} "
                     f"| {_num(row['acting_ms'])} | {row['overhead_ratio']:.2f} |")  # fmt: skip
    return lines + [""]


def _render_env(p: dict[str, Any]) -> list[str]:
    lines = [f"Random actions, auto-reset included, ~{p['seconds_per_row']:g} s per row.", "",
             "| env | N | steps/s |", "| --- | ---: | ---: |"]  # fmt: skip
    lines += [f"| {row['env_id']} | {row['num_envs']:,} | {row['steps_per_s']:,.0f} |" for row in p["rows"]]
    return lines + [""]


def _render_training(p: dict[str, Any]) -> list[str]:
    overrides = f" + {p['overrides']}" if p["overrides"] else ""
    lines = [f"hrm-dqn, config {p['config']}{overrides}, "
             f"{p['env_id']}, seed {p['seed']}: {p['env_steps']:,} env steps, {p['optimizer_steps']:,} optimizer steps "
             f"in {p['train_wall_s']:.0f} s (cap {p['max_train_s']:.0f} s); run directory `{p['run_dir']}`.", "",
             "| env steps | optimizer steps | wall s | validation success | mean length | path efficiency |",
             "| ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for e in p["evaluations"]:
        lines.append(f"| {e['env_steps']:,.0f} | {e['optimizer_steps']:,.0f} | {e['wall_time_s']:.0f} | "
                     f"{_pct(e['success_rate'])} | {_num(e['mean_length'])} | {_num(e['path_efficiency'])} |")  # fmt: skip
    t = p.get("test")
    if t:
        lo, hi = t["success_ci"]
        lines += ["", f"Final model on {t['episodes']} test episodes (seeds from {t['seed_offset']:,}), greedy: success "
                  f"{_pct(t['success_rate'])} [{_pct(lo)}, {_pct(hi)}], mean length {_num(t['mean_length'])}, path "
                  f"efficiency {_num(t['path_efficiency'])}."]  # fmt: skip
    return lines + [""]


RENDER = {"cuda_tests": _render_tests, "hrm_steps": _render_hrm, "env_steps": _render_env, "training": _render_training}


# --- main ---------------------------------------------------------------------------------------------------------


def fail(message: str) -> int:
    print(f"gpu_check: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    started = time.perf_counter()
    if args.device == "cpu" and not args.tiny:
        return fail("--device cpu runs only the dry run (--tiny): the paper's size needs a GPU")
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        return fail(f"CUDA is not available (torch {torch.__version__} sees no GPU); nothing was run. "
                    "For a dry run on a CPU: --device cpu --tiny")  # fmt: skip

    from agents.errors import UserError
    from agents.harness.rundir import check_location, claim_output_dir
    from agents.harness.runtime import configure_threads

    try:
        out = check_location(args.out, "--out folder")
        outputs = free_outputs(out, args.run_dir)
        if args.run_dir:
            claim_output_dir(args.run_dir, force=False, kind="run", what="--run-dir")
        training_hyperparams(args)  # a bad --env fails here, before any work
    except UserError as err:
        return fail(str(err))
    configure_threads(args.device)
    check = Check(args, outputs, deadline=started + args.minutes * 60)
    check.report = {
        "command": shlex.join(["python", "benchmarks/gpu_check.py", *argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "dry_run": args.tiny, "status": "running", "budget_minutes": args.minutes, "commit": git_commit(),
        **device_record(args.device), "options": vars(args), "phases": {},
        "outputs": {"json": outputs.json, "markdown": outputs.markdown, "model": outputs.model, "run_dir": outputs.run_dir},
    }  # fmt: skip
    d = check.report["device"]
    print(f"GPU check on {d['name']} ({args.device}; torch {d['torch']}, CUDA {d['cuda']}), budget {args.minutes:g} min"
          f"{', dry run (--tiny)' if args.tiny else ''}; results: {outputs.json}, {outputs.markdown}", flush=True)  # fmt: skip
    print(f"  plan: tests <= {args.pytest_minutes:g} min, HRM-DQN 2 x {args.hrm_seconds:g} s, envs "
          f"{2 * len(args.env_sizes)} x {args.env_seconds:g} s, training <= {args.train_minutes:g} min (what --minutes "
          f"leaves, {RESERVE_S[args.tiny]:.0f} s kept for the evaluation of {args.test_episodes} test episodes)", flush=True)  # fmt: skip
    check.write()
    skipped = {PHASES[name] for name in args.skip}
    for number, key in enumerate(PHASE_FUNCTIONS, 1):
        if key in skipped:
            check.phases[key] = {"status": "skipped", "reason": "--skip"}
            continue
        print(f"[{number}/{len(PHASE_FUNCTIONS)}] {TITLES[key]} ({check.left_s() / 60:.1f} min left) ...", flush=True)
        check.phases[key] = {"status": "running"}
        check.write()
        phase_start = time.perf_counter()
        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        try:
            result = PHASE_FUNCTIONS[key](check)
        except Exception as err:  # one broken phase must not cost the others their share of the lease
            traceback.print_exc()
            measured = {
                k: v for k, v in check.phases[key].items() if k not in META_KEYS
            }  # e.g. training before its test
            message = str(err).splitlines()[0] if str(err) else ""
            result = {**measured, "status": "error", "error": f"{type(err).__name__}: {message}"}
        result["wall_s"] = time.perf_counter() - phase_start
        if args.device == "cuda":
            result["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
        check.phases[key] = result
        check.report["wall_s"] = time.perf_counter() - started
        check.write()
        print(f"  -> {result['status']} in {result['wall_s']:.0f} s", flush=True)
    statuses = [p["status"] for p in check.phases.values() if p.get("reason") != "--skip"]
    check.report["status"] = "ok" if all(s == "ok" for s in statuses) else "failed"
    check.report["wall_s"] = time.perf_counter() - started
    check.write()
    print(f"GPU check {check.report['status']} in {check.report['wall_s'] / 60:.1f} min: "
          + ", ".join(f"{TITLES[k]} {p['status']}" for k, p in check.phases.items()))  # fmt: skip
    written = [outputs.json, outputs.markdown] + [p for p in (outputs.model, outputs.run_dir) if p.exists()]
    print("outputs written to " + ", ".join(str(p) for p in written))
    return 0 if check.report["status"] == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
