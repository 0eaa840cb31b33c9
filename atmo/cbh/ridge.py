"""A linear reference: ridge regression on the physical features (ERA5 + shadow geometry), as the trees see them.

If the gradient-boosted trees beat a straight line through the same features, their non-linearity earns its
place; if a straight line does as well, it is the simpler baseline to beat. Per fold:

1. :class:`~atmo.cbh.features.FeaturePreprocessor` (median imputation, then standardisation) is
   fitted on the rows a model trains on, so no statistic of a held-out row enters;
2. the penalty ``alpha`` is chosen from the fixed log grid :attr:`RidgeSettings.alphas` by inner
   cross-validation over the training rows only (:func:`inner_scores`): each split refits the
   preprocessing and the ridge on its own training part and scores the held-out part by the
   experiment's metric, the MAE of each held-out flight averaged over flights. The lowest mean wins;
   ties go to the larger penalty (the simpler model);
3. preprocessing and ridge are refitted on all training rows with that ``alpha``, and predict.

The inner splits are the caller's (:mod:`atmo.cbh.lofo`): leave one training flight out when a
fold has at least two training flights, otherwise the fold's validation split
(``cbh.validation``). The test flight is in none of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import Ridge

from atmo.cbh.features import FeaturePreprocessor
from atmo.settings import Check, settings_block

#: ``(fit rows, held-out rows)`` of one inner split, as integer indices into the training rows.
InnerSplit = tuple[np.ndarray, np.ndarray]


class RidgeSettings(settings_block("cbh", "ridge")):
    """The ``cbh.ridge`` block: the penalty grid the inner cross-validation chooses from (increasing)."""

    def cross_checks(self) -> list[Check]:
        grid = np.asarray(self.alphas, dtype=np.float64)
        return [
            ("alphas", bool(np.isfinite(grid).all()), "expected finite penalties"),
            ("alphas", bool((np.diff(grid) > 0).all()), "expected strictly increasing penalties"),
        ]


def fit_predict(x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, alpha: float) -> np.ndarray:
    """Preprocessing and ridge fitted on ``x_train`` (N, F), ``y_train`` (N,) km; (M,) float64 km for ``x_test``.

    NaN features are imputed with the training medians; labels must be finite.
    """
    features = np.asarray(x_train, dtype=np.float64)
    labels = np.asarray(y_train, dtype=np.float64)
    if features.ndim != 2 or labels.shape != (len(features),) or len(labels) == 0:
        raise ValueError(f"expected x_train (N, F), N >= 1, and y_train (N,), got {features.shape} and {labels.shape}")
    if not np.isfinite(labels).all():
        raise ValueError("training labels must be finite")
    preprocessor = FeaturePreprocessor().fit(features)
    model = Ridge(alpha=alpha).fit(preprocessor.transform(features), labels)
    new = np.asarray(x_test, dtype=np.float64)
    if len(new) == 0:
        return np.empty(0, dtype=np.float64)
    return model.predict(preprocessor.transform(new)).astype(np.float64)


def inner_scores(
    x: ArrayLike, y: ArrayLike, groups: ArrayLike, splits: Sequence[InnerSplit], alphas: Sequence[float]
) -> np.ndarray:
    """(n_alphas,) mean over ``splits`` of the held-out flight-mean MAE (km) of each penalty.

    ``x`` (N, F), ``y`` (N,) and ``groups`` (N,, the flight of each row) are the training rows;
    each split fits on its first index array and scores its second, whose MAE is computed per
    group (flight) and averaged over groups, as the experiment scores a test fold.
    """
    features = np.asarray(x, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64)
    flights = np.asarray(groups)
    if not splits:
        raise ValueError("inner cross-validation needs at least one split")
    scores = np.zeros(len(alphas))
    for fit_rows, held_rows in splits:
        if len(fit_rows) == 0 or len(held_rows) == 0:
            raise ValueError("every inner split needs rows to fit on and rows to score")
        held_flights = flights[held_rows]
        for i, alpha in enumerate(alphas):
            pred_km = fit_predict(features[fit_rows], labels[fit_rows], features[held_rows], alpha)
            errors = np.abs(pred_km - labels[held_rows])
            scores[i] += np.mean([errors[held_flights == g].mean() for g in np.unique(held_flights)])
    return scores / len(splits)


def choose_alpha(scores: ArrayLike, alphas: Sequence[float]) -> float:
    """The penalty with the lowest inner score; among equal scores the largest penalty."""
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (len(alphas),) or not np.isfinite(values).all():
        raise ValueError(f"expected {len(alphas)} finite inner scores, got {values}")
    return float(max(alpha for alpha, score in zip(alphas, values, strict=True) if score == values.min()))
