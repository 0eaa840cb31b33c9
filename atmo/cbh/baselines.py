"""The closed-form baselines every CBH model must beat, per leave-one-flight-out fold.

Each uses the training flights' labels at most through a mean, and the test flight's labels never:

- :func:`climatology`: the mean cloud-base height of the training flights, for every test sample.
  Its R² on a test flight is at most 0 (exactly 0 only if the flight's mean equals the training
  mean), so R² > 0 means "better than knowing the campaign's typical height".
- :func:`geometry_alone`: the shadow-geometry estimate ``cbh_geom_km`` as the prediction, no learning.
- :func:`geometry_calibrated`: the same estimate plus one constant, the mean of label − estimate
  over the training samples with a usable estimate. The shadow method has a systematic offset
  (the shadow edge is not the cloud base); a reviewer asks whether a learned model beats the
  estimate once that offset is removed, not whether it beats a biased one.
- :func:`lcl`: the lifting condensation level of the ERA5 2 m temperature and dew point,
  ``125 m/K * (t2m - d2m)`` (the cache's ``lcl_m``): where a well-mixed boundary layer puts
  cumulus bases, with no fitting at all.

An estimate is unusable where it is NaN or non-physical (shadow: <= 0 km; LCL: < 0 km, a dew
point above the temperature). There the baseline falls back to the training climatology and
reports the share it filled. Filling keeps every baseline scored on the same test samples as
every other approach (dropping the samples without an estimate would score it on an easier
subset); the filled share says how much of its score is climatology.
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
    geometry = _one_dimensional(geom_km_test, "geom_km_test")
    return _filled(geometry, usable_geometry(geometry), y_train)


def geometry_calibrated(
    geom_km_train: ArrayLike, y_train: ArrayLike, geom_km_test: ArrayLike
) -> tuple[np.ndarray, float, float | None]:
    """``(predictions (n_test,) km, filled fraction, bias km)``: the shadow estimate plus the training bias.

    ``bias = mean(y_train - geom_km_train)`` over the training samples whose estimate is usable
    (as in :func:`geometry_alone`). Without any such sample there is nothing to calibrate on: the
    bias is ``None`` and every test sample gets the climatology (filled fraction 1).
    """
    train = _one_dimensional(geom_km_train, "geom_km_train")
    labels = np.asarray(y_train, dtype=np.float64)
    if labels.shape != train.shape:
        raise ValueError(f"geom_km_train {train.shape} and y_train {labels.shape} differ in shape")
    test = _one_dimensional(geom_km_test, "geom_km_test")
    usable_train = usable_geometry(train)
    if not usable_train.any():
        predictions, filled = _filled(test, np.zeros(len(test), dtype=bool), labels)
        return predictions, filled, None
    bias = float(np.mean(labels[usable_train] - train[usable_train]))
    predictions, filled = _filled(test + bias, usable_geometry(test), labels)
    return predictions, filled, bias


def lcl(lcl_m_test: ArrayLike, y_train: ArrayLike) -> tuple[np.ndarray, float]:
    """``(predictions (n_test,) km, filled fraction)``: the ERA5 LCL in km, climatology where it is missing.

    A sample is filled when ``lcl_m_test`` (metres above the surface) is NaN or negative.
    """
    lcl_m = _one_dimensional(lcl_m_test, "lcl_m_test")
    usable = np.isfinite(lcl_m) & (lcl_m >= 0)
    return _filled(lcl_m / 1000.0, usable, y_train)


def usable_geometry(geom_km: np.ndarray) -> np.ndarray:
    """Boolean mask: a shadow estimate that exists and is physical (finite, > 0 km)."""
    return np.isfinite(geom_km) & (geom_km > 0)


def _filled(estimate_km: np.ndarray, usable: np.ndarray, y_train: ArrayLike) -> tuple[np.ndarray, float]:
    """``estimate_km`` where ``usable``, the training mean elsewhere, and the share filled."""
    predictions = np.where(usable, estimate_km, _training_mean(y_train))
    filled = float((~usable).mean()) if len(usable) else 0.0
    return predictions, filled


def _one_dimensional(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    return array


def _training_mean(y_train: ArrayLike) -> float:
    y = np.asarray(y_train, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not np.isfinite(y).all():
        raise ValueError(f"y_train must be a non-empty 1-D array of finite heights, got shape {y.shape}")
    return float(y.mean())
