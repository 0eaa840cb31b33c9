"""Regression errors: MSE/MAE streamed over batches (optionally per group), RMSE and R² of arrays.

Test sets do not fit in memory, so errors are accumulated as float64 sums and counts and divided
at the end; the result equals the error over all elements pooled, not a mean of batch means
(which would weight a short last batch like a full one):

    MSE = sum (p - y)^2 / n        MAE = sum |p - y| / n        RMSE = sqrt(MSE)

Units are those of the inputs; callers scale first (VIL scores are in codes 0..255, as the SEVIR
benchmark's are). :func:`r2` is the coefficient of determination of one set of predictions,
``1 - sum (y - p)^2 / sum (y - mean y)^2``, undefined (NaN) when the truth is constant.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


class ErrorAccumulator:
    """Streaming MSE/MAE over batches, per group along axis 1 or pooled.

    With ``n_groups=None`` every element is pooled; with ``n_groups=T`` batches must have shape
    ``(B, T, ...)`` and errors are kept per index of axis 1 (e.g. per lead time) as well as overall.
    """

    def __init__(self, n_groups: int | None = None) -> None:
        if n_groups is not None and n_groups < 1:
            raise ValueError(f"n_groups must be >= 1 or None, got {n_groups}")
        self.n_groups = n_groups
        size = 1 if n_groups is None else n_groups
        self.sum_squared = np.zeros(size, dtype=np.float64)
        self.sum_absolute = np.zeros(size, dtype=np.float64)
        self.count = np.zeros(size, dtype=np.int64)

    def update(self, prediction: ArrayLike, target: ArrayLike) -> None:
        """Add one batch of equal-shaped ``prediction`` and ``target`` arrays."""
        p = np.asarray(prediction)
        y = np.asarray(target)
        if p.shape != y.shape:
            raise ValueError(f"prediction shape {p.shape} differs from target shape {y.shape}")
        # float32 differences (float64 for float64 inputs) halve the memory of a batch; the sums are
        # accumulated in float64 so millions of pixels do not lose precision.
        dtype = np.result_type(p.dtype, y.dtype, np.float32)
        diff = p.astype(dtype) - y.astype(dtype)
        if self.n_groups is None:
            diff = diff.reshape(1, -1)
        else:
            if p.ndim < 2 or p.shape[1] != self.n_groups:
                raise ValueError(f"expected shape (B, {self.n_groups}, ...), got {p.shape}")
            diff = np.moveaxis(diff, 1, 0).reshape(self.n_groups, -1)
        if not np.isfinite(diff).all():
            raise ValueError("prediction or target contains NaN or infinite values")
        self.sum_squared += np.square(diff).sum(axis=1, dtype=np.float64)
        self.sum_absolute += np.abs(diff).sum(axis=1, dtype=np.float64)
        self.count += diff.shape[1]

    def mse(self) -> np.ndarray:
        """MSE per group, shape ``(n_groups,)`` (``(1,)`` when pooled); NaN before any update."""
        return _mean(self.sum_squared, self.count)

    def mae(self) -> np.ndarray:
        """MAE per group, shape ``(n_groups,)`` (``(1,)`` when pooled); NaN before any update."""
        return _mean(self.sum_absolute, self.count)

    def mse_overall(self) -> float:
        """MSE pooled over every element seen."""
        return float(_mean(self.sum_squared.sum(), self.count.sum()))

    def mae_overall(self) -> float:
        """MAE pooled over every element seen."""
        return float(_mean(self.sum_absolute.sum(), self.count.sum()))


def mse(prediction: ArrayLike, target: ArrayLike) -> float:
    """Mean squared error of two equal-shaped arrays."""
    acc = ErrorAccumulator()
    acc.update(prediction, target)
    return acc.mse_overall()


def mae(prediction: ArrayLike, target: ArrayLike) -> float:
    """Mean absolute error of two equal-shaped arrays."""
    acc = ErrorAccumulator()
    acc.update(prediction, target)
    return acc.mae_overall()


def rmse(prediction: ArrayLike, target: ArrayLike) -> float:
    """Root mean squared error of two equal-shaped arrays: ``sqrt(sum (p - y)^2 / n)``."""
    return float(np.sqrt(mse(prediction, target)))


def r2(prediction: ArrayLike, target: ArrayLike) -> float:
    """Coefficient of determination ``1 - sum (y - p)^2 / sum (y - mean y)^2`` (scikit-learn's ``r2_score``).

    Arguments are in this module's order (prediction first). NaN when it is undefined: fewer than
    two values or a constant ``target`` (scikit-learn's ``force_finite=False``), so a caller can
    tell "undefined" from a score. Inputs must be finite and of equal shape.
    """
    p = np.asarray(prediction, dtype=np.float64).ravel()
    y = np.asarray(target, dtype=np.float64).ravel()
    if np.shape(prediction) != np.shape(target):
        raise ValueError(f"prediction shape {np.shape(prediction)} differs from target shape {np.shape(target)}")
    if not (np.isfinite(p).all() and np.isfinite(y).all()):
        raise ValueError("prediction or target contains NaN or infinite values")
    if y.size < 2 or np.all(y == y[0]):  # equality, not a zero sum: the mean of equal floats may round
        return float("nan")
    total = float(np.square(y - y.mean()).sum())
    return 1.0 - float(np.square(y - p).sum()) / total


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``total / count`` with NaN where nothing was counted."""
    total = np.asarray(total, dtype=np.float64)
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=np.asarray(count) > 0)
    return out
