"""Scores of a CBH approach over all its test flights at once, beside the per-flight scores of the report.

The write-up's R² is computed per test flight and averaged over flights. A flight's R² divides by
the spread of heights within that flight, which is small on a flight that stays under one cloud
deck, so a few centimetres of error there weigh like a kilometre elsewhere; and it mixes two
questions. These scores separate them (``y`` measured, ``p`` predicted, ``f`` a sample's flight):

- :func:`pooled_r2`, R² over every test sample of every fold together,
  ``1 - sum (y - p)^2 / sum (y - mean y)^2``: how much of the campaign's height variance the
  approach explains, between flights and within them.
- :func:`within_flight_r2`, the same after removing each flight's own mean from ``y`` and from
  ``p``: ``1 - sum ((y - ybar_f) - (p - pbar_f))^2 / sum (y - ybar_f)^2``. It asks only whether
  the approach follows the heights along a flight; a constant per flight (climatology) scores 0,
  and an approach right up to one offset per flight scores 1.
- :func:`bias`, ``mean (p - y)`` of one flight: the offset that :func:`within_flight_r2` ignores
  and that a flight-mean MAE hides in its absolute values.

Undefined scores are NaN: a pooled R² when every measured height is equal, a within-flight R² when
every flight's heights are constant.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from atmo.metrics.regression import r2


def bias(prediction: ArrayLike, target: ArrayLike) -> float:
    """``mean(prediction - target)``: positive when the approach puts the cloud base too high."""
    p, y = _pair(prediction, target)
    if p.size == 0:
        raise ValueError("bias of no samples is undefined")
    return float(np.mean(p - y))


def pooled_r2(prediction: ArrayLike, target: ArrayLike) -> float:
    """R² over all samples pooled (the flights' samples concatenated); NaN when ``target`` is constant."""
    return r2(*_pair(prediction, target))


def within_flight_r2(prediction: ArrayLike, target: ArrayLike, flight: ArrayLike) -> float:
    """R² of prediction and target each de-meaned per ``flight`` (N,); NaN when every flight's target is constant."""
    p, y = _pair(prediction, target)
    groups = np.asarray(flight)
    if groups.shape != y.shape:
        raise ValueError(f"flight shape {groups.shape} differs from target shape {y.shape}")
    residual = 0.0
    total = 0.0
    varies = False
    for group in np.unique(groups):
        member = groups == group
        y_g, p_g = y[member], p[member]
        varies |= bool(np.any(y_g != y_g[0]))  # equality, not a zero sum: the mean of equal floats may round
        total += float(np.square(y_g - y_g.mean()).sum())
        residual += float(np.square((y_g - y_g.mean()) - (p_g - p_g.mean())).sum())
    if not varies:
        return float("nan")
    return 1.0 - residual / total


def _pair(prediction: ArrayLike, target: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(prediction, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if p.ndim != 1 or p.shape != y.shape:
        raise ValueError(f"expected 1-D prediction and target of equal length, got {p.shape} and {y.shape}")
    if not (np.isfinite(p).all() and np.isfinite(y).all()):
        raise ValueError("prediction or target contains NaN or infinite values")
    return p, y
