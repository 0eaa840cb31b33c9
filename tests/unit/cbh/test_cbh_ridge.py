"""The ridge baseline: training-row preprocessing, the penalty grid and its choice by inner cross-validation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error

from atmo.cbh.ridge import RidgeSettings, choose_alpha, fit_predict, inner_scores
from atmo.errors import ConfigError
from atmo.settings import build_block


def test_settings_build_from_config_and_refuse_bad_grids() -> None:
    assert build_block(RidgeSettings, {"alphas": [1, 10]}, "cbh.ridge").alphas == (1.0, 10.0)
    cases = (([], r"alphas': expected at least 1 item"), ([0.0, 1.0], r"alphas\[0\]': expected > 0"))
    for alphas, message in (*cases, ([10.0, 1.0], "alphas': expected strictly increasing")):
        with pytest.raises(ConfigError, match=rf"'cbh\.ridge\.{message}"):
            build_block(RidgeSettings, {"alphas": alphas}, "cbh.ridge")


def test_fit_predict_imputes_and_scales_with_training_statistics_only() -> None:
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(50, 3)) * [1.0, 100.0, 0.01]
    y_train = x_train @ [0.5, 0.002, 30.0] + 1.0
    x_test = rng.normal(size=(5, 3))
    x_test[0, 1] = np.nan
    prediction = fit_predict(x_train, y_train, x_test, alpha=1e-6)
    # independent: sklearn's Ridge on the training-standardised columns, NaN imputed by the training median
    mean, std, median = x_train.mean(0), x_train.std(0), np.median(x_train, 0)
    filled = np.where(np.isnan(x_test), median, x_test)
    expected = Ridge(alpha=1e-6).fit((x_train - mean) / std, y_train).predict((filled - mean) / std)
    np.testing.assert_allclose(prediction, expected, rtol=1e-5, atol=1e-5)
    # the test rows' values never enter the preprocessing: another test row leaves the first ones alone
    more = fit_predict(x_train, y_train, np.vstack([x_test, [[1e6, 1e6, 1e6]]]), alpha=1e-6)
    np.testing.assert_allclose(more[:5], prediction, rtol=1e-6)


def test_inner_scores_are_held_out_flight_mean_maes() -> None:
    rng = np.random.default_rng(1)
    flights = np.repeat([0, 1, 2], [20, 10, 5])
    x = rng.normal(size=(35, 2))
    y = x[:, 0] + 0.1 * rng.normal(size=35)
    splits = [(np.flatnonzero(flights != g), np.flatnonzero(flights == g)) for g in range(3)]
    scores = inner_scores(x, y, flights, splits, [0.1, 1000.0])
    expected = [
        np.mean([mean_absolute_error(y[held], fit_predict(x[fit], y[fit], x[held], alpha)) for fit, held in splits])
        for alpha in (0.1, 1000.0)
    ]
    np.testing.assert_allclose(scores, expected)
    assert scores[0] < scores[1]  # the signal is real: a huge penalty flattens it


def test_choose_alpha_takes_the_lowest_score_and_the_larger_penalty_on_ties() -> None:
    assert choose_alpha([0.3, 0.2, 0.4], [0.1, 1.0, 10.0]) == 1.0
    assert choose_alpha([0.2, 0.2, 0.4], [0.1, 1.0, 10.0]) == 1.0
    with pytest.raises(ValueError, match="finite inner scores"):
        choose_alpha([np.nan, 0.2], [0.1, 1.0])
