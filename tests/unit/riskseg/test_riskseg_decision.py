"""The two decision rules: argmax, and the ordinal median that can pick the class in the middle."""

from __future__ import annotations

import numpy as np
import pytest

from atmo.riskseg.decision import decide


def test_median_picks_the_middle_class_where_argmax_cannot() -> None:
    probs = np.array([0.42, 0.25, 0.33]).reshape(3, 1, 1)
    assert decide(probs, "argmax")[0, 0] == 0
    assert decide(probs, "median")[0, 0] == 1


def test_median_is_the_smallest_class_with_half_the_mass_below_it() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1, 1], size=500).T.reshape(3, 20, 25)
    expected = np.argmax(np.cumsum(probs, axis=0) >= 0.5, axis=0)
    np.testing.assert_array_equal(decide(probs, "median"), expected)


def test_invalid_pixels_are_nodata_and_unknown_rules_refused() -> None:
    probs = np.full((3, 2, 2), 1 / 3)
    valid = np.array([[True, False], [True, True]])
    assert decide(probs, "argmax", valid)[0, 1] == 255
    with pytest.raises(ValueError, match="mode"):
        decide(probs, "mode")
