"""shadow geometry: cloud-base height from the offset between clouds and their shadows.

A cloud whose base is at height ``h`` casts its shadow ``h * tan(sza)`` metres from its own nadir
position, away from the sun (towards azimuth + 180 degrees). In a north-up nadir frame with ground
resolution ``gsd = altitude * ifov`` metres per pixel the offset is ``h * tan(sza) / gsd`` pixels
(:func:`shadow_shift_px`). The estimator inverts that: it segments bright cloud and dark shadow
pixels relative to the frame's median brightness (the clear surface, assumed to be the majority),
slides the cloud mask along the anti-solar direction, and takes the offset whose projected
shadow best overlaps the observed shadow mask (intersection over union). The best overlap is the
confidence. Frames without enough cloud or shadow, with the sun too high to separate the two, or
without a convincing match give NaN height and offset and zero confidence.

Simplifications: flat ground, no parallax between the cloud edge and its ground footprint, one
base height per frame.
"""

from __future__ import annotations

import math

import numpy as np

from atmo.cbh.flight_files import FlightTrack
from atmo.settings import settings_block

#: Column names and units of the per-sample geometry features, in order.
GEOMETRY_FEATURES: tuple[tuple[str, str], ...] = (
    ("cbh_geom_km", "km"),
    ("shadow_offset_m", "m"),
    ("shadow_confidence", "1"),
)


class GeometrySettings(settings_block("cbh", "geometry")):
    """Detection thresholds (config block ``cbh.geometry``).

    ``cloud_threshold``/``shadow_threshold`` are multiples of the frame's median brightness;
    ``min_fraction`` is the least fraction of the frame that must be cloud and shadow;
    ``min_confidence`` the least intersection over union of a match; ``max_cbh_km`` bounds the
    search; below ``min_sun_zenith_deg`` shadows hide under their clouds.
    """


def shadow_shift_px(cbh_km: float, sun_zenith_deg: float, sun_azimuth_deg: float, gsd_m: float) -> tuple[float, float]:
    """(rows, columns) from a cloud to its shadow in a north-up frame whose rows run south."""
    offset_px = cbh_km * 1000.0 * math.tan(math.radians(sun_zenith_deg)) / gsd_m
    azimuth = math.radians(sun_azimuth_deg)
    return offset_px * math.cos(azimuth), -offset_px * math.sin(azimuth)


def shift_mask(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(H, W) ``mask`` moved by (rows, cols); what enters from outside the frame is False."""
    out = np.zeros_like(mask)
    height, width = mask.shape
    if abs(rows) >= height or abs(cols) >= width:
        return out
    out[max(rows, 0) : height + min(rows, 0), max(cols, 0) : width + min(cols, 0)] = mask[
        max(-rows, 0) : height - max(rows, 0), max(-cols, 0) : width - max(cols, 0)
    ]
    return out


def shadow_features(
    image: np.ndarray, sun_zenith_deg: float, sun_azimuth_deg: float, gsd_m: float, settings: GeometrySettings
) -> tuple[float, float, float]:
    """``(cbh_geom_km, shadow_offset_m, confidence)`` of one (C, H, W) frame; see the module doc."""
    missing = (math.nan, math.nan, 0.0)
    if sun_zenith_deg < settings.min_sun_zenith_deg:
        return missing
    gray = image.astype(np.float32).mean(axis=0)
    reference = float(np.median(gray))
    cloud = gray > settings.cloud_threshold * reference
    shadow = gray < settings.shadow_threshold * reference
    if min(cloud.mean(), shadow.mean()) < settings.min_fraction:
        return missing
    d_row, d_col = shadow_shift_px(1.0, sun_zenith_deg, sun_azimuth_deg, 1.0)
    norm = math.hypot(d_row, d_col)
    d_row, d_col = d_row / norm, d_col / norm
    tan_sza = math.tan(math.radians(sun_zenith_deg))
    max_px = min(settings.max_cbh_km * 1000.0 * tan_sza / gsd_m, float(max(gray.shape)))
    offsets = np.arange(1, math.ceil(max_px) + 1)
    if offsets.size == 0:
        return missing
    overlap = np.array([_overlap(cloud, shadow, round(d * d_row), round(d * d_col)) for d in offsets])
    best = int(np.argmax(overlap))
    confidence = float(overlap[best])
    if confidence < settings.min_confidence:
        return missing
    offset_px = float(offsets[best]) + _parabolic_peak(overlap, best)
    offset_m = offset_px * gsd_m
    return offset_m / tan_sza / 1000.0, offset_m, confidence


def _overlap(cloud: np.ndarray, shadow: np.ndarray, rows: int, cols: int) -> float:
    """Intersection over union of the observed shadow and the cloud mask projected by (rows, cols)."""
    projected = shift_mask(cloud, rows, cols) & ~cloud
    union = np.count_nonzero(projected | shadow)
    return np.count_nonzero(projected & shadow) / union if union else 0.0


def _parabolic_peak(values: np.ndarray, index: int) -> float:
    """Sub-step position of the maximum from a parabola through the peak and its neighbours."""
    if index == 0 or index == values.size - 1:
        return 0.0
    left, centre, right = values[index - 1 : index + 2]
    curvature = left - 2 * centre + right
    return float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0


def flight_shadow_features(images: np.ndarray, track: FlightTrack, settings: GeometrySettings) -> np.ndarray:
    """(N, 3) float32 features of a flight's (N, C, H, W) frames, columns as :data:`GEOMETRY_FEATURES`."""
    rows = [
        shadow_features(image, zenith, azimuth, gsd, settings)
        for image, zenith, azimuth, gsd in zip(
            images, track.sun_zenith_deg, track.sun_azimuth_deg, track.ground_resolution_m, strict=True
        )
    ]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(GEOMETRY_FEATURES))
