"""Gaussian splatting puts a node's features where the node is."""

from __future__ import annotations

import math

import torch

from atmo.nowcast.models.splat import GaussianSplat


def test_mass_is_centred_on_the_node_at_full_resolution() -> None:
    splat = GaussianSplat(sigma_px=2.0)
    nodes = torch.tensor([[[1.0, 3.0]]])
    xy = torch.tensor([[[20.0, 11.0]]])
    grid = splat(nodes, xy, torch.ones(1, 1, dtype=torch.bool), (32, 32), stride=1)
    assert grid.shape == (1, 2, 32, 32)
    row, col = divmod(int(grid[0, 0].argmax()), 32)
    assert (col, row) == (20, 11)
    assert math.isclose(grid[0, 0, 11, 20].item(), 1.0, rel_tol=1e-6)
    assert math.isclose(grid[0, 0].sum().item(), 2 * math.pi * 2.0**2, rel_tol=1e-3)
    assert torch.allclose(grid[0, 1], 3 * grid[0, 0])


def test_weighted_centroid_on_a_strided_grid_is_the_node_position() -> None:
    grid = GaussianSplat(sigma_px=5.0)(
        torch.ones(1, 1, 1), torch.tensor([[[37.0, 22.0]]]), torch.ones(1, 1, dtype=torch.bool), (16, 16), stride=4
    )[0, 0]
    centres = torch.arange(16, dtype=torch.float32) * 4 + 1.5
    x_mean = (grid.sum(dim=0) * centres).sum() / grid.sum()
    y_mean = (grid.sum(dim=1) * centres).sum() / grid.sum()
    assert abs(x_mean.item() - 37.0) < 0.05 and abs(y_mean.item() - 22.0) < 0.05


def test_invalid_nodes_contribute_nothing_and_sigma_learns() -> None:
    splat = GaussianSplat(sigma_px=3.0)
    nodes = torch.ones(1, 2, 4)
    xy = torch.tensor([[[5.0, 5.0], [20.0, 20.0]]])
    grid = splat(nodes, xy, torch.tensor([[True, False]]), (32, 32), stride=1)
    assert grid[0, :, 20, 20].abs().max() < 1e-6
    grid.sum().backward()
    assert splat.log_sigma.grad is not None and splat.log_sigma.grad.abs() > 0
