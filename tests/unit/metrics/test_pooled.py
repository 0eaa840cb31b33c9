"""Metrics re-formed from summed unit statistics agree with scikit-learn and with hand-worked counts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_score

from atmo.metrics.contingency import ContingencyAccumulator
from atmo.metrics.pooled import PooledMetric, class_precision, cohen_kappa, confusion_statistics, mean_csi, ratio


def test_kappa_and_precision_of_a_confusion_matrix_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 500)
    prediction = np.where(rng.random(500) < 0.6, truth, rng.integers(0, 3, 500))
    sums = confusion_matrix(truth, prediction, labels=[0, 1, 2]).ravel().astype(float)
    assert len(sums) == len(confusion_statistics(3))
    assert float(cohen_kappa(3).formula(sums)) == pytest.approx(cohen_kappa_score(truth, prediction))
    precision = class_precision(3, 1, "precision_medium", "class-1 precision")
    assert float(precision.formula(sums)) == pytest.approx(
        precision_score(truth, prediction, labels=[1], average=None)[0]
    )


def test_a_class_never_predicted_has_undefined_precision() -> None:
    sums = np.array([5, 0, 1, 2, 0, 3, 0, 0, 4], dtype=float)  # column 1 all zero
    assert np.isnan(class_precision(3, 1, "p", "p").formula(sums))


def test_csi_m_averages_only_the_thresholds_the_truth_reaches() -> None:
    """T 16: H 2, M 1, F 1 -> 0.5; T 74: H 1, M 1, F 0 -> 0.5; T 181: never reached (H + M = 0), left out."""
    metric = mean_csi([16, 74, 181])
    sums = np.array([2, 1, 1, 1, 1, 0, 0, 0, 3], dtype=float)
    assert float(metric.formula(sums)) == pytest.approx(0.5)
    assert np.isnan(metric.formula(np.array([0, 0, 2] * 3, dtype=float)))


def test_csi_m_counts_an_unreached_threshold_as_0_under_zero_and_agrees_with_the_accumulator() -> None:
    """T 16: H 1, M 1, F 1 -> 1/3; T 74: H 0, M 1, F 1 -> 0; T 181: H 0, M 0, F 1 (never reached).

    skip: (1/3 + 0) / 2 = 1/6; zero: (1/3 + 0 + 0) / 3 = 1/9 (Earthformer's CSI-M).
    """
    sums = np.array([1, 1, 1, 0, 1, 1, 0, 0, 1], dtype=float)
    assert float(mean_csi([16, 74, 181]).formula(sums)) == pytest.approx(1 / 6)
    assert float(mean_csi([16, 74, 181], unreached="zero").formula(sums)) == pytest.approx(1 / 9)
    # the same counts through the streaming accumulator: one rule for score files and comparisons
    acc = ContingencyAccumulator([16, 74, 181], n_leads=1)
    acc.hits[:, 0], acc.misses[:, 0], acc.false_alarms[:, 0] = [1, 0, 0], [1, 1, 0], [1, 1, 1]
    assert (acc.csi_m(), acc.csi_m(unreached="zero")) == (pytest.approx(1 / 6), pytest.approx(1 / 9))
    # resampled rows (R, K): one CSI-M per row, a row without 181's false alarm still 0 there
    rows = np.stack([sums, np.array([1, 1, 1, 0, 1, 1, 0, 0, 0], dtype=float)])
    np.testing.assert_allclose(mean_csi([16, 74, 181], unreached="zero").formula(rows), [1 / 9, 1 / 9])
    with pytest.raises(ValueError, match="unreached"):
        mean_csi([16], unreached="drop")


def test_unit_mean_weighs_every_unit_once_whatever_its_size() -> None:
    """Flight 1: 10 samples with error 1; flight 2: 2 samples with error 4. Fold-mean MAE 2.5, pooled 1.5."""
    sums = np.array([[10.0, 10.0], [8.0, 2.0]])
    pooled = ratio("mae", "MAE", "e", "n", higher_is_better=False)
    unit_mean = ratio("mae", "MAE", "e", "n", higher_is_better=False, pooling="unit_mean")
    weights = np.ones(2)
    assert float(pooled.of_units(sums, weights)) == pytest.approx(18 / 12)
    assert float(unit_mean.of_units(sums, weights)) == pytest.approx(2.5)
    # flight 2 drawn twice, flight 1 absent: its copies' sums are added, its MAE is still 4
    assert float(unit_mean.of_units(np.array([[0.0, 0.0], [16.0, 4.0]]), np.array([0.0, 2.0]))) == pytest.approx(4.0)


def test_a_metric_needs_statistics_and_a_known_pooling() -> None:
    with pytest.raises(ValueError, match="reads no statistics"):
        PooledMetric("m", "m", (), lambda s: s, True)
    with pytest.raises(ValueError, match="pooling"):
        PooledMetric("m", "m", ("a",), lambda s: s, True, "median")  # type: ignore[arg-type]
