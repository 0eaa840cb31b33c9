"""Part 2 of the Storm-Graph Transformer: storm cells as graph nodes.

A storm cell is a local maximum of the last observed VIL frame above a threshold (VIP 74, "moderate"
convection, by default). Peaks are found for the whole batch at once with max pooling, and the strongest
``max_cells`` per sample are kept with ``topk``, so samples with any number of cells share one padded
tensor layout plus a ``valid`` mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

CODE_SCALE = 255.0  # VIL code units -> the code/255 scale of the batch


@dataclass
class StormCells:
    """Padded storm-cell nodes of a batch; entries where ``valid`` is False are zero.

    Attributes:
        features: ``(B, N, C + 3)`` encoder features pooled at the peak, peak intensity (code/255) and
            position normalised to [0, 1] as ``(x, y)``.
        xy_px: ``(B, N, 2)`` peak position in input-grid pixels, ``(x, y)`` = (column, row).
        intensity: ``(B, N)`` peak VIL, code/255.
        valid: ``(B, N)`` True for a detected cell.
    """

    features: torch.Tensor
    xy_px: torch.Tensor
    intensity: torch.Tensor
    valid: torch.Tensor


def find_peaks(vil: torch.Tensor, threshold: float, radius_px: int) -> torch.Tensor:
    """Local maxima ``(B, H, W) -> (B, H, W)`` bool: the largest value within ``radius_px`` and ``>= threshold``.

    Plateaus (saturated cores have equal values) would give one "peak" per plateau pixel; among equal
    candidates within a window only the one with the largest flat index survives.
    """
    size = 2 * radius_px + 1
    pooled = F.max_pool2d(vil[:, None], size, stride=1, padding=radius_px)[:, 0]
    candidate = (vil == pooled) & (vil >= threshold)
    height, width = vil.shape[-2:]
    # float32 represents pixel indices exactly up to 2**24, far beyond a 384 x 384 grid.
    order = torch.arange(height * width, device=vil.device, dtype=torch.float32).view(1, height, width)
    rank = torch.where(candidate, order, torch.full_like(order, -1.0))
    return candidate & (rank == F.max_pool2d(rank[:, None], size, stride=1, padding=radius_px)[:, 0])


class StormCellDetector(nn.Module):
    """``vil (B, H, W)`` code/255 and ``features (B, C, h, w)`` -> :class:`StormCells` with ``N = max_cells``.

    Args:
        threshold_code: minimum peak VIL in code units (0..254); 74 is the VIP level for moderate storms.
        max_cells: nodes kept per sample, the strongest first.
        min_distance_px: peaks closer than this (Chebyshev distance, input pixels) are merged.
    """

    def __init__(self, threshold_code: float = 74, max_cells: int = 32, min_distance_px: int = 3) -> None:
        super().__init__()
        if max_cells < 1 or min_distance_px < 1:
            raise ValueError(f"max_cells and min_distance_px must be >= 1, got {max_cells}, {min_distance_px}")
        self.threshold = threshold_code / CODE_SCALE
        self.max_cells = max_cells
        self.min_distance_px = min_distance_px

    def forward(self, vil: torch.Tensor, features: torch.Tensor) -> StormCells:
        height, width = vil.shape[-2:]
        vil = vil.detach().float()
        peaks = find_peaks(vil, self.threshold, self.min_distance_px)
        score = torch.where(peaks, vil, torch.full_like(vil, -1.0))
        top, index = score.flatten(1).topk(min(self.max_cells, height * width), dim=1)
        valid = top >= self.threshold
        col = (index % width).to(features.dtype)
        row = torch.div(index, width, rounding_mode="floor").to(features.dtype)
        xy_px = torch.stack([col, row], dim=-1)

        # Pixel centres in grid_sample's normalised coordinates (align_corners=False) address the same
        # physical point in the full grid and in the strided feature map.
        grid = torch.stack([(col + 0.5) / width, (row + 0.5) / height], dim=-1) * 2 - 1
        pooled = F.avg_pool2d(features, 3, stride=1, padding=1, count_include_pad=False)
        sampled = F.grid_sample(pooled, grid[:, None], align_corners=False)[:, :, 0].transpose(1, 2)  # (B, N, C)

        intensity = torch.where(valid, top, torch.zeros_like(top)).to(features.dtype)
        position = xy_px / xy_px.new_tensor([max(width - 1, 1), max(height - 1, 1)])
        node = torch.cat([sampled, intensity[..., None], position], dim=-1)
        keep = valid[..., None].to(features.dtype)
        return StormCells(features=node * keep, xy_px=xy_px * keep, intensity=intensity, valid=valid)
