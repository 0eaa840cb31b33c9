"""Bootstrap interval of a metric averaged over cross-validation folds.

Leave-one-flight-out scores are a mean over a handful of folds, some of them small flights (the
seed's smallest has 24 samples). One fold's R² then moves a lot with which few samples happen to
be in it, and the fold-to-fold standard deviation mixes that sampling noise with real differences
between flights. The bootstrap asks the narrower question "how much would the fold-mean move if
each test flight had been sampled again?":

1. per replicate ``b`` and fold ``k``, draw ``n_k`` test samples of fold ``k`` with replacement
   and recompute the metric ``m_bk`` on them (each fold keeps its size; folds never mix);
2. average over folds: ``M_b = mean_k m_bk``;
3. the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of ``M_b``
   (the percentile bootstrap).

The point estimate is the fold-mean of the metric on the original samples. A metric may be
undefined (NaN), e.g. R² of a resample whose truth is constant: undefined folds are left out of
that replicate's mean, a fold undefined on its original samples is left out altogether, and
replicates with no defined fold are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

#: ``metric(y_pred, y_true) -> float``, in :mod:`atmo.metrics.regression`'s argument order.
Metric = Callable[[np.ndarray, np.ndarray], float]


def bootstrap_fold_mean(
    fold_predictions: Sequence[tuple[ArrayLike, ArrayLike]],
    metric: Metric,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """``(mean, low, high)`` of ``metric`` averaged over folds; see the module doc.

    ``fold_predictions`` holds one ``(y_true, y_pred)`` pair of equal-length 1-D arrays per fold;
    ``metric`` is called as ``metric(y_pred, y_true)`` (so :func:`~atmo.metrics.regression.r2`
    and :func:`~atmo.metrics.regression.mae` pass as they are). All NaN when the metric is
    undefined on every fold. Deterministic for a given ``seed``.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    folds = []
    for k, (y_true, y_pred) in enumerate(fold_predictions):
        truth = np.asarray(y_true, dtype=np.float64)
        pred = np.asarray(y_pred, dtype=np.float64)
        if truth.ndim != 1 or truth.shape != pred.shape or truth.size == 0:
            raise ValueError(f"fold {k}: y_true {truth.shape} and y_pred {pred.shape} must be equal, non-empty 1-D")
        folds.append((truth, pred))
    if not folds:
        raise ValueError("no folds to bootstrap")
    point = np.array([metric(pred, truth) for truth, pred in folds], dtype=np.float64)
    defined = [fold for fold, value in zip(folds, point, strict=True) if np.isfinite(value)]
    if not defined:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    replicates = np.empty((n_boot, len(defined)))
    for k, (truth, pred) in enumerate(defined):
        draws = rng.integers(0, len(truth), size=(n_boot, len(truth)))
        replicates[:, k] = [metric(pred[d], truth[d]) for d in draws]
    replicates[~np.isfinite(replicates)] = np.nan
    mean = float(point[np.isfinite(point)].mean())
    kept = replicates[~np.isnan(replicates).all(axis=1)]
    if len(kept) == 0:
        return mean, float("nan"), float("nan")
    low, high = np.quantile(np.nanmean(kept, axis=1), [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return mean, float(low), float(high)
