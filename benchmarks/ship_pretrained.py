"""Ship a trained agent (HRM-DQN or any registered algorithm) inside the package: copy its model into ``agents/pretrained/``, evaluate it on the
protocol's held-out episodes and write its ``manifest.json`` entry (how it was trained, how well it did).

    python benchmarks/ship_pretrained.py --checkpoint runs/hrm-dqn/FourRooms-Dynamic-v0/seed0/checkpoints/step-000576000 \\
        --label hrm-dqn-carry-cpu --command "hrm-mazes train --algo hrm-dqn --env FourRooms-Dynamic-v0 --config cpu"

``--checkpoint`` is a checkpoint folder (``model.zip`` + ``state.json``, written by ``train``) or a finished run
directory (``model.zip`` and its ``checkpoints/latest``). The model is loaded as ``hrm-mazes evaluate`` loads it
(:func:`agents.harness.loading.load_agent`, on the CPU): the algorithm, the env and the training seed come from the
run's ``run.yaml``, and so do the machine and device it trained on. An env may ship one agent per algorithm; an
existing file or manifest entry for the same env and algorithm is replaced only with ``--force``. The optimizer
state stays in the zip (a few hundred kB at the cpu size), so the model can be trained on; ``compile`` is switched
off in the shipped copy (the evaluation ran the model as trained).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from agents.cli import main as cli_main
from agents.errors import UserError
from agents.harness.checkpoints import Checkpoint, RunState, latest_checkpoint, read_state
from agents.harness.evaluation import headline
from agents.harness.loading import LoadedAgent, load_agent
from agents.harness.pretrained import MANIFEST_NAME, PRETRAINED_DIR
from agents.harness.rundir import RunPaths, read_host
from hrm_mazes.host import cpu_model


def machine(host: dict[str, Any], device: str) -> str:
    """The machine a run trained on, from the ``host`` and ``device`` its run.yaml records (this machine's CPU for a
    run from before run.yaml recorded the host)."""
    cpus = f"{host.get('cpu') or cpu_model()}, {host.get('cpu_count') or os.cpu_count()} CPUs"
    if device.startswith("cuda"):
        return f"{cpus}, {host.get('cuda') or 'a CUDA GPU'}"
    return f"{cpus}, no GPU, torch 1 thread"


def counters(folder: Path, agent: LoadedAgent) -> tuple[Path, RunState]:
    """The state.json of the shipped model (the folder's own, or its run's latest checkpoint) and what it holds."""
    paths = RunPaths(agent.run_dir)
    checkpoint = Checkpoint.in_dir(folder) if (folder / "state.json").is_file() else latest_checkpoint(paths)
    if checkpoint is None:
        raise UserError(f"{folder} needs model.zip, state.json and a run directory with run.yaml")
    return checkpoint.state, read_state(paths, checkpoint)


def save_shipped(agent: LoadedAgent, target: Path) -> None:
    """The model at ``target`` without torch.compile and without the rollout's per-env carry.

    Compile: a user's first action would otherwise wait ~15 s for the compiler (and warn where there is none).
    Carry: HRM-DQN keeps the carried state of its training envs for a resumed rollout (``_last_carry``: with the grid
    carry, 32 envs x 144 cells x z_H and z_L, 1.5 MB of the zip); a shipped model starts every rollout afresh, and
    ``learn`` rebuilds it when absent. Everything else (weights, optimizer state, counters) is the trained model's
    (compile wraps a method, so the saved weights are the same).
    """
    model = agent.model
    if not model.policy_kwargs.get("compile") and getattr(model, "_last_carry", None) is None:
        shutil.copyfile(agent.model_path, target)
        return
    model.policy_kwargs = {**model.policy_kwargs, "compile": False}
    model.save(target, exclude=["_last_carry"] if hasattr(model, "_last_carry") else None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="a checkpoint folder or a finished run directory")
    p.add_argument("--label", required=True, help="the agent's name in tables (letters, digits, '.', '_', '-')")
    p.add_argument("--command", required=True, help="the command that trained it (recorded in the manifest)")
    p.add_argument("--file", help="file name in agents/pretrained/ (default: <label>-<env>.zip)")
    p.add_argument("--episodes", type=int, default=1000, help="held-out evaluation episodes (default 1000)")
    p.add_argument("--force", action="store_true", help="replace an existing file / manifest entry for the env")
    args = p.parse_args(argv)

    folder = Path(args.checkpoint)
    try:
        agent = load_agent(folder, device="cpu")  # no algo or env given: the model's run.yaml must say them
        state_file, state = counters(folder, agent)
        host = read_host(agent.run_dir)
    except UserError as err:
        sys.exit(f"ship_pretrained: {err}")
    env_id, algo = agent.env_id, agent.algo
    file = args.file or f"{args.label}-{env_id}.zip"
    target = PRETRAINED_DIR / file
    manifest_file = PRETRAINED_DIR / MANIFEST_NAME
    manifest = json.loads(manifest_file.read_text())
    clash = [e for e in manifest if (e["env_id"], e["algo"]) == (env_id, algo) or e["file"] == file]
    if (clash or target.exists()) and not args.force:
        sys.exit(f"ship_pretrained: {env_id} already has a shipped {algo} agent or {file} exists: pass --force to replace it")

    # A fresh folder per call: a fixed name would let shipping one label for a second env overwrite the first's.
    evaluation_json = Path(tempfile.mkdtemp(prefix=f"ship_pretrained_{args.label}_")) / f"evaluation_{args.episodes}.json"
    rc = cli_main(["evaluate", "--model", str(agent.model_path), "--algo", algo, "--env", env_id, "--episodes", str(args.episodes),
                   "--device", "cpu", "--json", str(evaluation_json), "--force", "--no-progress"])  # fmt: skip
    if rc != 0:
        return rc
    evaluation = json.loads(evaluation_json.read_text())
    summary = evaluation["summary"]
    entry = {
        "env_id": env_id,
        "algo": algo,
        "file": file,
        "label": args.label,
        "trained": {
            "command": args.command,
            "machine": machine(host, agent.run.device),
            "date": datetime.date.fromtimestamp(state_file.stat().st_mtime).isoformat(),
            "env_steps": state.env_steps,
            "optimizer_steps": state.optimizer_steps,
            "wall_time_s": state.wall_time_s,
            "seed": agent.run.seed,
        },
        "evaluation": {**headline(summary), "seed_offset": evaluation["seed_offset"]},
    }
    save_shipped(agent, target)
    manifest = [e for e in manifest if e not in clash] + [entry]
    manifest_file.write_text(json.dumps(sorted(manifest, key=lambda e: (e["env_id"], e["algo"])), indent=1) + "\n")
    print(f"shipped {target} ({target.stat().st_size / 1e3:.0f} kB): {100 * summary['success_rate']:.1f}% "
          f"[{100 * summary['success_ci'][0]:.1f}, {100 * summary['success_ci'][1]:.1f}] on {summary['episodes']} episodes; "
          f"the evaluation is in {evaluation_json}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
