"""Fit a decision rule to a criterion on labelled pixels: argmax, the ordinal median, or thresholds on a grid.

The candidates are ``argmax``, ``median`` and every pair ``(t1, t2)`` of a threshold grid
(:mod:`atmo.riskseg.decision`). Each is scored by its ``(3, 3)`` confusion matrix on the pixels it
is given, which :mod:`atmo.riskseg.choice` restricts to the validation blocks. The grid is scored
without one pass per pair: every pixel falls into one cell of ``(true class, grid bin of
P(y >= 1), grid bin of P(y >= 2))``, and the confusion of any pair is a sum over cells
(:class:`ValidationCounts`), so the pass over the pixels costs the same for 3 or 400 candidates.

The criterion (:class:`DecisionSettings`) is a kappa — unweighted by default, the kappa the
comparisons and the success report headline — maximised subject to a floor on class-2 (high)
recall, the write-up's 0.93 target. When no candidate reaches the floor, the candidate with the
highest class-2 recall is taken and the record says the constraint was not met: a run must say
when its own criterion could not be satisfied, not quietly drop it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from atmo.metrics.categorical import cohen_kappa, precision, recall
from atmo.riskseg import CLASSES
from atmo.riskseg.decision import RULES, Decision, cumulative, decide
from atmo.settings import settings_block

#: Criterion name -> the disagreement weights of :func:`atmo.metrics.categorical.cohen_kappa`.
CRITERIA: dict[str, str | None] = {"kappa_unweighted": None, "kappa_linear": "linear", "kappa_quadratic": "quadratic"}
AUTO = "auto"
HIGH = 2


class DecisionSettings(settings_block("riskseg", "decision")):
    """The ``riskseg.decision`` block: which rules compete, to what criterion, on what threshold grid.

    ``rule``: ``auto`` (the best of argmax, median and every threshold pair), ``thresholds`` (the
    best pair), or ``argmax`` / ``median`` used as given (the write-up's setting is ``argmax``); the
    validation scores are recorded in every case. ``min_class2_recall``: the floor on class-2
    recall, ``None`` for none. ``threshold_step``: the grid ``step, 2 step, ... < 1`` of both
    thresholds.
    """

    @property
    def grid(self) -> np.ndarray:
        """The thresholds tried for each of ``t1`` and ``t2``: ``step, 2 step, ...`` below 1, rounded to 1e-6."""
        n = int(np.ceil(1.0 / self.threshold_step - 1e-9))
        return np.round(np.arange(1, n) * self.threshold_step, 6)


class ValidationCounts:
    """Confusion counts of every candidate rule, accumulated batch by batch (see the module docstring)."""

    def __init__(self, grid: np.ndarray) -> None:
        self.grid = np.asarray(grid, dtype=np.float64)
        n = len(self.grid) + 1
        self.cells = np.zeros((len(CLASSES), n, n), dtype=np.int64)
        self.fixed = {rule: np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64) for rule in ("argmax", "median")}

    def update(self, truth: np.ndarray, probs: np.ndarray) -> None:
        """Add labelled pixels: ``truth`` ``(n,)`` classes 0..2, ``probs`` ``(3, n)`` their class probabilities."""
        truth = np.asarray(truth, dtype=np.int64)
        for rule, matrix in self.fixed.items():
            pred = decide(probs[:, :, np.newaxis], rule)[:, 0].astype(np.int64)
            matrix += np.bincount(truth * len(CLASSES) + pred, minlength=matrix.size).reshape(matrix.shape)
        at_least_1, at_least_2 = cumulative(probs)
        # bin i holds values in [grid[i-1], grid[i]): "passes threshold grid[a]" is bin > a
        bin1 = np.searchsorted(self.grid, at_least_1, side="right")
        bin2 = np.searchsorted(self.grid, at_least_2, side="right")
        n = self.cells.shape[1]
        flat = (truth * n + bin1) * n + bin2
        self.cells += np.bincount(flat, minlength=self.cells.size).reshape(self.cells.shape)

    @property
    def n_pixels(self) -> int:
        return int(self.cells.sum())

    def threshold_confusions(self) -> np.ndarray:
        """``(G, G, 3, 3)``: the confusion matrix of thresholds ``(grid[a], grid[b])`` at ``[a, b]``."""
        cells = self.cells
        totals = cells.sum(axis=(1, 2))  # (3,)
        # high where bin2 > b; medium where bin1 > a and bin2 <= b
        high = np.flip(np.cumsum(np.flip(cells.sum(axis=1), axis=1), axis=1), axis=1)[:, 1:]  # (3, G): bin2 >= b+1
        upper = np.flip(np.cumsum(np.flip(cells, axis=1), axis=1), axis=1)  # sum over bin1 >= i
        medium = np.cumsum(upper, axis=2)[:, 1:, :-1]  # (3, G, G): bin1 >= a+1, bin2 <= b
        high = np.broadcast_to(high[:, np.newaxis, :], medium.shape)
        low = totals[:, np.newaxis, np.newaxis] - medium - high
        return np.stack([low, medium, high], axis=-1).transpose(1, 2, 0, 3)

    def confusions(self) -> dict[Decision, np.ndarray]:
        """Every candidate's ``(3, 3)`` confusion matrix (rows true): argmax, median, then the grid row by row."""
        found = {Decision(rule): matrix.copy() for rule, matrix in self.fixed.items()}
        pairs = self.threshold_confusions()
        for a, t1 in enumerate(self.grid):
            for b, t2 in enumerate(self.grid):
                found[Decision("thresholds", (float(t1), float(t2)))] = pairs[a, b]
        return found


def candidate_scores(matrix: np.ndarray, criterion: str) -> dict[str, float | None]:
    """The criterion, class-2 recall and class-1 precision of one confusion matrix (``None`` when undefined)."""
    values = {
        "criterion": cohen_kappa(matrix, CRITERIA[criterion]),
        "recall_high": float(recall(matrix)[HIGH]),
        "precision_medium": float(precision(matrix)[1]),
    }
    return {key: (value if np.isfinite(value) else None) for key, value in values.items()}


def _value(score: float | None) -> float:
    return -np.inf if score is None else score


def select(confusions: Mapping[Decision, np.ndarray], settings: DecisionSettings) -> dict[str, Any]:
    """The decision ``settings`` pick among ``confusions``, with its scores and whether the floor was met.

    Candidates are those of ``settings.rule`` (all for ``auto``); among the ones whose class-2 recall
    reaches the floor, the best criterion wins, the first in order on a tie (argmax, median, then
    the grid), so a tie keeps the write-up's rule. Without such a candidate, the highest class-2 recall
    wins (then the criterion). Returns ``decision``, ``scores``, ``constraint_met`` and
    ``best_per_rule`` (each rule family's winner by the same test, for the record).
    """
    scored = {decision: candidate_scores(matrix, settings.criterion) for decision, matrix in confusions.items()}
    floor = settings.min_class2_recall

    def winner(pool: list[Decision]) -> tuple[Decision, bool]:
        feasible = [d for d in pool if floor is None or _value(scored[d]["recall_high"]) >= floor]
        if feasible:
            return max(feasible, key=lambda d: _value(scored[d]["criterion"])), True
        return max(pool, key=lambda d: (_value(scored[d]["recall_high"]), _value(scored[d]["criterion"]))), False

    pool = [d for d in scored if settings.rule in (AUTO, d.rule)]
    chosen, met = winner(pool)
    best_per_rule = {}
    for rule in RULES:
        family = [d for d in scored if d.rule == rule]
        if family:
            best, family_met = winner(family)
            best_per_rule[rule] = {**_as_record(best), **scored[best], "constraint_met": family_met}
    return {"decision": chosen, "scores": scored[chosen], "constraint_met": met, "best_per_rule": best_per_rule}


def _as_record(decision: Decision) -> dict[str, Any]:
    return {"rule": decision.rule, "thresholds": None if decision.thresholds is None else list(decision.thresholds)}
