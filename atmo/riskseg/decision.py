"""From class probabilities to one class per pixel: argmax, the ordinal median, or two cumulative thresholds.

``argmax`` picks the most probable class (what the write-up does). For ordered classes it has a blind
spot: between a low and a high region a pixel can be (0.42, 0.25, 0.33) — uncertain between its
neighbours, with the medium class never the single most probable, so argmax never says "medium"
although medium is the class in the middle. The ordinal rules read the cumulative probabilities
``P(y >= 1) = p1 + p2`` and ``P(y >= 2) = p2`` instead:

* ``median``: the median of the predictive distribution, the smallest class ``c`` with
  ``P(y <= c) >= 0.5``; it minimises the expected absolute class error and is what a CORAL head
  decoded as "the number of boundaries passed" gives;
* ``thresholds`` ``(t1, t2)``: class 2 where ``P(y >= 2) >= t2``, else class 1 where
  ``P(y >= 1) >= t1``, else class 0. The median is ``t1 = t2 = 0.5`` up to ties; other values trade
  one class's recall against another's precision, which is what a criterion such as "kappa subject
  to class-2 recall >= 0.93" needs.

Which rule a variant uses, and its thresholds, are fitted on the validation blocks
(:mod:`atmo.riskseg.choice`); ensembles, CRF outputs and scores all apply the fitted :class:`Decision`.

**Before a CRF.** Thresholds fitted on the ensemble's probabilities do not fit a CRF's marginals,
which the pairwise terms sharpen: a high pixel at ``P(y >= 2) = 0.35`` passes ``t2 = 0.3`` before
the CRF and may sit at 0.1 after it. :meth:`Decision.for_crf` therefore moves the thresholds into
the probabilities instead: each cumulative probability's logit is shifted by ``-logit(t_k)``, so
that ``t_k`` becomes 0.5 and the fitted rule becomes the median of the recalibrated distribution.
The CRF refines those, and its marginals are decoded by the median: without pairwise terms the CRF
gives exactly the fitted rule's classes, and with them it smooths the classes that rule chose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atmo.riskseg import LABEL_NODATA

RULES = ("argmax", "median", "thresholds")
#: Cumulative probabilities are clipped to this distance from 0 and 1 before a logit.
LOGIT_FLOOR = 1e-6


@dataclass(frozen=True)
class Decision:
    """A decision rule; ``thresholds`` ``(t1, t2)`` only and always for rule ``thresholds``."""

    rule: str
    thresholds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"decision rule {self.rule!r} is not one of {list(RULES)}")
        if (self.rule == "thresholds") != (self.thresholds is not None):
            raise ValueError(f"decision rule {self.rule!r} with thresholds {self.thresholds}: only 'thresholds' has")
        if self.thresholds is not None and not all(0.0 <= t <= 1.0 for t in self.thresholds):
            raise ValueError(f"decision thresholds {self.thresholds} are not probabilities in [0, 1]")

    def describe(self) -> str:
        """``argmax`` / ``median`` / ``thresholds P(y>=1) >= 0.30, P(y>=2) >= 0.45``."""
        if self.thresholds is None:
            return self.rule
        t1, t2 = self.thresholds
        return f"thresholds P(y>=1) >= {t1:.2f}, P(y>=2) >= {t2:.2f}"

    def for_crf(self, probs: np.ndarray) -> tuple[np.ndarray, Decision]:
        """The probabilities ``(3, h, w)`` a CRF should refine, and the rule that decodes its marginals.

        ``argmax`` and ``median``: ``probs`` unchanged and the rule itself. ``thresholds``: the
        recalibrated distribution of the module docstring (float32) and ``median``, whose classes
        on it are this rule's on ``probs`` (up to probabilities exactly at a threshold).
        """
        if self.thresholds is None:
            return probs, self
        shifted = [
            _sigmoid(_logit(c) - _logit(np.float64(t))) for c, t in zip(cumulative(probs), self.thresholds, strict=True)
        ]
        at_least_2 = shifted[1]
        at_least_1 = np.maximum(shifted[0], at_least_2)  # class 2 outranks class 1, as in decide
        recalibrated = np.stack([1.0 - at_least_1, at_least_1 - at_least_2, at_least_2]).astype(np.float32)
        return recalibrated, Decision("median")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), LOGIT_FLOOR, 1.0 - LOGIT_FLOOR)
    return np.log(p) - np.log1p(-p)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def cumulative(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P(y >= 1)`` and ``P(y >= 2)``, each ``(h, w)``, of class probabilities ``(3, h, w)``."""
    return probs[1] + probs[2], probs[2]


def decide(probs: np.ndarray, decision: Decision | str, valid: np.ndarray | None = None) -> np.ndarray:
    """Classes ``(h, w)`` uint8 of probabilities ``(3, h, w)``; ``LABEL_NODATA`` where not ``valid``.

    ``decision`` is a :class:`Decision` or the name of a rule without thresholds.
    """
    if isinstance(decision, str):
        decision = Decision(decision)
    if decision.rule == "argmax":
        classes = probs.argmax(axis=0)
    elif decision.rule == "median":
        classes = (np.cumsum(probs, axis=0)[:-1] < 0.5).sum(axis=0)
    else:
        t1, t2 = decision.thresholds
        at_least_1, at_least_2 = cumulative(probs)
        classes = np.where(at_least_2 >= t2, 2, np.where(at_least_1 >= t1, 1, 0))
    classes = classes.astype(np.uint8)
    return classes if valid is None else np.where(valid, classes, LABEL_NODATA).astype(np.uint8)
