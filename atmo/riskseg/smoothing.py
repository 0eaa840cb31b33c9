"""Gaussian neighbourhood statistics of a raster with gaps (normalised convolution).

A plain Gaussian filter of a raster with nodata either spreads the nodata value into its
neighbours or, with the gaps set to 0, pulls every mean near a gap towards 0. Normalised
convolution weights only valid pixels::

    mean_sigma(x) = G_sigma * (v x) / G_sigma * v

(``v`` the valid mask, ``*`` a Gaussian filter with zero padding), so a pixel next to a gap or the
raster's edge gets the mean of the valid ground around it. Where no valid pixel lies within reach
the result is 0. Kernels are truncated at ``TRUNCATE`` standard deviations, so a value depends on
the pixels within :func:`reach` of it and nothing further: a window cut out with that margin gives
the same numbers as the whole raster.

Both the synthetic scene (the neighbourhood risk and the vegetation texture its labels are cut
from) and the multi-scale baselines (smoothed covariates) use these statistics.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

#: Kernel half-width in standard deviations (scipy's default).
TRUNCATE = 4.0
#: Smallest weight that counts as "valid ground nearby": below it the mean is 0.
MIN_WEIGHT = 1e-6


def reach(sigma_px: float) -> int:
    """Pixels a ``sigma_px`` Gaussian statistic looks out to (the kernel's radius)."""
    return int(TRUNCATE * sigma_px + 0.5)


def masked_mean(values: np.ndarray, valid: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian-weighted mean ``(H, W)`` float64 of ``values`` ``(H, W)`` over the ``valid`` pixels only."""
    weight = valid.astype(np.float64)
    numerator = gaussian_filter(np.where(valid, values, 0.0).astype(np.float64), sigma_px, mode="constant")
    denominator = gaussian_filter(weight, sigma_px, mode="constant")
    return np.where(denominator > MIN_WEIGHT, numerator / np.maximum(denominator, MIN_WEIGHT), 0.0)


def masked_std(values: np.ndarray, valid: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian-weighted standard deviation ``(H, W)`` of ``values`` over the ``valid`` pixels (local texture).

    ``sqrt(mean(x^2) - mean(x)^2)`` with both means from :func:`masked_mean`, clipped at 0 against
    rounding.
    """
    values = values.astype(np.float64)
    variance = masked_mean(values**2, valid, sigma_px) - masked_mean(values, valid, sigma_px) ** 2
    return np.sqrt(np.maximum(variance, 0.0))
