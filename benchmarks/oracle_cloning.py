"""Probe (2026-12-02): how fast can a Q-network architecture learn the BFS oracle's action by behaviour cloning?

64k FourRooms states (64 envs x 1,000 steps of the oracle with 30% random moves) and 3,840 held-out states;
Adam, cross-entropy on the Q head; prints the held-out action accuracy every 30 s. Ties between equally short
moves count as errors, so 100% is not always reachable. One torch thread.

    python benchmarks/oracle_cloning.py --seconds 240                            # HRM, cpu-preset size, RoPE
    python benchmarks/oracle_cloning.py --seconds 180 --pos learned              # learned positions, no RoPE
    python benchmarks/oracle_cloning.py --seconds 180 --pos rope+learned         # both (the cpu preset)
    python benchmarks/oracle_cloning.py --kw '{"H_cycles": 2, "L_cycles": 2}'    # more recurrence
    python benchmarks/oracle_cloning.py --seconds 120 --cnn                      # the dqn-cnn GridCNN

    python benchmarks/oracle_cloning.py --seconds 200 --pos rope+learned --kw '{"readout": "neighbours"}'
    python benchmarks/oracle_cloning.py --seconds 240 --pos rope+learned --kw '{"H_layers": 2, "L_layers": 2}'

Its logs are raw results in results/probes/. oracle_cloning_{neighbours,agent,2plus2}.log (2026-12-02, beside a training) come from a scratch copy that added
the neighbours readout by subclassing HRM before ``readout="neighbours"`` existed (the same formula and init;
``tests/test_hrm_model.py`` checks the option's formula); all three use rope+learned positions.
The other committed logs (oracle_cloning_*.log) were made with an earlier copy of this script that added the learned
table by subclassing HRM (normal instead of truncated-normal init, same scale) before ``pos_encodings`` existed.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch as th

import hrm_mazes  # noqa: F401  (registers the envs)
from agents.hrm_dqn.model import HRM, HRMConfig
from hrm_mazes.oracle import BatchedBFSOracle

PRESET = dict(d_model=32, num_heads=2, H_layers=1, L_layers=1, H_cycles=1, L_cycles=1, segments=1, mlp_multiple=32,
              readout="agent")  # fmt: skip


class GridCNN(th.nn.Module):
    """The dqn-cnn cpu preset's network: two 16-channel 3x3 convs, 128 features, the Q head."""

    def __init__(self, shape: tuple[int, int], vocab: int = 7) -> None:
        super().__init__()
        rows, cols = shape
        self.vocab = vocab
        self.net = th.nn.Sequential(
            th.nn.Conv2d(vocab, 16, 3, padding=1), th.nn.ReLU(), th.nn.Conv2d(16, 16, 3, padding=1), th.nn.ReLU(),
            th.nn.Flatten(), th.nn.Linear(16 * rows * cols, 128), th.nn.ReLU(), th.nn.Linear(128, 4),
        )  # fmt: skip

    def initial_carry(self, batch: int) -> None:
        return None

    def forward(self, tokens: th.Tensor, carry: None) -> tuple[th.Tensor, None]:
        onehot = th.nn.functional.one_hot(tokens.long(), self.vocab).permute(0, 3, 1, 2).float()
        return self.net(onehot), None


def collect(env_id: str, n_envs: int, steps: int, seed: int, eps: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    env = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", obs_mode="tokens")
    oracle, rng = BatchedBFSOracle(env), np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    states, actions = [], []
    for _ in range(steps):
        best = oracle()
        states.append(obs.copy())
        actions.append(best.copy())
        obs, *_ = env.step(np.where(rng.random(n_envs) < eps, rng.integers(0, 4, n_envs), best))
    return np.concatenate(states), np.concatenate(actions)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="FourRooms-Dynamic-v0")
    p.add_argument("--seconds", type=float, default=240)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--pos", default="rope", help="HRMConfig.pos_encodings")
    p.add_argument("--kw", default="{}", help="more HRMConfig fields, as JSON")
    p.add_argument("--cnn", action="store_true", help="the GridCNN instead of the HRM")
    a = p.parse_args()
    th.set_num_threads(1)
    th.manual_seed(0)
    x, y = (th.as_tensor(v) for v in collect(a.env, 64, 1000, 0))
    xt, yt = (th.as_tensor(v) for v in collect(a.env, 64, 60, 99))
    if a.cnn:
        net = GridCNN(tuple(x.shape[1:]))
    else:
        net = HRM(HRMConfig(grid_shape=tuple(x.shape[1:]), pos_encodings=a.pos, **{**PRESET, **json.loads(a.kw)}))
    opt = th.optim.Adam(net.parameters(), lr=a.lr)
    start, step, report = time.time(), 0, 0.0
    while time.time() - start < a.seconds:
        idx = th.randint(len(x), (a.batch,))
        q, _ = net(x[idx], net.initial_carry(a.batch))
        loss = th.nn.functional.cross_entropy(q, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if time.time() - start >= report:
            with th.no_grad():
                hits = [(net(xt[i : i + 512], net.initial_carry(len(xt[i : i + 512])))[0].argmax(1) == yt[i : i + 512])
                        .float().mean().item() for i in range(0, 2048, 512)]  # fmt: skip
            print(json.dumps(dict(t=round(time.time() - start), step=step, loss=round(loss.item(), 3),
                                  acc=round(float(np.mean(hits)), 3))), flush=True)  # fmt: skip
            report += 30


if __name__ == "__main__":
    main()
