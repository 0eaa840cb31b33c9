"""Confusion-matrix scores for categorical (and ordinal) maps, as pure functions and a streaming accumulator.

Every score is a function of the confusion matrix ``cm`` ``(K, K)``, rows the true class and columns
the predicted class, ``cm[i, j] = #(true == i and pred == j)``, ``N = cm.sum()``. Pixels are counted
once over the whole evaluation set (pooled) before any score is formed, so a raster may be scored
window by window with :class:`ConfusionAccumulator` without ever holding it in memory.

Per class ``k`` (true positives ``TP_k = cm[k, k]``, row sum ``T_k``, column sum ``P_k``)::

    precision_k = TP_k / P_k        recall_k = TP_k / T_k        IoU_k = TP_k / (T_k + P_k - TP_k)

A score whose denominator is zero is undefined and reported as NaN, never 0: a class that is never
predicted has no precision, and a NaN says so instead of passing for a model that is always wrong.
``macro_iou`` averages the defined IoUs.

Cohen's kappa compares the observed disagreement with the one expected by chance from the margins,
``E = outer(T, P) / N``, under a disagreement weight ``w``::

    kappa = 1 - sum(w * cm) / sum(w * E)
    unweighted w_ij = [i != j]    linear w_ij = |i - j|    quadratic w_ij = (i - j)^2

The weighted forms suit ordinal classes (low < medium < high): confusing low with high costs more
than confusing neighbours. Spearman's rho is the Pearson correlation of the average ranks (ties
share the mean of their ranks) of the true and predicted classes, computed from the margins and
``cm`` without expanding the pixels, and equal to ``scipy.stats.spearmanr`` on the expanded lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from atmo.metrics.contingency import safe_ratio

KappaWeights = Literal["linear", "quadratic"] | None


def confusion_matrix(true: ArrayLike, pred: ArrayLike, n_classes: int, ignore: int | None = None) -> np.ndarray:
    """Counts ``(n_classes, n_classes)`` int64 of (true, predicted) class pairs, rows true.

    ``true`` and ``pred`` are integer arrays of one shape. Pixels where either equals ``ignore`` (a
    nodata value such as 255) are not counted; any other value outside ``0 .. n_classes - 1`` is a
    ``ValueError``, since silently dropping it would hide a mislabelled raster.
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    t, p = np.asarray(true), np.asarray(pred)
    if t.shape != p.shape:
        raise ValueError(f"true and pred shapes differ: {t.shape} vs {p.shape}")
    t, p = t.ravel(), p.ravel()
    if ignore is not None:
        keep = (t != ignore) & (p != ignore)
        t, p = t[keep], p[keep]
    for name, values in (("true", t), ("pred", p)):
        bad = (values < 0) | (values >= n_classes)
        if bad.any():
            found = np.unique(values[bad])[:5].tolist()
            raise ValueError(f"{name} has values {found} outside the classes 0..{n_classes - 1} (ignore={ignore})")
    codes = t.astype(np.int64) * n_classes + p.astype(np.int64)
    return np.bincount(codes, minlength=n_classes * n_classes).reshape(n_classes, n_classes).astype(np.int64)


def _square(cm: ArrayLike) -> np.ndarray:
    matrix = np.asarray(cm, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square confusion matrix, got shape {matrix.shape}")
    return matrix


def precision(cm: ArrayLike) -> np.ndarray:
    """Per-class precision ``(K,)``: ``cm[k, k] / cm[:, k].sum()``; NaN for a class never predicted."""
    matrix = _square(cm)
    return safe_ratio(np.diag(matrix), matrix.sum(axis=0))


def recall(cm: ArrayLike) -> np.ndarray:
    """Per-class recall ``(K,)``: ``cm[k, k] / cm[k, :].sum()``; NaN for a class absent from the truth."""
    matrix = _square(cm)
    return safe_ratio(np.diag(matrix), matrix.sum(axis=1))


def iou(cm: ArrayLike) -> np.ndarray:
    """Per-class intersection over union (Jaccard) ``(K,)``; NaN for a class neither true nor predicted."""
    matrix = _square(cm)
    tp = np.diag(matrix)
    return safe_ratio(tp, matrix.sum(axis=0) + matrix.sum(axis=1) - tp)


def macro_iou(cm: ArrayLike) -> float:
    """Mean of the defined per-class IoUs (classes neither true nor predicted are left out); NaN if none."""
    values = iou(cm)
    return float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else float("nan")


def accuracy(cm: ArrayLike) -> float:
    """Fraction of pixels on the diagonal; NaN for an empty matrix."""
    matrix = _square(cm)
    return float(safe_ratio(np.trace(matrix), matrix.sum()))


def cohen_kappa(cm: ArrayLike, weights: KappaWeights = None) -> float:
    """Cohen's kappa of ``cm`` with disagreement weights ``None`` (0/1), ``"linear"`` or ``"quadratic"``.

    ``1 - sum(w * cm) / sum(w * E)`` with ``E = outer(row sums, column sums) / N`` (module docstring).
    NaN when chance disagreement is zero (e.g. truth and prediction are both one single class).
    """
    matrix = _square(cm)
    k = matrix.shape[0]
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
    if weights is None:
        w = (distance > 0).astype(np.float64)
    elif weights == "linear":
        w = distance
    elif weights == "quadratic":
        w = distance**2
    else:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    total = matrix.sum()
    if total == 0:
        return float("nan")
    expected = np.outer(matrix.sum(axis=1), matrix.sum(axis=0)) / total
    return float(1.0 - safe_ratio((w * matrix).sum(), (w * expected).sum()))


def _average_ranks(counts: np.ndarray) -> np.ndarray:
    """Average rank (1-based) of each class when ``counts[k]`` tied items of class ``k`` are sorted, ``(K,)``."""
    before = np.cumsum(counts) - counts
    return before + (counts + 1.0) / 2.0


def spearman_rho(cm: ArrayLike) -> float:
    """Spearman's rank correlation of true and predicted classes, exactly, from ``cm`` alone.

    Each pixel of true class ``i`` gets the average rank ``r_i`` of its tie group (all pixels of
    class ``i``), each predicted ``j`` likewise ``s_j``; rho is the count-weighted Pearson
    correlation ``sum cm_ij (r_i - m)(s_j - m) / sqrt(sum T_i (r_i - m)^2 * sum P_j (s_j - m)^2)``,
    ``m = (N + 1) / 2`` the mean of either rank list. NaN when truth or prediction is constant.
    """
    matrix = _square(cm)
    total = matrix.sum()
    if total == 0:
        return float("nan")
    rows, cols = matrix.sum(axis=1), matrix.sum(axis=0)
    mean = (total + 1.0) / 2.0
    r, s = _average_ranks(rows) - mean, _average_ranks(cols) - mean
    covariance = r @ matrix @ s
    scale = np.sqrt((rows * r**2).sum() * (cols * s**2).sum())
    return float(safe_ratio(covariance, scale))


def classification_scores(cm: ArrayLike, class_names: Sequence[str]) -> dict[str, float]:
    """Every score of this module as one flat dict of floats, per-class scores keyed by class name.

    Keys: ``kappa_unweighted``, ``kappa_linear``, ``kappa_quadratic``, ``precision_<name>``,
    ``recall_<name>``, ``iou_<name>``, ``macro_iou``, ``spearman_rho``, ``accuracy``, ``n_pixels``.
    """
    matrix = _square(cm)
    if len(class_names) != matrix.shape[0]:
        raise ValueError(f"{len(class_names)} class names for a {matrix.shape[0]}-class confusion matrix")
    scores: dict[str, float] = {
        "kappa_unweighted": cohen_kappa(matrix),
        "kappa_linear": cohen_kappa(matrix, "linear"),
        "kappa_quadratic": cohen_kappa(matrix, "quadratic"),
    }
    for label, values in (("precision", precision(matrix)), ("recall", recall(matrix)), ("iou", iou(matrix))):
        scores.update({f"{label}_{name}": float(value) for name, value in zip(class_names, values, strict=True)})
    scores.update(
        {
            "macro_iou": macro_iou(matrix),
            "spearman_rho": spearman_rho(matrix),
            "accuracy": accuracy(matrix),
            "n_pixels": float(matrix.sum()),
        }
    )
    return scores


class ConfusionAccumulator:
    """A confusion matrix summed over batches (tiles, raster windows), rows true, columns predicted.

    ``ignore`` is the nodata value of the label rasters (e.g. 255): pixels where the truth or the
    prediction equals it are skipped, as are pixels where the optional boolean ``valid`` mask of
    :meth:`update` is False. :attr:`matrix` is ``(n_classes, n_classes)`` int64.
    """

    def __init__(self, n_classes: int, ignore: int | None = None) -> None:
        if n_classes < 1:
            raise ValueError(f"n_classes must be >= 1, got {n_classes}")
        self.n_classes = n_classes
        self.ignore = ignore
        self.matrix = np.zeros((n_classes, n_classes), dtype=np.int64)

    def update(self, true: ArrayLike, pred: ArrayLike, valid: ArrayLike | None = None) -> None:
        """Add the pixels of one batch; ``true``, ``pred`` (and ``valid``) share one shape."""
        t, p = np.asarray(true), np.asarray(pred)
        if valid is not None:
            mask = np.asarray(valid, dtype=bool)
            if mask.shape != t.shape:
                raise ValueError(f"valid mask shape {mask.shape} differs from true shape {t.shape}")
            if t.shape != p.shape:
                raise ValueError(f"true and pred shapes differ: {t.shape} vs {p.shape}")
            t, p = t[mask], p[mask]
        self.matrix += confusion_matrix(t, p, self.n_classes, ignore=self.ignore)

    def scores(self, class_names: Sequence[str]) -> dict[str, float]:
        """:func:`classification_scores` of the pooled matrix."""
        return classification_scores(self.matrix, class_names)
