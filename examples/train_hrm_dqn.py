"""Train HRM-DQN with the Stable-Baselines3 API, then evaluate it greedily on held-out episodes.

    python examples/train_hrm_dqn.py [--steps 20000] [--out runs/examples/hrm_dqn.zip]

The network here is the small CPU preset (d_model 32, 1+1 blocks, 2 segments). The paper's configuration is
the HRMDQN / HRMQPolicy defaults with 256 envs: ``hrm-mazes train --algo hrm-dqn --config paper`` on a GPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from stable_baselines3.common.env_util import make_vec_env

from agents.harness.evaluation import ModelPlayer, evaluate, format_ci
from agents.hrm_dqn import HRMDQN
from hrm_mazes import ENV_IDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="FourRooms-Dynamic-v0", choices=ENV_IDS)
    parser.add_argument("--steps", type=int, default=20_000, help="env steps")
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes")
    parser.add_argument("--out", default="runs/examples/hrm_dqn.zip")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    env = make_vec_env(args.env, n_envs=8, seed=0)  # token observations, the HRM's input
    model = HRMDQN(
        "HRMQPolicy",
        env,
        learning_rate=3e-4,
        buffer_size=100_000,
        learning_starts=min(1_000, args.steps // 2),
        batch_size=32,
        tau=0.01,
        gamma=0.95,
        train_freq=2,
        lr_warmup_steps=200,
        exploration_final_eps=0.05,
        exploration_steps=3_000,
        policy_kwargs=dict(d_model=32, num_heads=2, H_layers=1, L_layers=1, H_cycles=1, L_cycles=1, segments=2,
                           carry="last_token"),  # fmt: skip
        seed=0,
        device="cpu",
    )
    model.learn(total_timesteps=args.steps, progress_bar=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)

    loaded = HRMDQN.load(args.out, device="cpu")
    s = evaluate(ModelPlayer(loaded, "hrm-dqn"), args.env, episodes=args.episodes).summary
    print(f"HRM-DQN after {args.steps} env steps ({loaded._n_updates} optimizer steps): "
          f"success {format_ci(s['success_rate'], s['success_ci'], percent=True)}, "
          f"path efficiency {format_ci(s['path_efficiency'], s['efficiency_ci'], digits=3)}")  # fmt: skip
    print(f"outputs written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
