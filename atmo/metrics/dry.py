"""The mean forecast over the pixels the truth leaves dry: what contingency scores do not see.

CSI, POD and FAR start at VIP 16 (VIL code 16), so a forecast that lays a weak haze of codes 1..15
over dry areas costs nothing there, and neither does a forecast that keeps weak echo where the storm
has gone. The dry mean catches both:

    dry_mean = sum of forecast codes over pixels with truth code 0 / number of such pixels

in VIL codes (0..255), per lead and pooled over all leads (a ratio of sums, never a mean of per-lead
means, so leads weigh by their dry pixels). A forecast that keeps dry areas dry scores 0.

"Dry" is truth code exactly 0. Truth cached as float16 ``code / 255`` holds 0 exactly, so
``truth == 0`` needs no tolerance.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from atmo.metrics.contingency import safe_ratio

_MAX_CODE = 255.0


class DryMeanAccumulator:
    """Forecast code sums and pixel counts over dry truth pixels, per lead, summed over batches.

    Call :meth:`update` once per batch of ``(B, T, H, W)`` forecasts and truths in code/255 scale.
    """

    def __init__(self, n_leads: int) -> None:
        if n_leads < 1:
            raise ValueError(f"n_leads must be >= 1, got {n_leads}")
        self.n_leads = n_leads
        self.code_sum = np.zeros(n_leads, dtype=np.float64)
        self.n_dry = np.zeros(n_leads, dtype=np.int64)

    def update(self, forecast: ArrayLike, truth: ArrayLike) -> None:
        """Add one batch: ``forecast`` and ``truth`` of shape ``(B, n_leads, H, W)`` in code/255 scale."""
        f, o = np.asarray(forecast), np.asarray(truth)
        if f.shape != o.shape or f.ndim != 4 or f.shape[1] != self.n_leads:
            raise ValueError(f"expected two arrays of shape (B, {self.n_leads}, H, W), got {f.shape} and {o.shape}")
        dry = o == 0
        self.code_sum += np.where(dry, f.astype(np.float64) * _MAX_CODE, 0.0).sum(axis=(0, 2, 3))
        self.n_dry += np.count_nonzero(dry, axis=(0, 2, 3))

    def per_lead(self) -> np.ndarray:
        """Dry mean per lead, shape ``(n_leads,)``; NaN at a lead without a dry truth pixel."""
        return safe_ratio(self.code_sum, self.n_dry)

    def overall(self) -> float:
        """Dry mean pooled over all leads (sum over sum); NaN without any dry truth pixel."""
        return float(safe_ratio(self.code_sum.sum(), self.n_dry.sum()))
