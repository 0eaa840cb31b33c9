"""The untrained baselines: training-flight climatology and the WP-1 shadow estimate with its fallback."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from atmo.cbh.baselines import climatology, geometry_alone


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
