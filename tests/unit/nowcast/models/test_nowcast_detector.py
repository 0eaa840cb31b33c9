"""Storm-cell detector: peaks at the right places, thresholds, plateaus, padding."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from atmo.nowcast.models.detector import StormCellDetector, find_peaks

Field = Callable[[list[tuple[int, int, float]]], torch.Tensor]


@pytest.fixture
def field(blob: Callable[..., torch.Tensor]) -> Field:
    """``[(x, y, peak), ...] -> (32, 32)`` VIL field of narrow Gaussian cells."""

    def make(peaks: list[tuple[int, int, float]]) -> torch.Tensor:
        vil = torch.zeros(32, 32)
        for x, y, value in peaks:
            vil = torch.maximum(vil, blob(32, x, y, 1.5, value))
        return vil

    return make


def test_finds_hand_placed_peaks_strongest_first(field: Field) -> None:
    vil = field([(5, 7, 0.5), (20, 25, 0.9), (27, 4, 0.7), (14, 14, 0.2)])[None]  # the last is below VIP 74
    cells = StormCellDetector(threshold_code=74, max_cells=8, min_distance_px=3)(vil, torch.randn(1, 6, 8, 8))
    assert cells.valid.sum() == 3
    assert cells.xy_px[0, :3].tolist() == [[20.0, 25.0], [27.0, 4.0], [5.0, 7.0]]
    assert torch.allclose(cells.intensity[0, :3], torch.tensor([0.9, 0.7, 0.5]))
    assert torch.all(cells.features[0, 3:] == 0) and torch.all(cells.xy_px[0, 3:] == 0)
    # node features end with intensity and the normalised (x, y) position
    assert torch.allclose(cells.features[0, 0, -3:], torch.tensor([0.9, 20 / 31, 25 / 31]))


def test_max_cells_keeps_the_strongest(field: Field) -> None:
    vil = field([(4, 4, 0.5), (16, 16, 0.95), (27, 27, 0.6)])[None]
    cells = StormCellDetector(max_cells=2)(vil, torch.zeros(1, 4, 8, 8))
    assert cells.valid.tolist() == [[True, True]]
    assert cells.xy_px[0].tolist() == [[16.0, 16.0], [27.0, 27.0]]


def test_plateau_gives_one_peak_and_close_peaks_merge() -> None:
    vil = torch.zeros(1, 32, 32)
    vil[0, 10:14, 10:14] = 1.0  # saturated core: 16 equal maxima
    vil[0, 25, 25], vil[0, 25, 27] = 0.6, 0.5  # two maxima 2 px apart
    peaks = find_peaks(vil, threshold=0.29, radius_px=3)
    assert peaks[0, 10:14, 10:14].sum() == 1
    assert peaks[0, 25, 25] and not peaks[0, 25, 27]
    assert peaks.sum() == 2


def test_sample_without_cells_is_all_padding(field: Field) -> None:
    vil = torch.stack([torch.full((32, 32), 0.1), field([(8, 8, 0.8)])])
    cells = StormCellDetector(max_cells=4)(vil, torch.randn(2, 4, 8, 8))
    assert cells.valid.sum(dim=1).tolist() == [0, 1]
    assert torch.all(cells.features[0] == 0)


def test_node_features_are_encoder_features_at_the_peak(field: Field) -> None:
    """A feature map equal to its coarse column index must read back the peak's column in coarse units."""
    vil = field([(18, 9, 0.8)])[None]
    features = torch.arange(8, dtype=torch.float32).expand(1, 1, 8, 8).clone()
    cells = StormCellDetector(max_cells=1)(vil, features)
    assert abs(cells.features[0, 0, 0].item() - ((18 + 0.5) / 4 - 0.5)) < 1e-5
