"""Streaming contingency tables and the categorical scores of the SEVIR nowcasting benchmark.

A forecast pixel is an *event* when its VIL code reaches a threshold. Following SEVIR's benchmark
(and Earthformer), both truth and forecast are binarised with ``>=`` (pysteps' categorical scores use
``>``, so they must not be reused for SEVIR numbers), and the counts are pooled over every test
pixel before any score is formed, per threshold and per lead time:

    hits H = #(f >= t and o >= t)          misses M = #(f < t and o >= t)
    false alarms F = #(f >= t and o < t)    correct negatives C = #(f < t and o < t)
    POD = H / (H + M)    FAR = F / (F + H)    CSI = H / (H + M + F)    bias = (H + F) / (H + M)

A score whose denominator is zero is undefined and reported as NaN, never 0: a threshold that no
pixel of the test set reaches says nothing about the model. CSI-M is the mean CSI over thresholds.

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

    def __init__(self, thresholds: Sequence[float] = SEVIR_THRESHOLDS, n_leads: int = 12) -> None:
        self.thresholds = check_thresholds(thresholds)
        if n_leads < 1:
            raise ValueError(f"n_leads must be >= 1, got {n_leads}")
        self.n_leads = n_leads
        shape = (self.thresholds.size, n_leads)
        self.hits = np.zeros(shape, dtype=np.int64)
        self.misses = np.zeros(shape, dtype=np.int64)
        self.false_alarms = np.zeros(shape, dtype=np.int64)
        self.correct_negatives = np.zeros(shape, dtype=np.int64)

    def update(self, forecast: ArrayLike, truth: ArrayLike) -> None:
        """Add one batch: ``forecast`` and ``truth`` of shape ``(B, T, H, W)`` in code/255 scale."""
        f_code, o_code = _as_codes(forecast, truth, self.n_leads)
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
        """POD, FAR, CSI, bias per ``(threshold, lead)`` and pooled over leads (``*_all``, per threshold)."""
        out = _scores(self.hits, self.misses, self.false_alarms)
        pooled = _scores(self.hits.sum(axis=1), self.misses.sum(axis=1), self.false_alarms.sum(axis=1))
        out.update({f"{name}_all": value for name, value in pooled.items()})
        return out

    def csi_m(self) -> float:
        """Mean over thresholds of the CSI pooled over all leads and pixels (the benchmark's CSI-M).

        NaN when any threshold's CSI is undefined, so a missing class cannot silently lift the mean.
        """
        return float(np.mean(self.scores()["csi_all"]))

    def csi_m_per_lead(self) -> np.ndarray:
        """Mean CSI over thresholds at each lead time, shape ``(n_leads,)``."""
        return np.mean(self.scores()["csi"], axis=0)


def _scores(hits: np.ndarray, misses: np.ndarray, false_alarms: np.ndarray) -> dict[str, np.ndarray]:
    """The four benchmark scores from count arrays of any (equal) shape."""
    return {
        "pod": safe_ratio(hits, hits + misses),
        "far": safe_ratio(false_alarms, false_alarms + hits),
        "csi": safe_ratio(hits, hits + misses + false_alarms),
        "bias": safe_ratio(hits + false_alarms, hits + misses),
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
