"""The closed-form baselines: training-flight climatology, the LCL and the shadow-geometry estimate, raw and
bias-calibrated, each with its climatology fallback."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from atmo.cbh.baselines import climatology, geometry_alone, geometry_calibrated, lcl


def test_climatology_is_the_training_mean_and_never_beats_it_on_r2() -> None:
    y_train = np.array([0.5, 1.0, 1.5, 3.0])
    prediction = climatology(y_train, 3)
    np.testing.assert_array_equal(prediction, [1.5, 1.5, 1.5])
    assert climatology(y_train, 0).shape == (0,)
    y_test = np.array([0.4, 1.2, 2.9])
    assert r2_score(y_test, prediction) <= 0.0


def test_geometry_fills_missing_and_non_physical_estimates_with_climatology() -> None:
    y_train = np.array([1.0, 2.0, 3.0])
    geometry = np.array([0.8, np.nan, 1.7, 0.0, -0.3, 2.2], dtype=np.float32)
    prediction, filled = geometry_alone(geometry, y_train)
    np.testing.assert_allclose(prediction, [0.8, 2.0, 1.7, 2.0, 2.0, 2.2], rtol=1e-6)
    assert filled == pytest.approx(0.5)
    prediction, filled = geometry_alone(np.array([1.0, 1.5]), y_train)
    np.testing.assert_array_equal(prediction, [1.0, 1.5])
    assert filled == 0.0
    assert geometry_alone(np.array([]), y_train)[1] == 0.0


def test_baselines_refuse_unusable_training_labels() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        climatology(np.array([]), 2)
    with pytest.raises(ValueError, match="finite"):
        geometry_alone(np.array([1.0]), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="1-D"):
        geometry_alone(np.ones((2, 2)), np.array([1.0]))


def test_calibrated_geometry_removes_a_constant_bias_learnt_on_the_training_samples() -> None:
    y_train = np.array([1.0, 2.0, 0.5, 3.0, 1.5])
    geom_train = y_train - 0.3  # the shadow estimate reads 300 m low
    geom_train[[1, 3]] = [np.nan, 0.0]  # no estimate: left out of the fit, whatever their labels
    y_test = np.array([0.8, 2.2, 1.4, 0.9])
    geom_test = y_test - 0.3
    geom_test[2] = np.nan
    prediction, filled, bias = geometry_calibrated(geom_train, y_train, geom_test)
    assert bias == pytest.approx(0.3)
    np.testing.assert_allclose(prediction, [0.8, 2.2, y_train.mean(), 0.9])
    assert filled == pytest.approx(0.25)
    raw, raw_filled = geometry_alone(geom_test, y_train)
    assert raw_filled == filled and np.abs(raw - y_test)[[0, 1, 3]] == pytest.approx([0.3] * 3)


def test_calibrated_geometry_without_a_training_estimate_is_climatology() -> None:
    y_train = np.array([1.0, 2.0])
    prediction, filled, bias = geometry_calibrated(np.array([np.nan, -1.0]), y_train, np.array([0.7, np.nan]))
    np.testing.assert_array_equal(prediction, [1.5, 1.5])
    assert filled == 1.0 and bias is None
    with pytest.raises(ValueError, match="differ in shape"):
        geometry_calibrated(np.array([1.0]), y_train, np.array([1.0]))


def test_lcl_is_the_era5_lcl_in_km_with_climatology_where_it_is_missing() -> None:
    y_train = np.array([0.5, 1.5])
    prediction, filled = lcl(np.array([500.0, np.nan, -20.0, 0.0, 1250.0, 900.0]), y_train)
    np.testing.assert_allclose(prediction, [0.5, 1.0, 1.0, 0.0, 1.25, 0.9])
    assert filled == pytest.approx(2 / 6)
