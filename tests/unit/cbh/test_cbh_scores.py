"""Scores over all test flights: pooled R², within-flight R² and per-flight bias, on hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from atmo.cbh.scores import bias, pooled_r2, within_flight_r2

# Flight A: measured 1, 2, 3, predicted 2, 2, 4; flight B: measured 5, 7, predicted 4, 8.
TRUTH = np.array([1.0, 2.0, 3.0, 5.0, 7.0])
PRED = np.array([2.0, 2.0, 4.0, 4.0, 8.0])
FLIGHT = np.array(["A", "A", "A", "B", "B"])


def test_pooled_r2_by_hand() -> None:
    # mean 3.6; sum of squares about it 2.6² + 1.6² + 0.6² + 1.4² + 3.4² = 23.2; residuals 1, 0, 1, -1, 1 -> 4
    assert pooled_r2(PRED, TRUTH) == pytest.approx(1 - 4 / 23.2)
    assert pooled_r2(PRED, TRUTH) == pytest.approx(r2_score(TRUTH, PRED))
    assert np.isnan(pooled_r2([1.0, 2.0], [3.0, 3.0]))


def test_within_flight_r2_by_hand() -> None:
    # A: truth - 2 = -1, 0, 1; prediction - 8/3 = -2/3, -2/3, 4/3; differences -1/3, 2/3, -1/3 -> 6/9
    # B: truth - 6 = -1, 1; prediction - 6 = -2, 2; differences 1, -1 -> 2
    # total: A 2 + B 2 = 4; residual 2/3 + 2 = 8/3 -> R² = 1 - (8/3) / 4 = 1/3
    assert within_flight_r2(PRED, TRUTH, FLIGHT) == pytest.approx(1 / 3)


def test_within_flight_r2_ignores_offsets_per_flight_and_scores_a_constant_per_flight_zero() -> None:
    offsets = np.where(FLIGHT == "A", 0.7, -1.3)
    assert within_flight_r2(TRUTH + offsets, TRUTH, FLIGHT) == pytest.approx(1.0)
    per_flight_mean = np.where(FLIGHT == "A", 5.0, -2.0)  # climatology-like: one value per flight
    assert within_flight_r2(per_flight_mean, TRUTH, FLIGHT) == pytest.approx(0.0)
    assert np.isnan(within_flight_r2(TRUTH, np.where(FLIGHT == "A", 1.0, 2.0), FLIGHT))  # every flight constant


def test_bias_by_hand_and_refusals() -> None:
    assert bias(PRED[:3], TRUTH[:3]) == pytest.approx(2 / 3)  # flight A
    assert bias(PRED[3:], TRUTH[3:]) == pytest.approx(0.0)  # flight B: errors -1 and +1 cancel
    with pytest.raises(ValueError, match="undefined"):
        bias([], [])
    with pytest.raises(ValueError, match="NaN"):
        pooled_r2([np.nan, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="flight shape"):
        within_flight_r2(PRED, TRUTH, FLIGHT[:2])
