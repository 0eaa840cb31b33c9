"""Spatio-temporal transformer: shapes on several grids, positional encoding, mixing across space and time."""

from __future__ import annotations

import pytest
import torch

from atmo.nowcast.models.transformer import SpatioTemporalTransformer, sinusoidal_2d


def test_positional_encoding_is_distinct_per_position() -> None:
    pe = sinusoidal_2d(6, 9, 16)
    assert pe.shape == (54, 16)
    assert torch.cdist(pe, pe).add(torch.eye(54) * 1e3).min() > 1e-3
    assert torch.allclose(pe[:9, :8], pe[:1, :8].expand(9, 8))  # row half constant along a row


def test_positional_encoding_rejects_bad_dim() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        sinusoidal_2d(4, 4, 6)


@pytest.mark.parametrize(("grid_hw", "patch"), [((8, 8), 1), ((12, 16), 2), ((4, 4), 4)])
def test_shape_is_preserved(grid_hw: tuple[int, int], patch: int) -> None:
    net = SpatioTemporalTransformer(dim=16, frames=3, layers=1, heads=2, patch_size=patch)
    feats = torch.randn(2, 3, 16, *grid_hw)
    assert net(feats).shape == feats.shape


def test_information_flows_across_space_and_time() -> None:
    """A change at one location of the first frame must reach a distant location of the last frame."""
    net = SpatioTemporalTransformer(dim=16, frames=4, layers=1, heads=2).eval()
    feats = torch.randn(1, 4, 16, 8, 8)
    changed = feats.clone()
    changed[0, 0, :, 0, 0] += 3.0
    assert not torch.allclose(net(feats)[0, -1, :, 7, 7], net(changed)[0, -1, :, 7, 7])
