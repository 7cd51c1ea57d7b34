"""The HRM core (agents/hrm_dqn/model.py): sizes, init, the segment's 1-step gradient, detached segments, readouts."""

import math

import pytest
import torch as th

from agents.hrm_dqn.model import HRM, HRMConfig, apply_rotary, count_parameters, local_neighbourhood, rms_norm

GRID = (11, 11)


def tiny(**kwargs) -> HRM:
    th.manual_seed(0)
    defaults = dict(d_model=16, num_heads=2, H_layers=1, L_layers=1, segments=2, expansion=2.0, mlp_multiple=16)
    return HRM(HRMConfig(GRID, **{**defaults, **kwargs}))


def tokens(batch: int = 3, grid=GRID) -> th.Tensor:
    g = th.Generator().manual_seed(1)
    t = th.randint(0, 2, (batch, *grid), generator=g)
    t[:, 0, 0] = 2  # an agent cell, where readout="agent" looks
    return t


def test_parameter_count_at_paper_size():
    model = HRM(HRMConfig(GRID))
    n = count_parameters(model)
    # 8 blocks x 65,536 + token embedding 7x64 + prefix 64 + Q head 64x4
    assert n == 8 * 65_536 + 7 * 64 + 64 + 64 * 4 == 525_056
    assert 0.50e6 <= n <= 0.56e6
    assert model.cfg.mlp_width == 256
    assert HRMConfig(GRID, d_model=128).mlp_width == 512  # round(4 * 128 * 2 / 3) = 341 -> 512


def test_init_follows_hrm():
    model = HRM(HRMConfig(GRID))
    assert th.all(model.prefix == 0)
    assert abs(model.embed.weight.std().item() - 1 / 8) < 0.02
    qkv = model.L.blocks[0].attn.qkv.weight
    assert abs(qkv.std().item() - 1 / 8) < 0.01 and qkv.abs().max() <= 2 / 8 / 0.87 + 1e-6  # truncated at 2 sigma
    # The initial states are fixed buffers (saved with the model), not parameters.
    names = {n for n, _ in model.named_parameters()}
    assert "z_H_init" not in names and "z_H_init" in model.state_dict() and "rope_cos" not in model.state_dict()
    assert 0.8 < th.cat((model.z_H_init, model.z_L_init)).std().item() < 1.2
    assert not any(isinstance(m, th.nn.Linear) and m.bias is not None for m in model.modules())


def test_embedding_is_prefix_then_cells_scaled_by_sqrt_d():
    model = tiny()
    with th.no_grad():
        model.prefix.normal_()
    t = tokens()
    x = model.embed_tokens(t)
    assert x.shape == (3, 1 + 121, 16)
    th.testing.assert_close(x[:, 0], 4.0 * model.prefix.expand(3, -1))
    th.testing.assert_close(x[:, 1:], 4.0 * model.embed.weight[t.reshape(3, -1)])


def test_forward_shapes_and_next_carry_is_last_token():
    model = tiny()
    q, carry = model(tokens(), model.initial_carry(3))
    assert q.shape == (3, 4) and q.dtype == th.float32
    assert carry.shape == (3, 2, 16)
    z_H, z_L = model.broadcast(model.initial_carry(3))
    x = model.embed_tokens(tokens())
    for _ in range(2):
        z_H, z_L = model.segment(z_H.detach(), z_L.detach(), x)
    th.testing.assert_close(carry[:, 0], z_H[:, -1].detach())
    th.testing.assert_close(carry[:, 1], z_L[:, -1].detach())


@pytest.mark.parametrize("cycles", [(2, 2), (1, 1), (3, 2)])
def test_gradient_flows_only_through_final_L_and_H_steps(cycles):
    H_cycles, L_cycles = cycles
    model = tiny(H_cycles=H_cycles, L_cycles=L_cycles)
    calls = []
    model.L.register_forward_hook(lambda m, i, o: calls.append(("L", o.requires_grad)))
    model.H.register_forward_hook(lambda m, i, o: calls.append(("H", o.requires_grad)))
    z_H, z_L = model.broadcast(model.initial_carry(2))
    z_H, z_L = model.segment(z_H, z_L, model.embed_tokens(tokens(2)))
    order = []
    for _ in range(H_cycles):
        order += ["L"] * L_cycles + ["H"]
    # Everything but the last L and H step runs without gradient; those two with it.
    assert [name for name, _ in calls] == order
    assert [grad for _, grad in calls] == [False] * (len(order) - 2) + [True, True]
    if cycles == (2, 2):
        assert order == ["L", "L", "H", "L", "L", "H"]  # paper: no-grad L, L, H, L then L, H with grad


def test_state_is_detached_between_segments_and_from_the_initial_carry():
    model = tiny()
    t = tokens(2)
    carry = model.initial_carry(2).requires_grad_(True)
    q, _ = model(t, carry, segments=3)
    q.sum().backward()
    assert carry.grad is None, "no gradient reaches the initial carry"
    grads = [p.grad.clone() for p in model.parameters()]
    # Same gradients as running only the last segment from the (constant) state the first two produced.
    model.zero_grad()
    with th.no_grad():
        z_H, z_L = model.broadcast(model.initial_carry(2))
        x = model.embed_tokens(t)
        for _ in range(2):
            z_H, z_L = model.segment(z_H, z_L, x)
    z_H, _ = model.segment(z_H, z_L, model.embed_tokens(t))
    model.q_values(z_H, t).sum().backward()
    for g, p in zip(grads, model.parameters(), strict=True):
        th.testing.assert_close(g, p.grad)


def test_readouts():
    t = tokens(2)
    t[1, 0, 0] = 0
    t[1, 3, 4] = 2  # env 1's agent at (3, 4)
    for readout, index in (("last", [121, 121]), ("prefix", [0, 0]), ("agent", [1, 1 + 3 * 11 + 4])):
        model = tiny(readout=readout)
        z_H = th.randn(2, 122, 16)
        q = model.q_values(z_H, t)
        expected = th.stack([model.q_head(z_H[b, i]) for b, i in enumerate(index)])
        th.testing.assert_close(q, expected)
    no_agent = th.zeros(1, *GRID, dtype=th.long)
    assert int(tiny(readout="agent").readout_index(no_agent)[0]) == 121  # falls back to the last cell


def test_neighbours_readout():
    """Q(a) = w_a . z[agent] + v . z[cell the move leads to]; a move off the grid reads the agent's own cell."""
    from agents.hrm_dqn.model import ACTION_DELTAS as MODEL_DELTAS
    from hrm_mazes.core import ACTION_DELTAS

    assert [tuple(d) for d in ACTION_DELTAS.tolist()] == list(MODEL_DELTAS)  # one meaning of the actions
    t = tokens(2)
    t[0, 0, 0] = 0
    t[0, 3, 4] = 2  # env 0's agent inside; env 1's at the corner (0, 0): north and west leave the grid
    model = tiny(readout="neighbours")
    z_H = th.randn(2, 122, 16)
    q = model.q_values(z_H, t)
    cells = [[(2, 4), (3, 5), (4, 4), (3, 3)], [(0, 0), (0, 1), (1, 0), (0, 0)]]
    agents = [1 + 3 * 11 + 4, 1]
    for b in range(2):
        for a, (r, c) in enumerate(cells[b]):
            expected = model.q_head(z_H[b, agents[b]])[a] + model.value_head(z_H[b, 1 + r * 11 + c])[0]
            th.testing.assert_close(q[b, a], expected)
    q.sum().backward()
    assert model.value_head.weight.grad.abs().sum() > 0
    assert "value_head.weight" in model.state_dict() and "value_head.weight" not in tiny().state_dict()


def test_position_encodings():
    t = tokens(2)
    rope = tiny()
    assert not hasattr(rope, "pos_embed") and "pos_embed" not in rope.state_dict()  # paper checkpoints unchanged
    for mode in ("learned", "rope+learned"):
        model = tiny(pos_encodings=mode)
        assert model.pos_embed.shape == (122, 16)
        assert abs(model.pos_embed.std().item() - 1 / 4) < 0.05  # the token embedding's init (std 1/sqrt(d))
        # The embedding adds the position vector (scaled like the tokens) to prefix + cells.
        with th.no_grad():
            x = model.embed_tokens(t)
            no_pos = model.embed_scale * th.cat(
                (model.prefix.expand(2, 1, -1), model.embed(t.reshape(2, -1))), dim=1
            )
        th.testing.assert_close(x - no_pos, model.embed_scale * model.pos_embed.expand(2, -1, -1))
        q, _ = model(t, model.initial_carry(2))
        assert th.isfinite(q).all()
    learned = tiny(pos_encodings="learned")
    assert bool((learned.rope_cos == 1).all()) and bool((learned.rope_sin == 0).all())  # no relative rotation
    assert not bool((tiny(pos_encodings="rope+learned").rope_sin == 0).all())


def test_position_matters_and_norm_is_unit_rms():
    model = tiny()
    t = tokens(1)
    moved = t.clone()
    moved[0, 0, 0], moved[0, 5, 5] = t[0, 5, 5], t[0, 0, 0]
    carry = model.initial_carry(1)
    assert not th.allclose(model(t, carry)[0], model(moved, carry)[0])
    y = rms_norm(th.randn(4, 10, 16) * 7, 1e-5)
    th.testing.assert_close(y.square().mean(-1), th.ones(4, 10), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(d_model=30, num_heads=4), "divisible"),
        (dict(d_model=6, num_heads=2), "even"),
        (dict(readout="middle"), "readout"),
        (dict(readout="neighbours", num_actions=5), "num_actions"),
        (dict(pos_encodings="2d"), "pos_encodings"),
        (dict(segments=0), "segments"),
        (dict(H_layers=1.5), "H_layers"),
        (dict(expansion=0), "expansion"),
        (dict(attention="window"), "attention must be one of"),
        (dict(carry_tokens="some"), "carry_tokens must be one of"),
    ],
)
def test_invalid_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HRMConfig(GRID, **kwargs)


def test_trunc_normal_std_is_exact():
    from agents.hrm_dqn.model import trunc_normal_

    w = trunc_normal_(th.empty(200_000), std=0.5)
    assert abs(w.std().item() - 0.5) < 0.005
    assert w.abs().max().item() <= 2 * 0.5 / 0.8796 + 1e-4
    assert math.isclose(HRMConfig(GRID).seq_len, 122)


# --- local attention and the per-token carry ---------------------------------------------------------------


def test_local_neighbourhood_is_the_prefix_and_the_3x3_window_inside_the_grid():
    index, mask = local_neighbourhood((3, 4))
    assert index.shape == mask.shape == (12, 10)
    assert th.all(index[:, 0] == 0) and th.all(mask[:, 0] == 0)
    centre = 1 * 4 + 1  # row 1, col 1: all 9 cells inside
    assert sorted((index[centre, 1:] - 1).tolist()) == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    assert th.all(mask[centre] == 0)
    corner = 0  # row 0, col 0: itself, east, south, south-east
    inside = mask[corner, 1:] == 0
    assert sorted((index[corner, 1:][inside] - 1).tolist()) == [0, 1, 4, 5]
    assert th.all(index[corner, 1:][~inside] == 1) and th.all(th.isinf(mask[corner, 1:][~inside]))


def test_local_attention_moves_information_one_cell_per_block():
    """A cell's output after one block depends on its 3x3 window (and the prefix), not on a cell two away; the
    same block with global attention sees the whole grid."""
    for attention, reaches in (("local", False), ("global", True)):
        model = tiny(attention=attention, pos_encodings="learned")
        x = model.embed_tokens(tokens(1))
        far = x.clone()
        far[:, 1 + 5 * 11 + 8] += 1.0  # cell (5, 8), three columns from (5, 5)
        near = x.clone()
        near[:, 1 + 6 * 11 + 6] += 1.0  # cell (6, 6), diagonal neighbour of (5, 5)
        block, cell = model.L.blocks[0], 1 + 5 * 11 + 5
        with th.no_grad():
            out = block(x, model.rope_cos, model.rope_sin, model.local)[:, cell]
            out_far = block(far, model.rope_cos, model.rope_sin, model.local)[:, cell]
            out_near = block(near, model.rope_cos, model.rope_sin, model.local)[:, cell]
        assert not th.allclose(out, out_near)
        assert (not th.allclose(out, out_far)) == reaches, attention


def test_local_attention_equals_masked_dense_attention():
    """The gathered 3x3 attention is exactly dense attention under the mask it stands for."""
    model = tiny(attention="local")
    attn, x = model.L.blocks[0].attn, th.randn(2, model.cfg.seq_len, 16)
    index, mask = model.local
    dense_mask = th.full((model.cfg.seq_len, model.cfg.seq_len), float("-inf"))
    dense_mask[0] = 0.0  # the prefix reads every token
    rows = th.arange(1, model.cfg.seq_len)[:, None].expand_as(index)
    inside = mask == 0  # (the window's cells off the grid repeat the cell itself: they stay masked)
    dense_mask[rows[inside], index[inside]] = 0.0
    with th.no_grad():
        local = attn(x, model.rope_cos, model.rope_sin, model.local)
        b, s, d = x.shape
        q, k, v = attn.qkv(x).view(b, s, 3, 2, 8).permute(2, 0, 3, 1, 4)
        q, k = apply_rotary(q, model.rope_cos, model.rope_sin), apply_rotary(k, model.rope_cos, model.rope_sin)
        dense = attn.out(th.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=dense_mask)
                         .transpose(1, 2).reshape(b, s, d))
    th.testing.assert_close(local, dense, rtol=1e-5, atol=1e-5)


def test_grid_carry_holds_every_token_and_continues_the_recurrence():
    model = tiny(carry_tokens="all", segments=1)
    assert model.cfg.carry_shape == (2, 122, 16)
    init = model.initial_carry(3)
    assert init.shape == (3, 2, 122, 16) and th.all(init[:, 0] == model.z_H_init) and th.all(init[:, 1] == model.z_L_init)
    t = tokens()
    with th.no_grad():
        q1, carry = model(t, init)
        # Two steps of one segment from the carry = one step of two segments from z_init (same tokens).
        q2, carry2 = model(t, carry)
        q_two, carry_two = model(t, init, segments=2)
        _, _, states, _ = model.trace(t, init)
    assert carry.shape == (3, 2, 122, 16) and not th.allclose(carry[:, 0, 0], carry[:, 0, -1])
    th.testing.assert_close(q2, q_two)
    th.testing.assert_close(carry2, carry_two)
    th.testing.assert_close(states[:, -1], carry.flatten(2))  # the analysis traces every carried token
    # The last-token carry of the same weights hands on less: only the last token, broadcast.
    last = tiny(segments=1)
    assert last.initial_carry(3).shape == (3, 2, 16) and last(t, last.initial_carry(3))[1].shape == (3, 2, 16)
