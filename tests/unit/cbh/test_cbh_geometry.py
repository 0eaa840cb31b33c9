"""shadow geometry on hand-built frames with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atmo.cbh.geometry import GeometrySettings, shadow_features, shift_mask

SETTINGS = GeometrySettings()


def _frame(shadow_rows: int, shadow_cols: int, with_shadow: bool = True) -> np.ndarray:
    """(3, 60, 80) frame: surface 100, one cloud block 220, its shadow block 45 moved by (rows, cols)."""
    gray = np.full((60, 80), 100.0)
    if with_shadow:
        gray[25 + shadow_rows : 31 + shadow_rows, 30 + shadow_cols : 42 + shadow_cols] = 45.0
    gray[25:31, 30:42] = 220.0
    return np.repeat(gray[None], 3, axis=0).astype(np.uint8)


def test_shift_mask_moves_and_zero_fills() -> None:
    mask = np.zeros((4, 5), bool)
    mask[1, 1] = True
    assert shift_mask(mask, 2, 3)[3, 4] and shift_mask(mask, 2, 3).sum() == 1
    assert shift_mask(mask, -1, -1)[0, 0]
    assert not shift_mask(mask, 3, 0).any() and not shift_mask(mask, 0, 9).any()


@pytest.mark.parametrize(
    ("sun_azimuth_deg", "rows", "cols"),
    [
        (180.0, -10, 0),  # sun in the south: shadow to the north, i.e. up in a north-up frame
        (90.0, 0, -10),  # sun in the east: shadow to the west, i.e. left
        (315.0, 7, 7),  # sun in the north-west: shadow to the south-east
    ],
)
def test_recovers_base_height_from_known_offset(sun_azimuth_deg: float, rows: int, cols: int) -> None:
    gsd_m, sza = 100.0, 45.0
    offset_px = math.hypot(rows, cols)
    cbh_km, offset_m, confidence = shadow_features(_frame(rows, cols), sza, sun_azimuth_deg, gsd_m, SETTINGS)
    assert offset_m == pytest.approx(offset_px * gsd_m, abs=0.6 * gsd_m)
    assert cbh_km == pytest.approx(offset_px * gsd_m / math.tan(math.radians(sza)) / 1000, abs=0.06)
    assert confidence > 0.8


def test_scales_with_sun_zenith_and_ground_resolution() -> None:
    """The same pixel offset means a lower base when the sun is lower and pixels are smaller."""
    high_sun, _, _ = shadow_features(_frame(-10, 0), 30.0, 180.0, 100.0, SETTINGS)
    low_sun, _, _ = shadow_features(_frame(-10, 0), 60.0, 180.0, 50.0, SETTINGS)
    assert high_sun == pytest.approx(1.0 / math.tan(math.radians(30.0)), rel=0.02)
    assert low_sun == pytest.approx(0.5 / math.tan(math.radians(60.0)), rel=0.02)


def test_no_shadow_gives_nan_and_zero_confidence() -> None:
    cbh_km, offset_m, confidence = shadow_features(_frame(0, 0, with_shadow=False), 45.0, 180.0, 100.0, SETTINGS)
    assert math.isnan(cbh_km) and math.isnan(offset_m) and confidence == 0.0


def test_shadow_on_the_wrong_side_is_not_matched() -> None:
    """A dark block towards the sun cannot be this cloud's shadow."""
    cbh_km, _, confidence = shadow_features(_frame(10, 0), 45.0, 180.0, 100.0, SETTINGS)
    assert math.isnan(cbh_km) and confidence == 0.0


def test_sun_near_zenith_and_blank_frames_give_nan() -> None:
    assert math.isnan(shadow_features(_frame(-10, 0), 5.0, 180.0, 100.0, SETTINGS)[0])
    blank = np.full((3, 60, 80), 100, np.uint8)
    assert math.isnan(shadow_features(blank, 45.0, 180.0, 100.0, SETTINGS)[0])
