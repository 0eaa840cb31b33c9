"""Part 4 of the Storm-Graph Transformer: graph-to-grid projection by Gaussian splatting.

Each storm cell's embedding is spread onto the strided feature grid with an isotropic Gaussian
centred on the cell, so the gridded layers see storm-interaction information where the storm is. The
width is learnable (initialised from the config, in input-grid pixels): the model decides how far a
cell's influence reaches.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class GaussianSplat(nn.Module):
    """Node features ``(B, N, C)`` at ``xy_px (B, N, 2)`` -> feature map ``(B, C, h, w)`` on a grid of step ``stride``.

    ``out[b, :, i, j] = sum_n valid[b, n] * f[b, n] * exp(-|p_ij - xy[b, n]|^2 / (2 sigma^2))`` where
    ``p_ij`` is the centre of coarse cell ``(i, j)`` in input pixels. Weights are not normalised, so an
    isolated cell contributes its full features at its centre whatever ``sigma`` is.
    """

    def __init__(self, sigma_px: float = 4.0) -> None:
        super().__init__()
        if sigma_px <= 0:
            raise ValueError(f"splat sigma must be > 0 pixels, got {sigma_px}")
        self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma_px)))

    @property
    def sigma_px(self) -> torch.Tensor:
        return self.log_sigma.exp()

    def forward(
        self,
        nodes: torch.Tensor,
        xy_px: torch.Tensor,
        valid: torch.Tensor,
        grid_hw: tuple[int, int],
        stride: int,
    ) -> torch.Tensor:
        height, width = grid_hw
        # Centre of coarse cell j covers input pixels [j*stride, (j+1)*stride): (j + 0.5) * stride - 0.5.
        cols = (torch.arange(width, device=nodes.device, dtype=nodes.dtype) + 0.5) * stride - 0.5
        rows = (torch.arange(height, device=nodes.device, dtype=nodes.dtype) + 0.5) * stride - 0.5
        two_var = 2 * self.sigma_px.to(nodes.dtype) ** 2
        # The Gaussian is separable, so (B, N, h) and (B, N, w) factors replace a (B, N, h, w) distance grid.
        weight_x = torch.exp(-((cols - xy_px[..., 0:1]) ** 2) / two_var)
        weight_y = torch.exp(-((rows - xy_px[..., 1:2]) ** 2) / two_var) * valid[..., None].to(nodes.dtype)
        return torch.einsum("bnh,bnw,bnc->bchw", weight_y, weight_x, nodes)
