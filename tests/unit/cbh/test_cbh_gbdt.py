"""gradient-boosted trees: settings, NaN-tolerant fits without early stopping, and the leakage of a pooled k-fold."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import r2_score
from threadpoolctl import threadpool_limits

from atmo.cbh.gbdt import GbdtSettings, fit_predict, make_regressor, pooled_kfold_predictions
from atmo.errors import ConfigError
from atmo.settings import build_block

FAST = GbdtSettings(max_iter=40, learning_rate=0.1, min_samples_leaf=3)


@pytest.fixture(autouse=True)
def _one_openmp_thread():
    """Tiny fits: OpenMP threads only contend on a shared machine (seconds instead of milliseconds)."""
    with threadpool_limits(1):
        yield


def test_settings_build_from_config_and_refuse_bad_values() -> None:
    assert build_block(GbdtSettings, None, "cbh.gbdt") == GbdtSettings()
    assert build_block(GbdtSettings, {"max_depth": None}, "cbh.gbdt").max_depth is None
    with pytest.raises(ConfigError, match=r"'cbh\.gbdt\.pooled_folds': expected >= 2, got 1"):
        build_block(GbdtSettings, {"pooled_folds": 1}, "cbh.gbdt")
    with pytest.raises(ConfigError, match=r"'cbh\.gbdt\.learning_rate'"):
        build_block(GbdtSettings, {"learning_rate": 0}, "cbh.gbdt")
    regressor = make_regressor(GbdtSettings(max_iter=7, seed=3))
    assert regressor.early_stopping is False and regressor.max_iter == 7 and regressor.random_state == 3


def test_fit_predict_learns_with_missing_features_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 3, (300, 3))
    y = 0.5 + 0.6 * X[:, 0] + rng.normal(0, 0.05, 300)
    X[rng.random(300) < 0.3, 0] = np.nan
    X_train, y_train, X_test, y_test = X[:200], y[:200], X[200:], y[200:]
    prediction = fit_predict(X_train, y_train, X_test, FAST)
    assert prediction.shape == (100,) and np.isfinite(prediction).all()
    known = ~np.isnan(X_test[:, 0])
    assert r2_score(y_test[known], prediction[known]) > 0.8
    np.testing.assert_array_equal(prediction, fit_predict(X_train, y_train, X_test, FAST))
    assert fit_predict(X_train, y_train, np.empty((0, 3)), FAST).shape == (0,)
    with pytest.raises(ValueError, match="x_test"):
        fit_predict(X_train, y_train, X_test[:, :2], FAST)
    with pytest.raises(ValueError, match="finite"):
        fit_predict(X_train, np.r_[y_train[:-1], np.nan], X_test, FAST)


def _flights(n_flights: int = 6, per_flight: int = 40, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flights whose features identify them but do not predict their (random) mean base height."""
    rng = np.random.default_rng(seed)
    flight = np.repeat(np.arange(n_flights), per_flight)
    regime = rng.normal(size=(n_flights, 3))
    base = rng.uniform(0.4, 2.5, n_flights)
    X = regime[flight] + rng.normal(0, 0.05, (len(flight), 3))
    y = base[flight] + rng.normal(0, 0.05, len(flight))
    return X, y, flight


def test_pooled_kfold_scores_far_above_leave_one_flight_out() -> None:
    X, y, flight = _flights()
    pooled = pooled_kfold_predictions(X, y, FAST)
    lofo = np.empty_like(y)
    for k in np.unique(flight):
        test = flight == k
        lofo[test] = fit_predict(X[~test], y[~test], X[test], FAST)
    assert r2_score(y, pooled) > 0.9
    assert r2_score(y, lofo) < 0.5


def test_pooled_predictions_are_out_of_fold_and_seeded() -> None:
    rng = np.random.default_rng(2)
    X = np.arange(100, dtype=float)[:, None]  # a unique id per sample: trees can memorise it
    y = rng.normal(size=100)  # pure noise
    memorise = GbdtSettings(max_iter=60, learning_rate=0.3, max_depth=None, min_samples_leaf=1)
    in_sample = make_regressor(memorise).fit(X, y).predict(X)
    assert r2_score(y, in_sample) > 0.9
    out_of_fold = pooled_kfold_predictions(X, y, memorise)
    assert np.isfinite(out_of_fold).all() and r2_score(y, out_of_fold) < 0.1
    np.testing.assert_array_equal(out_of_fold, pooled_kfold_predictions(X, y, memorise))
    other = pooled_kfold_predictions(X, y, dataclasses.replace(memorise, seed=1))
    assert not np.array_equal(other, out_of_fold)
    with pytest.raises(ValueError, match="cannot make 5 folds"):
        pooled_kfold_predictions(X[:4], y[:4], FAST)
