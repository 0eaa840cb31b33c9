"""Streaming contingency tables and the categorical scores of the SEVIR benchmark (VIL thresholds).

A forecast pixel is an *event* when its VIL code reaches a threshold. Following SEVIR's benchmark
(and Earthformer), both truth and forecast are binarised with ``>=`` (pysteps' categorical scores use
``>``, so they must not be reused for SEVIR numbers), and the counts are pooled over every test
pixel before any score is formed, per threshold and per lead time:

    hits H = #(f >= t and o >= t)          misses M = #(f < t and o >= t)
    false alarms F = #(f >= t and o < t)    correct negatives C = #(f < t and o < t)
    POD = H / (H + M)    FAR = F / (F + H)    CSI = H / (H + M + F)    bias = (H + F) / (H + M)
    HSS = 2 (H C - M F) / ((H + M)(M + C) + (H + F)(F + C))     (Heidke skill score)

A score whose denominator is zero is undefined and reported as NaN, never 0. CSI-M (and HSS-M) is
the mean over thresholds of the per-threshold score, and a threshold that no truth pixel reaches
(``H + M = 0``) is treated by one of two rules (:data:`UNREACHED_RULES`, :func:`threshold_mean`):

- ``skip`` (the default): left out of the mean for every model alike. Such a threshold says nothing
  about a model's hits, and leaving it out (rather than making the mean NaN, or 0 for the one model
  that raises false alarms there) keeps the mean defined and comparable on weak-echo test sets.
  :meth:`ContingencyAccumulator.defined_thresholds` names the thresholds that stay.
- ``zero``: counted as a score of 0, as Earthformer's evaluation does (its CSI adds a tiny epsilon
  to the denominator, so ``0 / (0 + F + eps)`` is 0 with or without false alarms). This is the rule
  under which the SEVIR leaderboard's CSI-M numbers were computed.

Spatially pooled scores (CasCast/SimCast's P4 and P16): with ``pool=s`` both fields are max-pooled
over non-overlapping s x s blocks (edge blocks cover what is left) before binarising, so a forecast
event counts as a hit when any pixel of its block is an event in the truth's block; this forgives
displacement by less than a block and is how those papers report skill at coarser scales.

Values arrive in the code/255 scale that VIL fields are cached and forecast in; thresholds are VIL
codes (0..255). Truth is stored as float16 code/255, which is off the exact code by at most 0.07 code units
at the top of the range, so values are compared in code units with :data:`CODE_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

#: The benchmark's VIP thresholds in VIL code units (about 0.15 ... 32 kg/m2).
SEVIR_THRESHOLDS: tuple[int, ...] = (16, 74, 133, 160, 181, 219)

#: How a mean over thresholds treats a threshold the truth never reaches (see the module docstring).
UNREACHED_RULES: tuple[str, ...] = ("skip", "zero")

#: A value counts as reaching threshold ``t`` when ``value * 255 >= t - CODE_TOLERANCE``. Large enough
#: to absorb float16 storage error (< 0.07 code), small against the 1-code resolution of SEVIR VIL.
CODE_TOLERANCE = 0.1

_MAX_CODE = 255.0


def check_thresholds(thresholds: Sequence[float]) -> np.ndarray:
    """Return ``thresholds`` as a float64 array, raising ``ValueError`` unless each is a VIL code 0..255."""
    values = np.asarray(thresholds, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"thresholds must be a non-empty list of VIL codes, got {thresholds!r}")
    bad = values[~((values >= 0) & (values <= _MAX_CODE))]
    if bad.size:
        raise ValueError(
            f"thresholds must be VIL codes in 0..255 (the data are in code/255 scale; pass codes, not kg/m2 "
            f"or code/255 fractions), got {bad.tolist()}"
        )
    return values


def threshold_label(threshold: float) -> str:
    """Name fragment of a threshold in score keys: ``74`` for integral codes, ``74.5`` otherwise."""
    return str(int(threshold)) if float(threshold).is_integer() else format(float(threshold), "g")


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as float64 with NaN (not 0, not inf) where the denominator is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


class ContingencyAccumulator:
    """Hits, misses, false alarms and correct negatives per threshold and lead, summed over batches.

    Call :meth:`update` once per batch of ``(B, T, H, W)`` forecasts and truths in code/255 scale;
    the four count arrays have shape ``(n_thresholds, n_leads)`` and dtype int64.
    """

    def __init__(self, thresholds: Sequence[float] = SEVIR_THRESHOLDS, n_leads: int = 12, pool: int = 1) -> None:
        self.thresholds = check_thresholds(thresholds)
        if n_leads < 1:
            raise ValueError(f"n_leads must be >= 1, got {n_leads}")
        if pool < 1:
            raise ValueError(f"pool must be >= 1 (1: no pooling), got {pool}")
        self.n_leads = n_leads
        self.pool = pool
        shape = (self.thresholds.size, n_leads)
        self.hits = np.zeros(shape, dtype=np.int64)
        self.misses = np.zeros(shape, dtype=np.int64)
        self.false_alarms = np.zeros(shape, dtype=np.int64)
        self.correct_negatives = np.zeros(shape, dtype=np.int64)

    def update(self, forecast: ArrayLike, truth: ArrayLike) -> None:
        """Add one batch: ``forecast`` and ``truth`` of shape ``(B, T, H, W)`` in code/255 scale."""
        f_code, o_code = _as_codes(forecast, truth, self.n_leads)
        if self.pool > 1:
            f_code, o_code = max_pool(f_code, self.pool), max_pool(o_code, self.pool)
        for k, threshold in enumerate(self.thresholds):
            limit = threshold - CODE_TOLERANCE
            f_event = f_code >= limit
            o_event = o_code >= limit
            hits = np.count_nonzero(f_event & o_event, axis=(0, 2, 3))
            n_forecast = np.count_nonzero(f_event, axis=(0, 2, 3))
            n_observed = np.count_nonzero(o_event, axis=(0, 2, 3))
            n_pixels = f_code.shape[0] * f_code.shape[2] * f_code.shape[3]
            self.hits[k] += hits
            self.misses[k] += n_observed - hits
            self.false_alarms[k] += n_forecast - hits
            self.correct_negatives[k] += n_pixels - n_observed - n_forecast + hits

    def scores(self) -> dict[str, np.ndarray]:
        """POD, FAR, CSI, bias, HSS per ``(threshold, lead)`` and summed over leads (``*_all``, per threshold)."""
        counts = (self.hits, self.misses, self.false_alarms, self.correct_negatives)
        out = _scores(*counts)
        over_leads = _scores(*(table.sum(axis=1) for table in counts))
        out.update({f"{name}_all": value for name, value in over_leads.items()})
        return out

    def defined_thresholds(self) -> np.ndarray:
        """Boolean mask over thresholds: those the truth reaches at least once (any lead, any pixel)."""
        return (self.hits + self.misses).sum(axis=1) > 0

    def csi_m(self, unreached: str = "skip") -> float:
        """The benchmark's CSI-M: the lead-pooled CSI averaged over thresholds by :func:`threshold_mean`."""
        return float(threshold_mean(self.scores()["csi_all"], self.defined_thresholds(), unreached))

    def hss_m(self, unreached: str = "skip") -> float:
        """Mean of the lead-pooled HSS over thresholds, ``unreached`` by :func:`threshold_mean`."""
        return float(threshold_mean(self.scores()["hss_all"], self.defined_thresholds(), unreached))

    def csi_m_per_lead(self, unreached: str = "skip") -> np.ndarray:
        """CSI-M at each lead from that lead's counts (a threshold is reached or not per lead), shape ``(n_leads,)``."""
        return threshold_mean(self.scores()["csi"].T, ((self.hits + self.misses) > 0).T, unreached)


def threshold_mean(values: ArrayLike, reached: ArrayLike, unreached: str = "skip") -> np.ndarray:
    """Mean over the last axis (thresholds) of per-threshold scores; the one CSI-M rule of the package.

    ``reached`` marks the thresholds the truth reaches (``H + M > 0``), same shape as ``values``.
    ``skip`` averages the reached thresholds only (NaN where none is); ``zero`` averages every
    threshold with an unreached one counted as 0. A NaN score of a reached threshold makes the mean NaN.
    """
    if unreached not in UNREACHED_RULES:
        raise ValueError(f"unreached must be one of {list(UNREACHED_RULES)}, got {unreached!r}")
    values, reached = np.asarray(values, dtype=np.float64), np.asarray(reached, dtype=bool)
    scores = np.where(reached, values, 0.0)
    counted = reached if unreached == "skip" else np.ones_like(reached)
    return safe_ratio(np.where(counted, scores, 0.0).sum(axis=-1), counted.sum(axis=-1))


def max_pool(codes: np.ndarray, size: int) -> np.ndarray:
    """``(B, T, H, W)`` -> ``(B, T, ceil(H/size), ceil(W/size))``: the maximum of each size x size block."""
    b, t, h, w = codes.shape
    padded_h, padded_w = -(-h // size) * size, -(-w // size) * size
    padded = np.full((b, t, padded_h, padded_w), -np.inf, dtype=codes.dtype)
    padded[:, :, :h, :w] = codes
    return padded.reshape(b, t, padded_h // size, size, padded_w // size, size).max(axis=(3, 5))


def _scores(
    hits: np.ndarray, misses: np.ndarray, false_alarms: np.ndarray, correct_negatives: np.ndarray
) -> dict[str, np.ndarray]:
    """The benchmark scores from count arrays of any (equal) shape (float64: the HSS products exceed int32)."""
    h, m, f, c = (np.asarray(table, dtype=np.float64) for table in (hits, misses, false_alarms, correct_negatives))
    return {
        "pod": safe_ratio(h, h + m),
        "far": safe_ratio(f, f + h),
        "csi": safe_ratio(h, h + m + f),
        "bias": safe_ratio(h + f, h + m),
        "hss": safe_ratio(2 * (h * c - m * f), (h + m) * (m + c) + (h + f) * (f + c)),
    }


def _as_codes(forecast: ArrayLike, truth: ArrayLike, n_leads: int) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and finiteness, return both arrays in VIL code units (float32)."""
    f = np.asarray(forecast)
    o = np.asarray(truth)
    if f.shape != o.shape:
        raise ValueError(f"forecast shape {f.shape} differs from truth shape {o.shape}")
    if f.ndim != 4 or f.shape[1] != n_leads:
        raise ValueError(f"expected arrays of shape (B, {n_leads}, H, W), got {f.shape}")
    f_code = f.astype(np.float32) * np.float32(_MAX_CODE)
    o_code = o.astype(np.float32) * np.float32(_MAX_CODE)
    for name, arr in (("forecast", f_code), ("truth", o_code)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values; set them to 0 (no echo) before scoring")
    return f_code, o_code
