"""The decision rules: argmax, the ordinal median that can pick the class in the middle, and two thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from atmo.riskseg.decision import Decision, cumulative, decide


def test_median_picks_the_middle_class_where_argmax_cannot() -> None:
    probs = np.array([0.42, 0.25, 0.33]).reshape(3, 1, 1)
    assert decide(probs, "argmax")[0, 0] == 0
    assert decide(probs, "median")[0, 0] == 1


def test_median_is_the_smallest_class_with_half_the_mass_below_it() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1, 1], size=500).T.reshape(3, 20, 25)
    expected = np.argmax(np.cumsum(probs, axis=0) >= 0.5, axis=0)
    np.testing.assert_array_equal(decide(probs, "median"), expected)


def test_thresholds_read_the_cumulative_probabilities_high_first() -> None:
    # P(y>=1), P(y>=2): (0.58, 0.33), (0.30, 0.05), (0.50, 0.45), (0.95, 0.10)
    probs = np.array([[0.42, 0.25, 0.33], [0.70, 0.25, 0.05], [0.50, 0.05, 0.45], [0.05, 0.85, 0.10]]).T[:, None, :]
    np.testing.assert_allclose(cumulative(probs)[0][0], [0.58, 0.30, 0.50, 0.95])
    classes = decide(probs, Decision("thresholds", (0.3, 0.4)))[0]
    assert classes.tolist() == [1, 1, 2, 1]
    # t2 above t1: class 2 still needs only P(y>=2) >= t2, and class 1 the rest above t1
    assert decide(probs, Decision("thresholds", (0.55, 0.9)))[0].tolist() == [1, 0, 0, 1]


def test_thresholds_at_one_half_are_the_median_away_from_ties() -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet([1, 1, 1], size=400).T.reshape(3, 20, 20)
    np.testing.assert_array_equal(decide(probs, Decision("thresholds", (0.5, 0.5))), decide(probs, "median"))


@pytest.mark.parametrize("thresholds", [(0.3, 0.45), (0.6, 0.2), (0.05, 0.9)])
def test_a_crf_sees_probabilities_whose_median_is_the_fitted_thresholds_rule(thresholds: tuple) -> None:
    rng = np.random.default_rng(2)
    probs = rng.dirichlet([0.7, 0.7, 0.7], size=2000).T.reshape(3, 40, 50)
    decision = Decision("thresholds", thresholds)
    recalibrated, rule = decision.for_crf(probs)
    assert rule == Decision("median") and recalibrated.shape == probs.shape
    np.testing.assert_allclose(recalibrated.sum(axis=0), 1.0, atol=1e-6)
    assert (recalibrated >= 0).all()
    np.testing.assert_array_equal(decide(recalibrated, rule), decide(probs, decision))
    assert decide(probs, decision).tolist() != decide(probs, "median").tolist()  # the shift does something
    for fixed in ("argmax", "median"):
        view, rule = Decision(fixed).for_crf(probs)
        assert view is probs and rule == Decision(fixed)


def test_invalid_pixels_are_nodata_and_unknown_rules_refused() -> None:
    probs = np.full((3, 2, 2), 1 / 3)
    valid = np.array([[True, False], [True, True]])
    assert decide(probs, "argmax", valid)[0, 1] == 255
    with pytest.raises(ValueError, match="mode"):
        decide(probs, "mode")
    with pytest.raises(ValueError, match="only 'thresholds'"):
        Decision("argmax", (0.3, 0.5))
    with pytest.raises(ValueError, match="only 'thresholds'"):
        Decision("thresholds")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Decision("thresholds", (0.3, 1.5))
