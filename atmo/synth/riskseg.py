"""Synthetic risk scene: covariate GeoTIFF plus an ordinal 3-class label GeoTIFF on the same grid.

The survey rasters behind the riskseg seed are not public, so the default workflow runs on a scene
with the same on-disk form and the same statistical difficulty:

* covariates are spatially correlated fields (Gaussian-filtered white noise), tied together like
  real terrain covariates: slope is the gradient of elevation, soil moisture drops with elevation,
  vegetation thins on steep slopes;
* a latent risk score is a weighted sum of the standardised covariates plus an unobserved smooth
  field (so the labels are learnable but not a deterministic function of the bands);
* two thresholds on the latent score, set at quantiles of the valid pixels, give the ordinal
  classes 0 < 1 < 2. Class 1 occupies the narrow latent interval between the two thresholds, so it
  is rare (2.65 % of valid pixels by default, as in the seed) and sits spatially on the boundary
  between class-0 and class-2 regions;
* a nodata border and a masked blob (cloud, lake, survey gap) are nodata in both rasters.

Everything is drawn from ``np.random.default_rng(seed)``, so two runs write identical files.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rasterio.crs import CRS
from rasterio.transform import from_origin
from scipy.ndimage import fourier_gaussian

from atmo.config_blocks import check
from atmo.io.geotiff import write_geotiff
from atmo.riskseg import LABEL_NODATA, SCENE_NODATA

log = logging.getLogger(__name__)

BAND_NAMES = ("elevation_m", "slope_deg", "soil_moisture_m3m3", "ndvi", "rainfall_mm")
# Contribution of each standardised covariate to the latent risk (landslide/flood-like: steep, wet,
# bare, rainy ground is riskier) and of the unobserved field that keeps the task from being trivial.
RISK_WEIGHTS = {"elevation_m": 0.0, "slope_deg": 0.9, "soil_moisture_m3m3": 0.7, "ndvi": -0.6, "rainfall_mm": 0.5}
HIDDEN_WEIGHT = 0.6
# Map origin of the synthetic grid: inside UTM zone bounds for any northern-hemisphere zone.
_ORIGIN_EASTING_M = 400_000.0
_ORIGIN_NORTHING_M = 4_500_000.0


@dataclass(frozen=True)
class SyntheticSceneSettings:
    """The ``riskseg.synthetic`` config block, one field per key (see the schema for units)."""

    WHERE: ClassVar[str] = "riskseg.synthetic"

    height: int = 512
    width: int = 512
    pixel_size_m: float = 30.0
    epsg: int = 32633
    correlation_px: float = 12.0
    class1_fraction: float = 0.0265
    class2_fraction: float = 0.25
    nodata_border_px: int = 8
    nodata_blob_radius_px: float = 40.0

    def __post_init__(self) -> None:
        low, high = self.class1_fraction, self.class2_fraction
        check(
            self,
            [
                ("class1_fraction", low > 0, "expected > 0"),
                ("class2_fraction", high > 0, "expected > 0"),
                ("class2_fraction", low + high < 1, f"expected class1_fraction ({low}) + class2_fraction < 1"),
                ("epsg", CRS.from_epsg(self.epsg).is_projected, "expected a projected CRS (pixels are in metres)"),
            ],
        )


@dataclass(frozen=True)
class SyntheticScene:
    """One generated scene, in memory.

    covariates: ``(C, H, W)`` float32 in :data:`BAND_NAMES` order, :data:`SCENE_NODATA` where invalid.
    label: ``(H, W)`` uint8 in {0, 1, 2}, :data:`LABEL_NODATA` where invalid.
    latent: ``(H, W)`` float32 risk score the classes were cut from (NaN where invalid).
    valid: ``(H, W)`` bool, False in the nodata border and blob.
    thresholds: the two latent cut points (class 1 is ``thresholds[0] <= latent < thresholds[1]``).
    """

    covariates: np.ndarray
    label: np.ndarray
    latent: np.ndarray
    valid: np.ndarray
    thresholds: tuple[float, float]


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], correlation_px: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field with correlation length ``correlation_px``, float32.

    White noise is Gaussian-filtered in the Fourier domain (periodic boundaries), so the cost does
    not grow with the correlation length as a spatial convolution's would.
    """
    spectrum = fourier_gaussian(np.fft.rfft2(rng.standard_normal(shape)), sigma=correlation_px, n=shape[1])
    field = np.fft.irfft2(spectrum, s=shape).astype(np.float32)
    return (field - field.mean()) / field.std()


def standardise(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(values - mean) / std`` with the moments of the valid pixels only."""
    mean, std = values[valid].mean(), values[valid].std()
    return (values - mean) / std


def covariate_risk(covariates: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The observable part of the latent risk, ``sum_b w_b z_b`` over :data:`BAND_NAMES`, ``(H, W)``.

    Exposed so a reader of the written GeoTIFF can check that the covariates carry the ordinal
    signal (its mean rises from class 0 to 1 to 2).
    """
    return sum(RISK_WEIGHTS[name] * standardise(band, valid) for name, band in zip(BAND_NAMES, covariates, strict=True))


def nodata_mask(rng: np.random.Generator, shape: tuple[int, int], border_px: int, blob_radius_px: float) -> np.ndarray:
    """``(H, W)`` bool, True where there is no data: a border frame and one elliptical blob."""
    height, width = shape
    mask = np.zeros(shape, dtype=bool)
    if border_px:
        mask[:border_px] = mask[-border_px:] = True
        mask[:, :border_px] = mask[:, -border_px:] = True
    if blob_radius_px > 0:
        centre_row, centre_col = rng.uniform(0.25, 0.75, size=2) * (height, width)
        radius_row, radius_col = blob_radius_px * rng.uniform(0.6, 1.4, size=2)
        rows, cols = np.ogrid[:height, :width]
        mask |= ((rows - centre_row) / radius_row) ** 2 + ((cols - centre_col) / radius_col) ** 2 <= 1.0
    return mask


def make_scene(settings: SyntheticSceneSettings, seed: int) -> SyntheticScene:
    """Generate covariates, latent risk and ordinal labels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    shape = (settings.height, settings.width)
    correlation_px = settings.correlation_px
    terrain = smooth_field(rng, shape, 2.0 * correlation_px)
    elevation_m = 600.0 + 250.0 * terrain
    grad_row, grad_col = np.gradient(elevation_m, settings.pixel_size_m)
    slope_deg = np.degrees(np.arctan(np.hypot(grad_row, grad_col)))
    slope_z = (slope_deg - slope_deg.mean()) / slope_deg.std()
    soil_moisture = np.clip(0.25 - 0.06 * terrain + 0.05 * smooth_field(rng, shape, correlation_px), 0.02, 0.5)
    ndvi = np.clip(0.55 - 0.08 * slope_z + 0.12 * smooth_field(rng, shape, correlation_px), -0.1, 0.95)
    rainfall_mm = 900.0 + 150.0 * smooth_field(rng, shape, 3.0 * correlation_px)
    hidden = smooth_field(rng, shape, correlation_px)
    covariates = np.stack([elevation_m, slope_deg, soil_moisture, ndvi, rainfall_mm]).astype(np.float32)

    valid = ~nodata_mask(rng, shape, settings.nodata_border_px, settings.nodata_blob_radius_px)
    latent = covariate_risk(covariates, valid) + HIDDEN_WEIGHT * hidden
    class1, class2 = settings.class1_fraction, settings.class2_fraction
    low, high = np.quantile(latent[valid], [1.0 - class1 - class2, 1.0 - class2])
    label = ((latent >= low).astype(np.uint8) + (latent >= high)).astype(np.uint8)
    label[~valid] = LABEL_NODATA
    covariates[:, ~valid] = SCENE_NODATA
    latent = np.where(valid, latent, np.nan).astype(np.float32)
    return SyntheticScene(covariates, label, latent, valid, (float(low), float(high)))


def write_synthetic_scene(
    scene_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    settings: SyntheticSceneSettings,
    seed: int,
) -> SyntheticScene:
    """Generate a scene and write ``scene_path`` (float32, 5 bands) and ``labels_path`` (uint8)."""
    scene = make_scene(settings, seed)
    pixel_m = settings.pixel_size_m
    grid = {
        "crs": f"EPSG:{settings.epsg}",
        "transform": from_origin(_ORIGIN_EASTING_M, _ORIGIN_NORTHING_M, pixel_m, pixel_m),
    }
    tags = {"source": "atmo.synth.riskseg", "seed": str(seed)}
    write_geotiff(scene_path, scene.covariates, nodata=SCENE_NODATA, descriptions=BAND_NAMES, tags=tags, **grid)
    write_geotiff(
        labels_path,
        scene.label,
        nodata=LABEL_NODATA,
        descriptions=("risk_class",),
        tags={**tags, "classes": "0=low 1=medium 2=high", "latent_thresholds": f"{scene.thresholds}"},
        **grid,
    )
    counts = np.bincount(scene.label[scene.valid], minlength=3)
    log.info("synthetic scene %s: class pixel fractions %s", scene.label.shape, np.round(counts / counts.sum(), 4))
    return scene
