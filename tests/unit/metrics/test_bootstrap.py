"""Bootstrap of a fold-mean metric: known answers, SciPy's percentile bootstrap, undefined folds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap
from sklearn.metrics import r2_score

from atmo.metrics.bootstrap import bootstrap_fold_mean
from atmo.metrics.regression import mae, r2


def _mean_error(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(pred - truth))


def test_perfect_predictions_give_a_point_interval() -> None:
    rng = np.random.default_rng(0)
    folds = [(y, y.copy()) for y in (rng.uniform(0.2, 3.0, n) for n in (24, 101, 7))]
    assert bootstrap_fold_mean(folds, r2) == (1.0, 1.0, 1.0)
    assert bootstrap_fold_mean(folds, mae) == (0.0, 0.0, 0.0)


def test_folds_are_averaged_not_pooled() -> None:
    small = (np.zeros(3), np.zeros(3))  # MAE 0 on every resample
    large = (np.zeros(10), np.ones(10))  # MAE 1 on every resample
    assert bootstrap_fold_mean([small, large], mae) == pytest.approx((0.5, 0.5, 0.5))  # pooled would be 10/13


def test_two_sample_fold_by_hand() -> None:
    # errors {0, 1}: a resample's MAE is 0 (p = 1/4), 0.5 (p = 1/2) or 1 (p = 1/4)
    mean, low, high = bootstrap_fold_mean([(np.zeros(2), np.array([0.0, 1.0]))], mae, n_boot=4000, seed=3)
    assert (mean, low, high) == (0.5, 0.0, 1.0)
    mean, low, high = bootstrap_fold_mean([(np.zeros(2), np.array([0.0, 1.0]))], mae, n_boot=4000, level=0.4)
    assert (low, high) == (0.5, 0.5)  # the middle 40 % all lie on 0.5


def test_one_fold_agrees_with_scipy_percentile_bootstrap() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.5, 2.0, 300)
    pred = truth + rng.normal(0.1, 0.3, 300)
    mean, low, high = bootstrap_fold_mean([(truth, pred)], _mean_error, n_boot=4000, seed=0)
    ref = bootstrap((pred - truth,), np.mean, n_resamples=4000, method="percentile", rng=np.random.default_rng(5))
    assert mean == pytest.approx(np.mean(pred - truth))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.1 * width)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.1 * width)
    assert low < mean < high


def test_metric_gets_predictions_first_and_undefined_folds_are_left_out() -> None:
    rng = np.random.default_rng(2)
    folds = [(rng.uniform(0, 3, n), rng.uniform(0, 3, n)) for n in (30, 40)]
    expected = np.mean([r2_score(y_true, y_pred) for y_true, y_pred in folds])
    assert bootstrap_fold_mean(folds, r2, n_boot=50)[0] == pytest.approx(expected)
    constant = (np.full(5, 1.2), rng.uniform(0, 3, 5))  # R² undefined: constant truth
    with_constant = bootstrap_fold_mean([constant, *folds], r2, n_boot=200, seed=4)
    assert with_constant == bootstrap_fold_mean(folds, r2, n_boot=200, seed=4)
    assert all(np.isnan(bootstrap_fold_mean([constant], r2, n_boot=10)))


def test_seeded_and_checked() -> None:
    rng = np.random.default_rng(3)
    folds = [(rng.normal(size=20), rng.normal(size=20))]
    assert bootstrap_fold_mean(folds, mae, seed=1) == bootstrap_fold_mean(folds, mae, seed=1)
    assert bootstrap_fold_mean(folds, mae, seed=1) != bootstrap_fold_mean(folds, mae, seed=2)
    with pytest.raises(ValueError, match="no folds"):
        bootstrap_fold_mean([], mae)
    with pytest.raises(ValueError, match="level"):
        bootstrap_fold_mean(folds, mae, level=1.0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_fold_mean(folds, mae, n_boot=0)
    with pytest.raises(ValueError, match="fold 0"):
        bootstrap_fold_mean([(np.zeros(3), np.zeros(4))], mae)
