"""The Hierarchical Reasoning Model (HRM) as a Q-network, in one file.

A token grid becomes a sequence ``[prefix ; row-major cells]`` of ``S = 1 + H * W`` tokens. Two recurrent
transformer modules refine per-token states ``z_H`` (slow, "high level") and ``z_L`` (fast, "low level"):

    L step: z_L <- L(z_L + (z_H + x))        H step: z_H <- H(z_H + z_L)

One *segment* with ``H_cycles = L_cycles = 2`` runs L, L, H, L without gradient, then L, H with gradient
(the 1-step gradient approximation of Wang et al. 2025); segments are chained through the detached ``z_H``,
``z_L``. The Q-values are a linear read-out of ``z_H`` at one token. Between environment steps the model hands
on a *carry* ``(B, 2, d)``: the last token's ``z_H`` and ``z_L``, broadcast to every position at the next
step's start; an episode starts from the fixed initial state ``z_init`` (buffers ``z_H_init``, ``z_L_init``).
With ``carry_tokens="all"`` the carry is instead every token's ``z_H`` and ``z_L``, ``(B, 2, S, d)``: the next step
continues the recurrence where this one left it on every cell (a plan on the grid can outlive the step).
With ``attention="local"`` each cell attends only to the 3x3 cells around it and the prefix token (the prefix to
all): a block moves information one cell per application, the way a convolution does, and the weight-tied
L / H modules become an iterated local step over the grid (the planners of ``docs/design.md``).
Sizes default to the HRM-Agent paper (Dang & Rawlinson 2025): d = 64, 2 heads, 4 blocks per module,
525,056 parameters.

Pure PyTorch; the Stable-Baselines3 glue lives in :mod:`agents.hrm_dqn.policies` and
:mod:`agents.hrm_dqn.hrm_dqn`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

READOUTS = ("last", "prefix", "agent", "neighbours")
POS_ENCODINGS = ("rope", "rope+learned", "learned")
ATTENTIONS = ("global", "local")
CARRY_TOKENS = ("last", "all")
AGENT_TOKEN = 2  # hrm_mazes.core.AGENT; duplicated so that this file needs torch only
# hrm_mazes.core.ACTION_DELTAS (north, east, south, west as (d_row, d_col)); duplicated for the same reason and
# checked equal in tests/test_hrm_model.py.
ACTION_DELTAS = ((-1, 0), (0, 1), (1, 0), (0, -1))


@dataclass(frozen=True)
class HRMConfig:
    """Every size of the model.

    :param grid_shape: ``(rows, cols)`` of the token grid.
    :param vocab_size: number of distinct cell tokens.
    :param num_actions: Q-values produced.
    :param d_model: hidden width ``d``.
    :param num_heads: attention heads (``d_model`` must be divisible by it).
    :param H_layers, L_layers: transformer blocks in the H and L modules.
    :param H_cycles, L_cycles: H steps per segment, and L steps per H step.
    :param segments: segments run when acting (and deep-supervision steps per minibatch when training).
    :param expansion: SwiGLU expansion; inner width = ``round(expansion * d * 2 / 3)`` rounded up to a
        multiple of ``mlp_multiple`` (256 in HRM: width 256 at d = 64; lower it for tiny models).
    :param rope_theta: rotary embedding base.
    :param rms_norm_eps: RMSNorm epsilon.
    :param readout: token whose ``z_H`` feeds the Q head: ``"last"`` grid cell (paper), ``"prefix"`` token,
        or ``"agent"`` (the cell holding ``agent_token``; the last cell if there is none). ``"neighbours"``
        adds to the agent readout a value read at the cell each action moves to:
        ``Q(a) = w_a . z_H[agent] + v . z_H[agent + delta_a]`` (one shared ``v``; a move off the grid reads the
        agent's own cell), for grids whose actions are the four moves of ``ACTION_DELTAS``.
    :param agent_token: token id of the agent cell (for ``readout="agent"``).
    :param pos_encodings: ``"rope"`` (SPEC, paper), ``"learned"`` (a trained absolute position embedding added
        to the input, no RoPE; the original HRM's other option) or ``"rope+learned"`` (both).
    :param attention: ``"global"`` (paper: every token attends to every token) or ``"local"`` (a grid cell
        attends to the cells of its 3x3 neighbourhood and to the prefix token; the prefix attends to all).
    :param carry_tokens: what the carry between env steps holds: ``"last"`` (paper: the last token's z_H / z_L,
        ``(2, d)``, broadcast to every token) or ``"all"`` (every token's, ``(2, S, d)``).
    """

    grid_shape: tuple[int, int]
    vocab_size: int = 7
    num_actions: int = 4
    d_model: int = 64
    num_heads: int = 2
    H_layers: int = 4
    L_layers: int = 4
    H_cycles: int = 2
    L_cycles: int = 2
    segments: int = 8
    expansion: float = 4.0
    mlp_multiple: int = 256
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    readout: str = "last"
    agent_token: int = AGENT_TOKEN
    pos_encodings: str = "rope"
    attention: str = "global"
    carry_tokens: str = "last"

    def __post_init__(self) -> None:
        def positive_int(name: str, value: object) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

        if len(self.grid_shape) != 2:
            raise ValueError(f"grid_shape must be (rows, cols), got {self.grid_shape!r}")
        for name in ("vocab_size", "num_actions", "d_model", "num_heads", "H_layers", "L_layers", "H_cycles",
                     "L_cycles", "segments", "mlp_multiple"):
            positive_int(name, getattr(self, name))
        for i, n in enumerate(self.grid_shape):
            positive_int(f"grid_shape[{i}]", n)
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})")
        if (self.d_model // self.num_heads) % 2:
            raise ValueError(f"head dim d_model / num_heads = {self.d_model // self.num_heads} must be even (RoPE)")
        if not self.expansion > 0:
            raise ValueError(f"expansion must be > 0, got {self.expansion!r}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout must be one of {list(READOUTS)}, got {self.readout!r}")
        if self.readout == "neighbours" and self.num_actions != len(ACTION_DELTAS):
            raise ValueError(
                f"readout='neighbours' needs num_actions = {len(ACTION_DELTAS)} (the moves {ACTION_DELTAS}), "
                f"got {self.num_actions}"
            )
        if self.pos_encodings not in POS_ENCODINGS:
            raise ValueError(f"pos_encodings must be one of {list(POS_ENCODINGS)}, got {self.pos_encodings!r}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {list(ATTENTIONS)}, got {self.attention!r}")
        if self.carry_tokens not in CARRY_TOKENS:
            raise ValueError(f"carry_tokens must be one of {list(CARRY_TOKENS)}, got {self.carry_tokens!r}")

    @property
    def seq_len(self) -> int:
        """Prefix token + one token per grid cell."""
        return 1 + self.grid_shape[0] * self.grid_shape[1]

    @property
    def carry_shape(self) -> tuple[int, ...]:
        """Shape of one environment's carry: ``(2, d)``, or ``(2, S, d)`` with ``carry_tokens="all"``."""
        if self.carry_tokens == "all":
            return (2, self.seq_len, self.d_model)
        return (2, self.d_model)

    @property
    def mlp_width(self) -> int:
        inner = round(self.expansion * self.d_model * 2 / 3)
        return -(-inner // self.mlp_multiple) * self.mlp_multiple

    def to_dict(self) -> dict:
        return asdict(self)


# --- building blocks --------------------------------------------------------------------------------------


def trunc_normal_(tensor: torch.Tensor, std: float) -> torch.Tensor:
    """Normal truncated at +-2 standard deviations, rescaled so that the *result* has standard deviation ``std``."""
    # Std of a unit normal truncated to [-2, 2] (the JAX-style LeCun init corrects for it).
    z = math.erf(2 / math.sqrt(2))
    pdf2 = math.exp(-2) / math.sqrt(2 * math.pi)
    truncated_std = math.sqrt(1 - 2 * 2 * pdf2 / z)
    with torch.no_grad():
        nn.init.trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0)
        return tensor.mul_(std / truncated_std)


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm without a weight, computed in float32."""
    dtype = x.dtype
    x = x.float()
    return (x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)).to(dtype)


def rotary_tables(seq_len: int, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(seq_len, head_dim)`` cos and sin of 1-D RoPE, frequencies repeated over both halves."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``(B, heads, S, head_dim)`` queries or keys (rotate-half convention)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return (x.float() * cos + rotated.float() * sin).to(x.dtype)


def local_neighbourhood(grid_shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """What each grid cell attends to under ``attention="local"``.

    :return: ``(H * W, 10)`` sequence indices (the prefix 0, then the 3x3 cells around the cell, itself included,
        row by row) and a float ``(H * W, 10)`` additive mask: 0, or ``-inf`` where the 3x3 window leaves the grid
        (the index there repeats the cell itself and is never attended).
    """
    rows, cols = grid_shape
    index = torch.zeros(rows * cols, 10, dtype=torch.long)
    mask = torch.zeros(rows * cols, 10)
    for r in range(rows):
        for c in range(cols):
            cell = r * cols + c
            k = 1
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    nr, nc = r + dr, c + dc
                    inside = 0 <= nr < rows and 0 <= nc < cols
                    index[cell, k] = 1 + (nr * cols + nc if inside else cell)
                    mask[cell, k] = 0.0 if inside else float("-inf")
                    k += 1
    return index, mask


class Linear(nn.Linear):
    """Bias-free linear layer with truncated LeCun-normal init (std = 1 / sqrt(fan_in))."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, bias=False)

    def reset_parameters(self) -> None:
        trunc_normal_(self.weight, std=1.0 / math.sqrt(self.in_features))


class Attention(nn.Module):
    """Non-causal multi-head self-attention with RoPE on queries and keys."""

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = Linear(d_model, 3 * d_model)
        self.out = Linear(d_model, d_model)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, local: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """``local``: the :func:`local_neighbourhood` index and mask of the grid tokens (None: global attention)."""
        b, s, d = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if local is None:
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            index, mask = local
            prefix = F.scaled_dot_product_attention(q[:, :, :1], k, v)  # the prefix token reads every cell
            scores = torch.einsum("bhsd,bhskd->bhsk", q[:, :, 1:], k[:, :, index]) / math.sqrt(q.shape[-1])
            weights = (scores + mask.to(scores.dtype)).softmax(dim=-1)
            cells = torch.einsum("bhsk,bhskd->bhsd", weights, v[:, :, index])
            y = torch.cat((prefix, cells), dim=2)
        return self.out(y.transpose(1, 2).reshape(b, s, d))


class SwiGLU(nn.Module):
    def __init__(self, d_model: int, inner: int) -> None:
        super().__init__()
        self.gate_up = Linear(d_model, 2 * inner)
        self.down = Linear(inner, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    """Post-norm transformer block: ``x = norm(x + attn(x)); x = norm(x + mlp(x))``."""

    def __init__(self, cfg: HRMConfig) -> None:
        super().__init__()
        self.eps = cfg.rms_norm_eps
        self.attn = Attention(cfg.d_model, cfg.num_heads)
        self.mlp = SwiGLU(cfg.d_model, cfg.mlp_width)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, local=None) -> torch.Tensor:
        x = rms_norm(x + self.attn(x, cos, sin, local), self.eps)
        return rms_norm(x + self.mlp(x), self.eps)


class ReasoningModule(nn.Module):
    """A stack of blocks applied to ``z + injection`` (the H or the L module)."""

    def __init__(self, cfg: HRMConfig, num_layers: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(num_layers))

    def forward(
        self, z: torch.Tensor, injection: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, local=None
    ) -> torch.Tensor:
        z = z + injection
        for block in self.blocks:
            z = block(z, cos, sin, local)
        return z


# --- the model --------------------------------------------------------------------------------------------


class HRM(nn.Module):
    """HRM Q-network over token grids.

    The recurrent state between environment steps is a *carry* ``(B, 2, d)``: the ``z_H`` and ``z_L`` vectors
    broadcast to every position at the start of a step (``(B, 2, S, d)``, every token's, with
    ``carry_tokens="all"``). :meth:`initial_carry` gives the fixed random ``z_init``.
    """

    def __init__(self, cfg: HRMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed_scale = math.sqrt(d)
        self.embed = nn.Embedding(cfg.vocab_size, d)
        trunc_normal_(self.embed.weight, std=1.0 / self.embed_scale)
        self.prefix = nn.Parameter(torch.zeros(d))
        self.L = ReasoningModule(cfg, cfg.L_layers)
        self.H = ReasoningModule(cfg, cfg.H_layers)
        self.q_head = Linear(d, cfg.num_actions)
        if cfg.readout == "neighbours":
            self.value_head = Linear(d, 1)
            self.register_buffer("action_deltas", torch.tensor(ACTION_DELTAS), persistent=False)
        # Fixed, untrained initial states (persistent: a loaded model gets the same init).
        self.register_buffer("z_H_init", trunc_normal_(torch.empty(d), std=1.0))
        self.register_buffer("z_L_init", trunc_normal_(torch.empty(d), std=1.0))
        # Absolute positions (learned), same init and scale as the token embedding; absent with plain RoPE so
        # that paper-default checkpoints keep their exact state dict.
        if cfg.pos_encodings != "rope":
            self.pos_embed = nn.Parameter(trunc_normal_(torch.empty(cfg.seq_len, d), std=1.0 / self.embed_scale))
        cos, sin = rotary_tables(cfg.seq_len, d // cfg.num_heads, cfg.rope_theta)
        if cfg.pos_encodings == "learned":  # identity rotation: attention sees no relative position
            cos, sin = torch.ones_like(cos), torch.zeros_like(sin)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        if cfg.attention == "local":
            index, mask = local_neighbourhood(cfg.grid_shape)
            self.register_buffer("local_index", index, persistent=False)
            self.register_buffer("local_mask", mask, persistent=False)

    @property
    def local(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Index and mask of local attention (:func:`local_neighbourhood`), or None for global attention."""
        if self.cfg.attention == "local":
            return self.local_index, self.local_mask
        return None

    # -- pieces ------------------------------------------------------------------------------------------

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, rows, cols)`` integer tokens to ``(B, S, d)`` input embeddings (prefix first, scaled by sqrt(d))."""
        x = self.embed(tokens.reshape(len(tokens), -1).long())
        prefix = self.prefix.to(x.dtype).expand(len(x), 1, -1)
        x = torch.cat((prefix, x), dim=1)
        if self.cfg.pos_encodings != "rope":
            x = x + self.pos_embed.to(x.dtype)
        return self.embed_scale * x

    def initial_carry(self, batch_size: int) -> torch.Tensor:
        """``(B, *cfg.carry_shape)`` fixed initial state ``z_init``: ``[:, 0]`` starts z_H, ``[:, 1]`` starts z_L
        (the same vector on every token with ``carry_tokens="all"``)."""
        z = torch.stack((self.z_H_init, self.z_L_init))
        if self.cfg.carry_tokens == "all":
            z = z[:, None, :].expand(2, self.cfg.seq_len, -1)
        return z.expand(batch_size, *z.shape).clone()

    def broadcast(self, carry: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Carry ``(B, 2, d)`` to full states ``z_H, z_L`` of shape ``(B, S, d)`` (a ``(B, 2, S, d)`` carry is
        split as it is)."""
        if carry.dim() == 4:
            return carry[:, 0], carry[:, 1]
        shape = (len(carry), self.cfg.seq_len, self.cfg.d_model)
        return carry[:, 0, None, :].expand(shape), carry[:, 1, None, :].expand(shape)

    def segment(self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One segment: all H/L updates but the last L and H step without gradient, those two with it."""
        cfg, cos, sin, local = self.cfg, self.rope_cos, self.rope_sin, self.local
        with torch.no_grad():
            for h in range(cfg.H_cycles):
                for l_step in range(cfg.L_cycles):
                    if h < cfg.H_cycles - 1 or l_step < cfg.L_cycles - 1:
                        z_L = self.L(z_L, z_H + x, cos, sin, local)
                if h < cfg.H_cycles - 1:
                    z_H = self.H(z_H, z_L, cos, sin, local)
        z_L = self.L(z_L, z_H + x, cos, sin, local)
        z_H = self.H(z_H, z_L, cos, sin, local)
        return z_H, z_L

    def readout_index(self, tokens: torch.Tensor) -> torch.Tensor | int:
        """Sequence index of the readout token: an int, or ``(B,)`` for ``readout="agent"`` / ``"neighbours"``."""
        if self.cfg.readout == "prefix":
            return 0
        if self.cfg.readout == "last":
            return self.cfg.seq_len - 1
        is_agent = tokens.reshape(len(tokens), -1) == self.cfg.agent_token
        last = torch.full((len(tokens),), self.cfg.seq_len - 2, device=tokens.device)
        return 1 + torch.where(is_agent.any(dim=1), is_agent.int().argmax(dim=1), last)

    def q_values(self, z_H: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, num_actions)`` float32 Q-values read from ``z_H`` at the readout token."""
        index = self.readout_index(tokens)
        if isinstance(index, int):
            return self.q_head(z_H[:, index]).float()
        rows = torch.arange(len(z_H), device=z_H.device)
        q = self.q_head(z_H[rows, index])
        if self.cfg.readout == "neighbours":
            q = q + self.value_head(z_H[rows[:, None], self.neighbour_index(index)]).squeeze(-1)
        return q.float()

    def neighbour_index(self, index: torch.Tensor) -> torch.Tensor:
        """``(B, 4)`` sequence indices of the cells the four moves lead to from ``index`` (``(B,)``); a move off
        the grid gives ``index`` itself (the agent stays put)."""
        height, width = self.cfg.grid_shape
        row, col = (index - 1) // width, (index - 1) % width
        new_row = row[:, None] + self.action_deltas[:, 0]
        new_col = col[:, None] + self.action_deltas[:, 1]
        inside = (new_row >= 0) & (new_row < height) & (new_col >= 0) & (new_col < width)
        return torch.where(inside, 1 + new_row * width + new_col, index[:, None])

    @staticmethod
    def last_token_states(z_H: torch.Tensor, z_L: torch.Tensor) -> torch.Tensor:
        """The last token's ``z_H`` and ``z_L``, ``(B, 2, d)`` float32."""
        return torch.stack((z_H[:, -1], z_L[:, -1]), dim=1).float()

    def carried_states(self, z_H: torch.Tensor, z_L: torch.Tensor) -> torch.Tensor:
        """What the carry hands on, as ``(B, 2, n)`` float32: the last token's ``z_H`` and ``z_L`` (``n = d``), or
        with ``carry_tokens="all"`` every token's, flattened (``n = S * d``), so that a mean over the last axis is
        the MSE over the whole carried state."""
        if self.cfg.carry_tokens == "all":
            return torch.stack((z_H.flatten(1), z_L.flatten(1)), dim=1).float()
        return self.last_token_states(z_H, z_L)

    def next_carry(self, z_H: torch.Tensor, z_L: torch.Tensor) -> torch.Tensor:
        """The carry handed to the next environment step: the last token's ``z_H`` and ``z_L``, ``(B, 2, d)``, or
        every token's, ``(B, 2, S, d)``, with ``carry_tokens="all"``."""
        if self.cfg.carry_tokens == "all":
            return torch.stack((z_H, z_L), dim=1).float()
        return self.last_token_states(z_H, z_L)

    # -- whole step --------------------------------------------------------------------------------------

    def forward(
        self, tokens: torch.Tensor, carry: torch.Tensor, segments: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run ``segments`` segments (default ``cfg.segments``) from ``carry``, detaching between segments.

        :param tokens: ``(B, rows, cols)`` integer token grid.
        :param carry: ``(B, *cfg.carry_shape)`` z_H / z_L to start from.
        :return: Q-values of the last segment ``(B, num_actions)`` and the next carry ``(B, *cfg.carry_shape)``.
        """
        z_H, z_L = self.broadcast(carry.to(self.z_H_init.dtype))
        x = self.embed_tokens(tokens)
        for k in range(segments or self.cfg.segments):
            if k:
                z_H, z_L = z_H.detach(), z_L.detach()
            z_H, z_L = self.segment(z_H, z_L, x)
        return self.q_values(z_H, tokens), self.next_carry(z_H, z_L)

    @torch.no_grad()
    def trace(
        self, tokens: torch.Tensor, carry: torch.Tensor, segments: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[str, ...]]:
        """:meth:`forward` without gradient, recording the last token's states after every recurrent update.

        The updates run in :meth:`segment`'s order (per H cycle: ``L_cycles`` L steps, then one H step), so the
        Q-values and the next carry are :meth:`forward`'s. For the recurrent-dynamics analysis (``hrm-mazes analyze``).

        :return: Q-values ``(B, num_actions)``, next carry ``(B, *cfg.carry_shape)``, float32 states ``(B, U, 2, n)``
            (:meth:`carried_states` after update ``u``: ``[..., 0, :]`` z_H, ``[..., 1, :]`` z_L;
            ``U = segments * H_cycles * (L_cycles + 1)``) and the module (``"L"`` or ``"H"``) that made each update.
        """
        cfg, cos, sin, local = self.cfg, self.rope_cos, self.rope_sin, self.local
        z_H, z_L = self.broadcast(carry.to(self.z_H_init.dtype))
        x = self.embed_tokens(tokens)
        states, modules = [], []
        for _ in range(segments or cfg.segments):
            for _ in range(cfg.H_cycles):
                for _ in range(cfg.L_cycles):
                    z_L = self.L(z_L, z_H + x, cos, sin, local)
                    states.append(self.carried_states(z_H, z_L))
                    modules.append("L")
                z_H = self.H(z_H, z_L, cos, sin, local)
                states.append(self.carried_states(z_H, z_L))
                modules.append("H")
        return self.q_values(z_H, tokens), self.next_carry(z_H, z_L), torch.stack(states, dim=1), tuple(modules)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
