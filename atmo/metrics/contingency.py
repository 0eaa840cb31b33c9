"""Streaming contingency tables and the categorical scores of the SEVIR nowcasting benchmark.

A forecast pixel is an *event* when its VIL code reaches a threshold. Following SEVIR's benchmark
(and Earthformer), both truth and forecast are binarised with ``>=`` (pysteps' categorical scores use
``>``, so they must not be reused for SEVIR numbers), and the counts are pooled over every test
pixel before any score is formed, per threshold and per lead time:

    hits H = #(f >= t and o >= t)          misses M = #(f < t and o >= t)
    false alarms F = #(f >= t and o < t)    correct negatives C = #(f < t and o < t)
    POD = H / (H + M)    FAR = F / (F + H)    CSI = H / (H + M + F)    bias = (H + F) / (H + M)
    HSS = 2 (H C - M F) / ((H + M)(M + C) + (H + F)(F + C))     (Heidke skill score)

A score whose denominator is zero is undefined and reported as NaN, never 0. CSI-M (and HSS-M) is
the mean over the thresholds that the *truth* reaches at least once: a threshold no truth pixel
reaches says nothing about a model's hits, and leaving it out for every model alike (rather than
making the mean NaN, or 0 for the one model that raises false alarms there) keeps the mean defined
and comparable on weak-echo test sets. :meth:`ContingencyAccumulator.defined_thresholds` names them.

Spatially pooled scores (CasCast/SimCast's P4 and P16): with ``pool=s`` both fields are max-pooled
over non-overlapping s x s blocks (edge blocks cover what is left) before binarising, so a forecast
event counts as a hit when any pixel of its block is an event in the truth's block; this forgives
displacement by less than a block and is how those papers report skill at coarser scales.

Values arrive in the code/255 scale of the nowcast cache and models; thresholds are VIL codes
(0..255). Truth is stored as float16 code/255, which is off the exact code by at most 0.07 code units
at the top of the range, so values are compared in code units with :data:`CODE_TOLERANCE`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

#: The benchmark's VIP thresholds in VIL code units (about 0.15 ... 32 kg/m2).
SEVIR_THRESHOLDS: tuple[int, ...] = (16, 74, 133, 160, 181, 219)

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

    def csi_m(self) -> float:
        """The benchmark's CSI-M: mean of the lead-pooled CSI over :meth:`defined_thresholds` (NaN if none)."""
        return _mean_over(self.scores()["csi_all"], self.defined_thresholds())

    def hss_m(self) -> float:
        """Mean of the lead-pooled HSS over :meth:`defined_thresholds` (NaN if none)."""
        return _mean_over(self.scores()["hss_all"], self.defined_thresholds())

    def csi_m_per_lead(self) -> np.ndarray:
        """Mean CSI at each lead over the thresholds the truth reaches at that lead, shape ``(n_leads,)``."""
        csi, observed = self.scores()["csi"], (self.hits + self.misses) > 0
        return np.array([_mean_over(csi[:, k], observed[:, k]) for k in range(self.n_leads)])


def max_pool(codes: np.ndarray, size: int) -> np.ndarray:
    """``(B, T, H, W)`` -> ``(B, T, ceil(H/size), ceil(W/size))``: the maximum of each size x size block."""
    b, t, h, w = codes.shape
    padded_h, padded_w = -(-h // size) * size, -(-w // size) * size
    padded = np.full((b, t, padded_h, padded_w), -np.inf, dtype=codes.dtype)
    padded[:, :, :h, :w] = codes
    return padded.reshape(b, t, padded_h // size, size, padded_w // size, size).max(axis=(3, 5))


def _mean_over(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``values[mask]``; NaN when the mask selects nothing."""
    return float(np.mean(values[mask])) if mask.any() else float("nan")


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
