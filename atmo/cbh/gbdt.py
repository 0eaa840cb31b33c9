"""Gradient-boosted trees on the physical features alone (ERA5 + shadow geometry).

:func:`fit_predict` trains scikit-learn's ``HistGradientBoostingRegressor`` on a fold's training
rows and predicts its test flight. Missing values (no shadow) go to the trees as NaN, which the
histogram trees route natively, so no imputation is fitted. Early stopping is off: it would carve
its validation set out of whatever it is given, and a fixed ``max_iter`` keeps the test flight out
of every decision.

:func:`pooled_kfold_predictions` is the protocol the campaign must not report: a shuffled k-fold
over every sample of every flight. Neighbouring samples of one flight land on both sides of the
split, so trees recognise the flight (its ERA5 values are nearly constant) and recall its height;
the gap between its R² and the leave-one-flight-out R² is the leakage LOFO avoids.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold

from atmo.settings import settings_block


class GbdtSettings(settings_block("cbh", "gbdt")):
    """The ``cbh.gbdt`` block: ``HistGradientBoostingRegressor`` arguments, the seed, and the pooled k."""


def make_regressor(settings: GbdtSettings) -> HistGradientBoostingRegressor:
    """An unfitted regressor with ``settings`` and early stopping off."""
    return HistGradientBoostingRegressor(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_depth=settings.max_depth,
        min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization,
        early_stopping=False,
        random_state=settings.seed,
    )


def fit_predict(x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, settings: GbdtSettings) -> np.ndarray:
    """Fit on ``x_train`` (N, F) and ``y_train`` (N,) km; predict ``x_test`` (M, F) -> (M,) float64 km.

    NaN features are allowed (routed by the trees); labels must be finite.
    """
    features, labels = _check_training(x_train, y_train)
    new = np.asarray(x_test, dtype=np.float64)
    if new.ndim != 2 or new.shape[1] != features.shape[1]:
        raise ValueError(f"x_test must be (M, {features.shape[1]}), got shape {new.shape}")
    if len(new) == 0:
        return np.empty(0, dtype=np.float64)
    return make_regressor(settings).fit(features, labels).predict(new).astype(np.float64)


def pooled_kfold_predictions(x: ArrayLike, y: ArrayLike, settings: GbdtSettings) -> np.ndarray:
    """(N,) out-of-fold predictions of a shuffled ``settings.pooled_folds``-fold split of all samples.

    The split is seeded with ``settings.seed``; every sample is predicted by the one model that did
    not train on it. Flights are ignored on purpose (see the module doc).
    """
    features, labels = _check_training(x, y)
    if len(labels) < settings.pooled_folds:
        raise ValueError(f"{len(labels)} samples cannot make {settings.pooled_folds} folds")
    out = np.full(len(labels), np.nan)
    splitter = KFold(n_splits=settings.pooled_folds, shuffle=True, random_state=settings.seed)
    for train, test in splitter.split(features):
        out[test] = make_regressor(settings).fit(features[train], labels[train]).predict(features[test])
    return out


def _check_training(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(x, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64)
    if features.ndim != 2 or labels.shape != (len(features),):
        raise ValueError(f"expected x (N, F) and y (N,), got shapes {features.shape} and {labels.shape}")
    if len(labels) == 0 or not np.isfinite(labels).all():
        raise ValueError("training labels must be non-empty and finite")
    if np.isinf(features).any():
        raise ValueError("features contain infinite values (only NaN marks a missing value)")
    return features, labels
