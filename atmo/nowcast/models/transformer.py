"""Part 5 of the Storm-Graph Transformer: a small spatio-temporal transformer over feature-map tokens.

Tokens are the cells (or ``patch_size`` x ``patch_size`` patches) of the fused, strided feature map of
every input frame. Full attention over all ``T * h * w`` tokens is quadratic in both, so each block
factorises it (divided space-time attention): tokens of one location attend over time, then tokens of
one frame attend over space. Positions carry a fixed 2D sinusoidal encoding, which works for any grid
size, and frames a learned temporal embedding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_2d(height: int, width: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Fixed 2D positional encoding ``(height * width, dim)``: half the channels encode the row, half the column.

    Each half is the 1D transformer encoding ``sin/cos(pos / 10000^(2i / (dim/2)))``; ``dim % 4 == 0``.
    """
    if dim % 4:
        raise ValueError(f"positional encoding dimension must be divisible by 4, got {dim}")
    quarter = dim // 4
    freq = torch.exp(-math.log(10000.0) * torch.arange(quarter, device=device, dtype=torch.float32) / quarter)

    def encode(length: int) -> torch.Tensor:
        angle = torch.arange(length, device=device, dtype=torch.float32)[:, None] * freq
        return torch.cat([angle.sin(), angle.cos()], dim=-1)  # (length, dim / 2)

    rows = encode(height)[:, None, :].expand(height, width, dim // 2)
    cols = encode(width)[None, :, :].expand(height, width, dim // 2)
    return torch.cat([rows, cols], dim=-1).reshape(height * width, dim)


class SelfAttention(nn.Module):
    """Multi-head self-attention on ``(N, L, D)`` via ``scaled_dot_product_attention`` (memory-efficient kernels)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"transformer dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n, length, dim = tokens.shape
        q, k, v = self.qkv(tokens).view(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))


class SpaceTimeBlock(nn.Module):
    """Pre-norm block on ``(B, T, L, D)``: temporal attention, spatial attention, MLP, each residual."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm_time, self.attn_time = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.norm_space, self.attn_space = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, frames, length, dim = tokens.shape
        per_location = tokens.transpose(1, 2).reshape(batch * length, frames, dim)
        update = self.attn_time(self.norm_time(per_location)).view(batch, length, frames, dim).transpose(1, 2)
        tokens = tokens + update
        per_frame = tokens.reshape(batch * frames, length, dim)
        tokens = tokens + self.attn_space(self.norm_space(per_frame)).view(batch, frames, length, dim)
        return tokens + self.mlp(self.norm_mlp(tokens))


class SpatioTemporalTransformer(nn.Module):
    """``(B, T, C, h, w) -> (B, T, C, h, w)``: the input plus the transformer's update (a residual).

    Args:
        dim: channels ``C`` of the feature map (the token width).
        frames: ``T``, the number of input frames (size of the learned temporal embedding).
        layers, heads, mlp_ratio: transformer size.
        patch_size: tokens are ``patch_size``-square patches of the feature map; ``h`` and ``w`` must be
            divisible by it. Larger patches cut the spatial attention cost by ``patch_size**4``.
    """

    def __init__(
        self, dim: int, frames: int, layers: int = 2, heads: int = 4, mlp_ratio: int = 2, patch_size: int = 1
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.to_tokens = nn.Conv2d(dim, dim, patch_size, stride=patch_size)
        self.from_tokens = nn.ConvTranspose2d(dim, dim, patch_size, stride=patch_size)
        self.time_embed = nn.Parameter(0.02 * torch.randn(frames, dim))
        self.blocks = nn.ModuleList(SpaceTimeBlock(dim, heads, mlp_ratio) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        batch, frames, dim, height, width = feats.shape
        grid = self.to_tokens(feats.reshape(batch * frames, dim, height, width))
        th, tw = grid.shape[-2:]
        tokens = grid.flatten(2).transpose(1, 2).reshape(batch, frames, th * tw, dim)
        pos = sinusoidal_2d(th, tw, dim, feats.device).to(feats.dtype)
        tokens = tokens + pos[None, None] + self.time_embed[None, :, None, :]
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens).reshape(batch * frames, th, tw, dim).permute(0, 3, 1, 2)
        update = self.from_tokens(tokens).reshape(batch, frames, dim, height, width)
        return feats + update
