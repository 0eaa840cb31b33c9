"""Streaming MSE/MAE against numpy on the pooled arrays; RMSE and R² against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score, root_mean_squared_error

from atmo.metrics.regression import ErrorAccumulator, mae, mse, r2, rmse


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


def test_rmse_and_r2_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    target = rng.uniform(0.2, 3.0, 50)
    pred = target + rng.normal(0.2, 0.5, 50)
    assert rmse(pred, target) == pytest.approx(root_mean_squared_error(target, pred), rel=1e-12)
    assert r2(pred, target) == pytest.approx(r2_score(target, pred), rel=1e-12)
    assert r2(target, target) == 1.0
    assert r2(np.full(50, target.mean()), target) == pytest.approx(0.0, abs=1e-12)


def test_r2_is_undefined_for_constant_or_single_targets() -> None:
    assert np.isnan(r2(np.array([1.0, 2.0, 3.0]), np.full(3, 0.1)))  # 0.1's mean rounds; still undefined
    assert np.isnan(r2(np.array([1.0]), np.array([2.0])))
    with pytest.raises(ValueError, match="NaN"):
        r2(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="differs"):
        r2(np.zeros(2), np.zeros(3))
