"""dqn-rconv: the recurrent-convolution planner's shapes, readout, reach, options, save / load and registry entry."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from agents.harness.models import load_model, saved_algos
from agents.rconv import RConvDQN, RConvQNetwork, RConvQPolicy, neighbour_table
from hrm_mazes.core import ACTION_DELTAS, AGENT, FLOOR, NUM_TOKENS
from hrm_mazes.sb3 import make_sb3_vec_env

ROWS, COLS = 11, 13
SPACE = spaces.Box(0, 1, (NUM_TOKENS, ROWS, COLS), np.uint8)
ACTIONS = spaces.Discrete(4)


def grid_obs(agent: tuple[int, int], batch: int = 1) -> th.Tensor:
    """One-hot planes of an open grid with the agent at ``agent``."""
    obs = th.zeros(batch, NUM_TOKENS, ROWS, COLS)
    obs[:, FLOOR] = 1.0
    obs[:, FLOOR, agent[0], agent[1]] = 0.0
    obs[:, AGENT, agent[0], agent[1]] = 1.0
    return obs


def test_neighbour_table_moves_one_cell_and_stays_at_the_edge():
    table = neighbour_table(ROWS, COLS)
    assert table.shape == (ROWS * COLS, 4)
    r, c = 5, 6
    for a, (dr, dc) in enumerate(ACTION_DELTAS):
        assert table[r * COLS + c, a] == (r + dr) * COLS + (c + dc)
    assert table[0, 0] == 0 and table[0, 3] == 0  # north and west of the corner stay on it
    assert table[ROWS * COLS - 1, 1] == ROWS * COLS - 1 and table[ROWS * COLS - 1, 2] == ROWS * COLS - 1


def test_q_values_have_one_entry_per_action_and_a_small_network():
    net = RConvQNetwork(SPACE, ACTIONS)
    q = net(grid_obs((5, 6), batch=3))
    assert q.shape == (3, 4) and th.isfinite(q).all()
    assert sum(p.numel() for p in net.parameters()) == 4437  # conv_in 1,024 + shared step 3,328 + heads 85
    assert net._predict(grid_obs((5, 6))).shape == (1,)


class MapHead(th.nn.Module):
    """Stands in for a 1x1 head: returns a fixed map (``(k, H, W)``) for every batch element."""

    def __init__(self, values: th.Tensor) -> None:
        super().__init__()
        self.values = values

    def forward(self, h: th.Tensor) -> th.Tensor:
        return self.values.expand(h.shape[0], *self.values.shape)


@pytest.mark.parametrize("agent", [(5, 6), (0, 0), (ROWS - 1, COLS - 1), (0, 7)])
def test_readout_is_the_value_of_the_cell_each_move_leads_to_plus_the_agent_cells_action_value(agent):
    net = RConvQNetwork(SPACE, ACTIONS)
    values = th.arange(ROWS * COLS, dtype=th.float32).view(1, ROWS, COLS)
    bias = th.tensor([0.1, 0.2, 0.3, 0.4]).view(4, 1, 1).expand(4, ROWS, COLS).clone()
    bias[:, agent[0], agent[1]] = th.tensor([10.0, 20.0, 30.0, 40.0])  # action values at the agent cell only
    net.value_head, net.action_head = MapHead(values), MapHead(bias)
    q = net(grid_obs(agent))[0]
    for a, (dr, dc) in enumerate(ACTION_DELTAS):
        r, c = agent[0] + dr, agent[1] + dc
        if not (0 <= r < ROWS and 0 <= c < COLS):
            r, c = agent  # off the grid: the agent's own cell
        assert q[a].item() == pytest.approx(values[0, r, c].item() + 10.0 * (a + 1))


@pytest.mark.parametrize("iterations", [2, 8])
def test_information_travels_one_cell_per_iteration(iterations):
    """The Q-values at the agent see a change ``d`` cells away only when the iterations (and conv_in) reach it:
    the planner's reach is its iteration count, which the maze's long paths need."""
    th.manual_seed(0)
    net = RConvQNetwork(SPACE, ACTIONS, iterations=iterations)
    for param in net.parameters():  # positive weights keep every ReLU open, so no path is cut by chance
        param.data.uniform_(0.0, 0.1)
    agent = (5, 0)
    base = grid_obs(agent)
    reach = iterations + 1 + 1  # conv_in, the iterations, and the neighbour read one cell further
    near, far = base.clone(), base.clone()
    for obs, col in ((near, reach), (far, reach + 1)):
        obs[0, FLOOR, 5, col], obs[0, 1, 5, col] = 0.0, 1.0  # floor -> wall at distance col from the agent
    with th.no_grad():
        q0, q_near, q_far = net(base), net(near), net(far)
    assert not th.equal(q0, q_near)
    assert th.equal(q0, q_far)


def test_options_change_the_step_inputs_and_bad_values_are_named():
    plain = RConvQNetwork(SPACE, ACTIONS, recall=False)
    pooled = RConvQNetwork(SPACE, ACTIONS, pool=True)
    assert plain.conv_step.in_channels == 16 and pooled.conv_step.in_channels == 16 * 3 + NUM_TOKENS
    assert pooled(grid_obs((1, 1))).shape == (1, 4)
    with pytest.raises(ValueError, match="iterations must be a positive integer"):
        RConvQNetwork(SPACE, ACTIONS, iterations=0)
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        RConvQNetwork(SPACE, ACTIONS, channels=2.5)
    with pytest.raises(ValueError, match="obs_mode='onehot'"):
        RConvQNetwork(spaces.Box(0, 6, (ROWS, COLS), np.uint8), ACTIONS)
    with pytest.raises(ValueError, match="agent_plane"):
        RConvQNetwork(SPACE, ACTIONS, agent_plane=NUM_TOKENS)


def small_model(**policy_kwargs):
    venv = make_sb3_vec_env("RandomDoorMaze-v0", num_envs=4, seed=1, obs_mode="onehot")
    kwargs = dict(channels=4, iterations=3, **policy_kwargs)
    return RConvDQN("RConvQPolicy", venv, policy_kwargs=kwargs, learning_starts=32, batch_size=16, buffer_size=500,
                    n_steps=3, train_freq=1, target_update_interval=64, seed=0, device="cpu")  # fmt: skip


def test_trains_saves_and_loads_with_the_same_q_values(tmp_path):
    model = small_model(pool=True)
    assert isinstance(model.policy, RConvQPolicy)
    model.learn(200)
    assert model._n_updates > 0
    path = tmp_path / "planner.zip"
    model.save(path)
    assert saved_algos(path) == ["dqn-rconv"]
    loaded = load_model("dqn-rconv", path, device="cpu")
    assert loaded.policy.q_net.iterations == 3 and loaded.policy.q_net.pool
    obs = model.get_env().reset()
    with th.no_grad():
        expected = model.q_net(th.as_tensor(obs))
        got = loaded.q_net(th.as_tensor(obs))
    assert th.allclose(expected, got)
    actions, state = loaded.predict(obs, deterministic=True)
    assert actions.shape == (4,) and state is None


def test_a_features_extractor_is_refused():
    from agents.harness.models import GridCNN

    with pytest.raises(ValueError, match="builds its own network"):
        small_model(features_extractor_class=GridCNN)


def test_cost_benchmark_prints_one_row_per_variant(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "rconv_cost.py"
    spec = importlib.util.spec_from_file_location("rconv_cost", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--batch", "4", "--repeats", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == len(module.VARIANTS) and rows[0].endswith("| 1.00x |")
    assert "4,437" in rows[0]
