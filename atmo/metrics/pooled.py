"""Metrics re-formed from summed per-unit statistics, so a bootstrap can recompute them on resamples.

A comparison resamples an experiment's independent units (events, flights, blocks, days) and needs
the metric of every resample. Averaging per-unit metrics would be wrong for the pooled scores the
experiments report: a CSI is ``hits / (hits + misses + false alarms)`` over *all* pixels, so it has
to be re-formed from the resample's summed counts, never averaged over units. A
:class:`PooledMetric` therefore names the additive statistics it reads (columns of a unit table,
:mod:`atmo.metrics.unit_stats`) and a formula from their sums to the metric.

Two poolings:

- ``pooled``: the metric of the summed statistics of every unit in the resample (CSI, kappa,
  per-pixel CRPS of the whole test period);
- ``unit_mean``: the metric of each unit, averaged over units (the leave-one-flight-out fold-mean
  MAE: every flight counts once, whatever its size). Units whose metric is undefined are left out.

Every formula is scale-free in its statistics (a ratio of sums), so a unit drawn twice weighs as
two copies, whichever pooling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from atmo.metrics.contingency import UNREACHED_RULES, threshold_mean

#: ``formula(sums)`` with ``sums`` of shape ``(..., K)`` (the statistics in the metric's order) -> ``(...)``.
Formula = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PooledMetric:
    """A metric of summed unit statistics: its name, label, the statistics it reads and its formula."""

    name: str
    label: str
    statistics: tuple[str, ...]
    formula: Formula
    higher_is_better: bool
    pooling: Literal["pooled", "unit_mean"] = "pooled"

    def __post_init__(self) -> None:
        if not self.statistics:
            raise ValueError(f"metric {self.name} reads no statistics")
        if self.pooling not in ("pooled", "unit_mean"):
            raise ValueError(f"metric {self.name}: pooling must be 'pooled' or 'unit_mean', got {self.pooling!r}")

    def of_units(self, unit_sums: np.ndarray, unit_weights: np.ndarray) -> np.ndarray:
        """The metric of weighted units: ``unit_sums`` ``(..., U, K)``, ``unit_weights`` ``(..., U)`` -> ``(...)``.

        ``unit_sums[..., u, :]`` holds unit ``u``'s statistics summed over every copy of it in the
        resample (its items weighted by how often they were drawn); ``unit_weights`` says how many
        copies of the unit the resample holds (0: absent).
        """
        if self.pooling == "pooled":
            return self.formula(unit_sums.sum(axis=-2))
        with np.errstate(invalid="ignore", divide="ignore"):
            per_unit = self.formula(unit_sums)
        present = (unit_weights > 0) & np.isfinite(per_unit)
        weights = np.where(present, unit_weights, 0.0)
        total = weights.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, (np.where(present, per_unit, 0.0) * weights).sum(axis=-1) / total, np.nan)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def ratio(
    name: str, label: str, numerator: str, denominator: str, *, higher_is_better: bool, pooling: str = "pooled"
) -> PooledMetric:
    """``sum(numerator) / sum(denominator)``: a mean error (MAE, CRPS per pixel) from sums and counts."""
    return PooledMetric(
        name,
        label,
        (numerator, denominator),
        lambda sums: _divide(sums[..., 0], sums[..., 1]),
        higher_is_better,
        pooling,  # type: ignore[arg-type]
    )


def csi_statistics(threshold: int | str) -> tuple[str, str, str]:
    """The three count columns one threshold's CSI reads: ``hits_T, misses_T, false_alarms_T``."""
    return (f"hits_{threshold}", f"misses_{threshold}", f"false_alarms_{threshold}")


def mean_csi(
    thresholds: Sequence[int | str], name: str = "csi_m", label: str = "CSI-M", unreached: str = "skip"
) -> PooledMetric:
    """CSI-M: ``CSI_T = H_T / (H_T + M_T + F_T)`` from pooled counts, averaged over thresholds.

    A threshold the truth never reaches in the resample (``H_T + M_T = 0``) is left out of the
    average (``skip``) or counted as CSI 0 (``zero``) by :func:`atmo.metrics.contingency.threshold_mean`,
    the rule of the score files' ``csi_m``; with ``skip``, NaN when no threshold is reached.
    """
    if unreached not in UNREACHED_RULES:
        raise ValueError(f"metric {name}: unreached must be one of {list(UNREACHED_RULES)}, got {unreached!r}")
    statistics = tuple(column for t in thresholds for column in csi_statistics(t))

    def formula(sums: np.ndarray) -> np.ndarray:
        counts = sums.reshape(*sums.shape[:-1], len(thresholds), 3)
        hits, misses, false_alarms = counts[..., 0], counts[..., 1], counts[..., 2]
        csi = _divide(hits, hits + misses + false_alarms)
        return threshold_mean(csi, hits + misses > 0, unreached)

    return PooledMetric(name, label, statistics, formula, higher_is_better=True)


def confusion_statistics(n_classes: int) -> tuple[str, ...]:
    """The confusion-matrix columns ``cm_<truth>_<prediction>`` of an ``n_classes`` problem."""
    return tuple(f"cm_{i}_{j}" for i in range(n_classes) for j in range(n_classes))


def _matrix(sums: np.ndarray, n_classes: int) -> np.ndarray:
    return sums.reshape(*sums.shape[:-1], n_classes, n_classes)


def cohen_kappa(n_classes: int, name: str = "kappa_unweighted", label: str = "kappa") -> PooledMetric:
    """Unweighted Cohen's kappa of the pooled confusion matrix: ``(p_o - p_e) / (1 - p_e)``."""

    def formula(sums: np.ndarray) -> np.ndarray:
        cm = _matrix(sums, n_classes)
        total = cm.sum(axis=(-2, -1))
        observed = _divide(np.trace(cm, axis1=-2, axis2=-1), total)
        expected = _divide((cm.sum(axis=-1) * cm.sum(axis=-2)).sum(axis=-1), total**2)
        return _divide(observed - expected, 1.0 - expected)

    return PooledMetric(name, label, confusion_statistics(n_classes), formula, higher_is_better=True)


def class_precision(n_classes: int, k: int, name: str, label: str) -> PooledMetric:
    """Precision of class ``k`` of the pooled confusion matrix, ``cm[k, k] / sum_i cm[i, k]`` (NaN: never predicted)."""

    def formula(sums: np.ndarray) -> np.ndarray:
        cm = _matrix(sums, n_classes)
        return _divide(cm[..., k, k], cm[..., :, k].sum(axis=-1))

    return PooledMetric(name, label, confusion_statistics(n_classes), formula, higher_is_better=True)
