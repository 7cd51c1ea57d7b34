"""Time one HRM-DQN network step (TD target + forward + backward + optimizer step, as
benchmarks/hrm_throughput.py's column (a)) and the acting forward, for the `hrm-dqn` `cpu` preset with
policy_kwargs changed, one torch thread. The numbers in results/demo-hrm-probes/network_step.log came from two of
these at a time (one per core) on the 2-core AMD EPYC dev machine, 2026-12-02 (the script then lived beside that log):

    python benchmarks/hrm_network_step.py on 64 "{'num_heads': 1}"
    python benchmarks/hrm_network_step.py off 64 "{}" prof     # eager, with a torch.profiler table

Arguments: compile (on / off), minibatch, a dict of policy_kwargs overrides, optionally "prof".
"""

import ast
import sys
import time

import hrm_throughput as ht  # benchmarks/ is the script's folder, so Python finds its sibling
import torch as th

from agents.harness.hyperparams import apply_overrides, load_preset
from agents.harness.models import build_model, make_train_env

th.set_num_threads(1)
ENV_ID = "FourRooms-Dynamic-v0"
use_compile, batch = sys.argv[1] == "on", int(sys.argv[2])
overrides = ast.literal_eval(sys.argv[3]) if len(sys.argv) > 3 else {}
hyperparams, _ = load_preset("hrm-dqn", ENV_ID, "cpu")
policy_kwargs = {**hyperparams["policy_kwargs"], "compile": use_compile, **overrides}
hyperparams = apply_overrides(hyperparams, dict(batch_size=batch, buffer_size=20_000, learning_starts=256,
                                                policy_kwargs=policy_kwargs))
model = build_model("hrm-dqn", hyperparams, make_train_env(ENV_ID, hyperparams, 32, 0), 0, "cpu")
model.learn(model.learning_starts + 32)
network, act = ht.network_step(model), ht.acting_step(model)
for _ in range(10):  # warm-up (and compilation)
    network()
    act()
start = time.perf_counter()
for _ in range(30):
    network()
network_ms = (time.perf_counter() - start) / 30 * 1e3
start = time.perf_counter()
for _ in range(30):
    act()
act_ms = (time.perf_counter() - start) / 30 * 1e3
params = sum(p.numel() for p in model.q_net.parameters())
print(f"compile {use_compile} batch {batch} {overrides}: network {network_ms:.1f} ms, act {act_ms:.1f} ms, params {params}")
if not use_compile and "prof" in sys.argv:
    from torch.profiler import profile

    with profile() as prof:
        for _ in range(10):
            network()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
