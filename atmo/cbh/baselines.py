"""The two untrained baselines every CBH model must beat, per leave-one-flight-out fold.

- :func:`climatology`: the mean cloud-base height of the training flights, for every test sample.
  Its R² on a test flight is at most 0 (exactly 0 only if the flight's mean equals the training
  mean), so R² > 0 means "better than knowing the campaign's typical height".
- :func:`geometry_alone`: the WP-1 shadow estimate ``cbh_geom_km`` as the prediction, no learning.
  It exists only where a shadow was found; where it is NaN, or non-physical (<= 0 km), the
  baseline falls back to the training flights' climatology and reports the share it filled.
  Filling keeps the baseline scored on the same test samples as every other approach (dropping
  the shadowless samples would score it on an easier subset); the filled share says how much of
  its score is climatology rather than geometry.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def climatology(y_train: ArrayLike, n_test: int) -> np.ndarray:
    """(n_test,) float64: the mean of the training labels ``y_train`` (km), repeated."""
    return np.full(n_test, _training_mean(y_train), dtype=np.float64)


def geometry_alone(geom_km_test: ArrayLike, y_train: ArrayLike) -> tuple[np.ndarray, float]:
    """``(predictions (n_test,) km, filled fraction)``: the shadow estimate, climatology where it has none.

    A sample is filled when ``geom_km_test`` is NaN (no shadow) or <= 0 km; the fraction is of
    the test samples (0.0 for an empty test set).
    """
    geometry = np.asarray(geom_km_test, dtype=np.float64)
    if geometry.ndim != 1:
        raise ValueError(f"geom_km_test must be 1-D, got shape {geometry.shape}")
    usable = np.isfinite(geometry) & (geometry > 0)
    predictions = np.where(usable, geometry, _training_mean(y_train))
    filled = float((~usable).mean()) if len(geometry) else 0.0
    return predictions, filled


def _training_mean(y_train: ArrayLike) -> float:
    y = np.asarray(y_train, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not np.isfinite(y).all():
        raise ValueError(f"y_train must be a non-empty 1-D array of finite heights, got shape {y.shape}")
    return float(y.mean())
