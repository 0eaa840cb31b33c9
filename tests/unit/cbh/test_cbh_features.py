"""The physical-feature preprocessor: scikit-learn's median imputer + scaler, fitted on training rows only."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_cbh_folds import SIZES, make_table

from atmo.cbh.features import FeaturePreprocessor
from atmo.cbh.folds import ValidationSettings, fold_indices, make_folds


def _features(n: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[0.0, 300.0, 1500.0], scale=[1.0, 5.0, 400.0], size=(n, 3))
    X[rng.random((n, 3)) < 0.25] = np.nan
    return X


def test_matches_sklearn_median_imputer_and_standard_scaler() -> None:
    X, X_new = _features(), _features(seed=1)
    reference = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(X)
    pre = FeaturePreprocessor(["a", "b", "c"]).fit(X)
    out = pre.transform(X_new)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out, reference.transform(X_new), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pre.median, reference[0].statistics_)


def test_empty_and_constant_columns_are_zero_after_scaling(caplog: pytest.LogCaptureFixture) -> None:
    X = _features()
    X[:, 0] = np.nan
    X[:, 2] = 7.0
    with caplog.at_level(logging.WARNING, logger="atmo.cbh.features"):
        pre = FeaturePreprocessor(["cbh_geom_km", "blh", "lcc"]).fit(X)
    assert "'cbh_geom_km' has no finite value" in caplog.text
    assert pre.median[0] == 0.0 and pre.scale[0] == 1.0 and pre.scale[2] == 1.0
    out = pre.transform(np.array([[np.nan, 300.0, 7.0], [2.5, np.nan, np.nan]]))
    assert out[0, 0] == 0.0 and out[0, 2] == 0.0 and out[1, 2] == 0.0
    assert out[1, 0] == pytest.approx(2.5)  # mean 0, scale 1: values pass through


def test_fit_sees_only_the_training_rows_of_a_fold() -> None:
    table = make_table(SIZES)
    validation = ValidationSettings()
    fold = make_folds(table, validation)[1]
    split = fold_indices(table, fold, validation)
    X, names = table.tabular()
    state = FeaturePreprocessor(names).fit(X[split["train"]]).to_dict()

    perturbed = X.copy()
    held_out = np.r_[split["test"], split["val"]]
    perturbed[held_out] = np.random.default_rng(9).normal(100.0, 50.0, (len(held_out), X.shape[1]))
    perturbed[split["test"][::2], -1] = np.nan
    assert FeaturePreprocessor(names).fit(perturbed[split["train"]]).to_dict() == state

    changed = X.copy()
    changed[split["train"][0]] += 1000.0  # a training row does move the state: the check can fail
    assert FeaturePreprocessor(names).fit(changed[split["train"]]).to_dict() != state


def test_state_round_trips_through_json_and_a_weights_only_checkpoint(tmp_path: Path) -> None:
    X = _features()
    pre = FeaturePreprocessor(["a", "b", "c"]).fit(X)
    expected = pre.transform(X)
    from_json = FeaturePreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(from_json.transform(X), expected)
    torch.save({"preprocessor": pre.to_dict()}, tmp_path / "model.pt")
    loaded = torch.load(tmp_path / "model.pt", weights_only=True)["preprocessor"]
    np.testing.assert_array_equal(FeaturePreprocessor.from_dict(loaded).transform(X), expected)
    assert FeaturePreprocessor().fit(X).to_dict()["names"] is None


def test_misuse_raises() -> None:
    X = _features()
    with pytest.raises(RuntimeError, match="before fit"):
        FeaturePreprocessor().transform(X)
    pre = FeaturePreprocessor().fit(X)
    with pytest.raises(ValueError, match="expected 3 feature columns"):
        pre.transform(X[:, :2])
    with pytest.raises(ValueError, match="expected 2 feature columns"):
        FeaturePreprocessor(["a", "b"]).fit(X)
    with pytest.raises(ValueError, match="infinite"):
        pre.transform(np.full((1, 3), np.inf))
    with pytest.raises(ValueError, match="zero rows"):
        FeaturePreprocessor().fit(np.empty((0, 3)))
    state = pre.to_dict()
    with pytest.raises(ValueError, match="scale > 0"):
        FeaturePreprocessor.from_dict({**state, "scale": [1.0, 0.0, 1.0]})
    with pytest.raises(ValueError, match="equal-length"):
        FeaturePreprocessor.from_dict({**state, "mean": [0.0]})
    with pytest.raises(ValueError, match="exactly the keys"):
        FeaturePreprocessor.from_dict({"median": []})
