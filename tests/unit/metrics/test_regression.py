"""Streaming MSE/MAE against numpy on the pooled arrays."""

from __future__ import annotations

import numpy as np
import pytest

from atmo.metrics.regression import ErrorAccumulator, mae, mse


def test_per_group_streaming_matches_numpy() -> None:
    rng = np.random.default_rng(7)
    pred = rng.uniform(0, 255, size=(7, 4, 5, 6)).astype(np.float32)
    target = rng.uniform(0, 255, size=(7, 4, 5, 6)).astype(np.float16)
    acc = ErrorAccumulator(n_groups=4)
    for start, stop in ((0, 3), (3, 4), (4, 7)):  # uneven batches must not be weighted as equal
        acc.update(pred[start:stop], target[start:stop])
    diff = pred.astype(np.float64) - target.astype(np.float64)
    np.testing.assert_allclose(acc.mse(), (diff**2).mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(acc.mae(), np.abs(diff).mean(axis=(0, 2, 3)), rtol=1e-6)
    assert acc.mse_overall() == pytest.approx((diff**2).mean(), rel=1e-6)
    assert acc.mae_overall() == pytest.approx(np.abs(diff).mean(), rel=1e-6)
    np.testing.assert_array_equal(acc.count, [7 * 5 * 6] * 4)


def test_pooled_and_functions() -> None:
    pred = np.array([1.0, 2.0, 4.0])
    target = np.array([1.0, 0.0, 1.0])
    assert mse(pred, target) == pytest.approx((0 + 4 + 9) / 3)
    assert mae(pred, target) == pytest.approx((0 + 2 + 3) / 3)
    acc = ErrorAccumulator()
    acc.update(pred, target)
    assert acc.mse().shape == (1,)


def test_empty_is_nan_and_bad_input_raises() -> None:
    acc = ErrorAccumulator(n_groups=2)
    assert np.isnan(acc.mse()).all() and np.isnan(acc.mae_overall())
    with pytest.raises(ValueError, match="differs"):
        acc.update(np.zeros((1, 2)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"\(B, 2, \.\.\.\)"):
        acc.update(np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        acc.update(np.array([[np.nan, 0.0]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="n_groups"):
        ErrorAccumulator(n_groups=0)
