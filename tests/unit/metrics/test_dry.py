"""The dry mean on hand-worked arrays: forecast codes over truth-code-0 pixels, pooled as a ratio of sums."""

from __future__ import annotations

import numpy as np
import pytest

from atmo.metrics.dry import DryMeanAccumulator


def as_cache_scale(codes: list) -> np.ndarray:
    """Integer VIL codes -> code/255 float16, exactly as the nowcast cache stores truth."""
    return (np.asarray(codes, dtype=np.float64) / 255.0).astype(np.float16)


def test_hand_worked_dry_mean_per_lead_and_pooled() -> None:
    # One sample, two leads, 1 x 4 pixels.
    # lead 1: truth [0, 0, 0, 90], forecast [3, 0, 6, 90]  -> dry pixels 3, codes 3 + 0 + 6 = 9 -> 3.0
    # lead 2: truth [0, 40, 1, 90], forecast [12, 40, 7, 0] -> dry pixel 1 (code 1 is not dry), code 12 -> 12.0
    truth = as_cache_scale([[[[0, 0, 0, 90]], [[0, 40, 1, 90]]]])
    forecast = (np.array([[[[3, 0, 6, 90]], [[12, 40, 7, 0]]]]) / 255.0).astype(np.float32)
    acc = DryMeanAccumulator(n_leads=2)
    acc.update(forecast, truth)
    np.testing.assert_allclose(acc.per_lead(), [3.0, 12.0], rtol=1e-6)
    np.testing.assert_array_equal(acc.n_dry, [3, 1])
    # pooled: (9 + 12) / (3 + 1) = 5.25, not the mean of per-lead means (7.5)
    assert acc.overall() == pytest.approx(5.25, rel=1e-6)


def test_batches_add_up_and_a_lead_without_dry_pixels_is_undefined() -> None:
    truth = as_cache_scale([[[[0, 20]], [[30, 20]]], [[[0, 0]], [[30, 20]]]])
    forecast = (np.array([[[[2, 20]], [[30, 20]]], [[[4, 8]], [[0, 0]]]]) / 255.0).astype(np.float32)
    whole, split = DryMeanAccumulator(2), DryMeanAccumulator(2)
    whole.update(forecast, truth)
    split.update(forecast[:1], truth[:1])
    split.update(forecast[1:], truth[1:])
    # lead 1: dry pixels with forecast codes 2, 4, 8 -> 14 / 3; lead 2: no dry pixel
    for acc in (whole, split):
        assert acc.per_lead()[0] == pytest.approx(14 / 3, rel=1e-6) and np.isnan(acc.per_lead()[1])
        assert acc.overall() == pytest.approx(14 / 3, rel=1e-6)
    assert np.isnan(DryMeanAccumulator(1).overall())


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match="n_leads"):
        DryMeanAccumulator(0)
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        DryMeanAccumulator(2).update(np.zeros((1, 3, 2, 2)), np.zeros((1, 3, 2, 2)))
