"""Per-pixel feature stacks for the pixel classifiers: the covariates, and optionally their multi-scale context.

A per-pixel classifier sees each pixel's own covariates and nothing around it. The cheap spatial
baseline adds, for every covariate and every radius ``r`` of ``radii_px``, the covariate's
Gaussian mean over the valid ground within ``r`` (:func:`atmo.riskseg.smoothing.masked_mean`) and
the gradient magnitude of that smoothed field (px⁻¹; where the field changes fastest, e.g. at the
edge of high ground). With ``C`` covariates and ``R`` radii that is ``C * (1 + 2 R)`` features; with
no radius, the ``C`` covariates alone.

Covariates are standardised with the training tiles' band mean and std (the tiles file's
attributes, as every model's input) and are 0 at nodata, which the smoothing ignores.

:func:`window_features` computes one window of the scene from the window plus a margin of
:func:`margin_px` pixels (padded with nodata beyond the raster), so a window's features are those
of the whole raster, whatever the window: training tiles, validation tiles and prediction strips
all get the same numbers at the same pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from atmo.io.geotiff import GeoTiffWindows
from atmo.riskseg import SCENE_NODATA
from atmo.riskseg.smoothing import masked_mean, reach


def feature_names(band_names: Sequence[str], radii_px: Sequence[float]) -> list[str]:
    """Names of :func:`window_features`' bands, in order: the covariates, then per radius the means and gradients."""
    names = list(band_names)
    for radius in radii_px:
        names += [f"{band}_mean_r{radius:g}" for band in band_names]
        names += [f"{band}_gradient_r{radius:g}" for band in band_names]
    return names


def margin_px(radii_px: Sequence[float]) -> int:
    """Pixels around a window the features depend on: the widest kernel's reach, plus 1 for the gradient."""
    return max((reach(radius) for radius in radii_px), default=0) + (1 if radii_px else 0)


def read_padded(
    reader: GeoTiffWindows, shape: tuple[int, int], row: int, col: int, height: int, width: int
) -> np.ndarray:
    """``(C, height, width)`` pixels of the window at ``(row, col)``, :data:`SCENE_NODATA` beyond the raster."""
    top, left = max(row, 0), max(col, 0)
    bottom, right = min(row + height, shape[0]), min(col + width, shape[1])
    inside = reader.read(top, left, bottom - top, right - left)
    pad = ((0, 0), (top - row, row + height - bottom), (left - col, col + width - right))
    return np.pad(inside, pad, constant_values=SCENE_NODATA)


def window_features(
    reader: GeoTiffWindows,
    shape: tuple[int, int],
    window: tuple[int, int, int, int],
    mean: np.ndarray,
    std: np.ndarray,
    radii_px: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(F, h, w)`` float32 and the valid mask ``(h, w)`` of ``window = (row, col, h, w)`` of the scene."""
    row, col, height, width = window
    margin = margin_px(radii_px)
    raw = read_padded(reader, shape, row - margin, col - margin, height + 2 * margin, width + 2 * margin)
    values = raw.astype(np.float64)
    valid = np.isfinite(values).all(axis=0) & (values != SCENE_NODATA).all(axis=0)
    image = np.where(valid, (values - mean[:, None, None]) / std[:, None, None], 0.0)
    stack = [image]
    for radius in radii_px:
        smoothed = np.stack([masked_mean(band, valid, radius) for band in image])
        stack += [smoothed, np.stack([np.hypot(*np.gradient(band)) for band in smoothed])]
    inner = (slice(margin, margin + height), slice(margin, margin + width))
    features = np.concatenate(stack)[(slice(None), *inner)]
    return features.astype(np.float32), valid[inner]
