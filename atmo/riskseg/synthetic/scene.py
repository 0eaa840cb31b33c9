"""Synthetic risk scene: covariate GeoTIFF plus an ordinal 3-class label GeoTIFF on the same grid.

The survey rasters behind the riskseg seed are not public, so the default workflow runs on a scene
with the same on-disk form, a rare medium class (2.65 % of valid pixels, as in the write-up) and labels
that depend on the ground *around* a pixel, as hazard zones do. How the labels are made:

* **covariates** are spatially correlated fields (Gaussian-filtered white noise), tied together
  like real terrain covariates: slope is the gradient of elevation, soil moisture drops with
  elevation, vegetation thins on steep slopes. NDVI also carries pixel-scale patchiness whose
  amplitude varies smoothly across the scene (fragmented vegetation beside closed canopy);
* the **pixel risk** ``r = sum_b w_b z_b`` weights the standardised covariates (:data:`RISK_WEIGHTS`:
  steep, wet, bare, rainy ground is riskier);
* the **neighbourhood risk** ``R`` is ``r`` averaged over the ground within about
  ``context_px`` (a Gaussian of that sigma over valid pixels, :func:`atmo.riskseg.smoothing.masked_mean`),
  standardised: a slope fails when the ground around and above it is steep and wet, not the pixel;
* the **latent risk** ``L = R + hidden_weight * h`` adds an unobserved smooth field ``h`` (unit
  variance, correlation ``correlation_px``): the unobservable part, spatially correlated like
  real unmapped factors (geology, drainage), independent of every covariate;
* **high** (class 2): ``L >= t_high``, ``t_high`` the ``1 - class2_fraction`` quantile of the valid pixels;
* **medium** (class 1): the runout zone below high ground: valid pixels outside class 2 whose
  Euclidean distance to the nearest high pixel is at most ``w0 * m(x)``. The runout factor
  ``m = exp(RUNOUT_EXPONENT * standardised log T)`` grows with ``T``, the local texture of NDVI
  (its Gaussian-weighted standard deviation within :data:`TEXTURE_PX`): debris runs further through
  fragmented vegetation than through closed canopy. ``w0`` is set so that class 1 is exactly
  ``class1_fraction`` of the valid pixels (a quantile of ``distance / m``);
* a nodata border and a masked blob (cloud, lake, survey gap) are nodata in both rasters; only
  valid pixels enter the averages and the distances.

What a model can know: ``R``, the distance to the high ground (through the level and gradient of
``R``) and ``T`` are functions of the covariates in a neighbourhood, none of the covariates at the
pixel alone, so a spatial model has something to gain over a per-pixel one; ``h`` is unobservable,
so no model reaches certainty. The Bayes-optimal classifier given all covariates is the oracle of
:mod:`atmo.riskseg.synthetic.latent_risk`: it knows everything above except ``h`` and averages over ``h``'s prior.

Everything is drawn from ``np.random.default_rng(seed)``, so two runs write identical files.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from rasterio.crs import CRS
from rasterio.transform import from_origin
from scipy.ndimage import distance_transform_edt, fourier_gaussian

from atmo.io.geotiff import write_geotiff
from atmo.riskseg import LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.smoothing import masked_mean, masked_std
from atmo.settings import Check, settings_block

log = logging.getLogger(__name__)

BAND_NAMES = ("elevation_m", "slope_deg", "soil_moisture_m3m3", "ndvi", "rainfall_mm")
# Contribution of each standardised covariate to the pixel risk (landslide/flood-like: steep, wet,
# bare, rainy ground is riskier).
RISK_WEIGHTS = {"elevation_m": 0.0, "slope_deg": 0.9, "soil_moisture_m3m3": 0.7, "ndvi": -0.6, "rainfall_mm": 0.5}
# NDVI patchiness: amplitude of the pixel-scale component, its correlation (px) and the spread of
# its slowly varying amplitude (log-normal, correlation twice the scene's).
PATCH_NDVI = 0.05
PATCH_CORRELATION_PX = 1.0
PATCH_LOG_SPREAD = 0.6
# The vegetation texture the runout width follows: NDVI's standard deviation within this sigma (px),
# and how strongly (the runout factor is exp(RUNOUT_EXPONENT * standardised log texture)).
TEXTURE_PX = 2.0
RUNOUT_EXPONENT = 0.8
# Map origin of the synthetic grid: inside UTM zone bounds for any northern-hemisphere zone.
_ORIGIN_EASTING_M = 400_000.0
_ORIGIN_NORTHING_M = 4_500_000.0


class SyntheticSceneSettings(settings_block("riskseg", "synthetic")):
    """The ``riskseg.synthetic`` config block, one field per key (see the schema for units)."""

    def cross_checks(self) -> list[Check]:
        low, high = self.class1_fraction, self.class2_fraction
        return [
            ("class2_fraction", low + high < 1, f"expected class1_fraction ({low}) + class2_fraction < 1"),
            ("epsg", CRS.from_epsg(self.epsg).is_projected, "expected a projected CRS (pixels are in metres)"),
        ]


@dataclass(frozen=True)
class SyntheticScene:
    """One generated scene, in memory, with every field its labels were cut from.

    covariates: ``(C, H, W)`` float32 in :data:`BAND_NAMES` order, :data:`SCENE_NODATA` where invalid.
    label: ``(H, W)`` uint8 in {0, 1, 2}, :data:`LABEL_NODATA` where invalid.
    valid: ``(H, W)`` bool, False in the nodata border and blob.
    risk: ``(H, W)`` float64 neighbourhood risk ``R`` (observable through the covariates).
    runout: ``(H, W)`` float64 runout factor ``m`` (observable through NDVI's texture).
    hidden: ``(H, W)`` float32 unobserved field ``h``; the latent risk is ``risk + hidden_weight * hidden``.
    high_threshold: ``t_high``; runout_px: ``w0`` (class 1 is within ``w0 * m`` px of class 2).
    """

    covariates: np.ndarray
    label: np.ndarray
    valid: np.ndarray
    risk: np.ndarray
    runout: np.ndarray
    hidden: np.ndarray
    high_threshold: float
    runout_px: float


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
    """The pixel risk ``r = sum_b w_b z_b`` over :data:`BAND_NAMES`, ``(H, W)``.

    Exposed so a reader of the written GeoTIFF can check that the covariates carry the ordinal
    signal (its mean rises from class 0 to 1 to 2).
    """
    return sum(RISK_WEIGHTS[name] * standardise(band, valid) for name, band in zip(BAND_NAMES, covariates, strict=True))


def neighbourhood_risk(covariates: np.ndarray, valid: np.ndarray, context_px: float) -> np.ndarray:
    """``R``: the pixel risk averaged over the valid ground within ``context_px`` (sigma), standardised.

    ``context_px`` 0 leaves the pixel risk as it is (labels then follow each pixel's covariates).
    """
    risk = covariate_risk(covariates, valid)
    if context_px > 0:
        risk = masked_mean(risk, valid, context_px)
    return standardise(risk, valid)


def runout_factor(ndvi: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``m = exp(RUNOUT_EXPONENT * standardised log T)``, ``T`` NDVI's local texture (median ``m`` about 1)."""
    texture = np.log(np.maximum(masked_std(ndvi, valid, TEXTURE_PX), 1e-6))
    return np.exp(RUNOUT_EXPONENT * standardise(texture, valid))


def classify(
    latent: np.ndarray, valid: np.ndarray, high_threshold: float, runout: np.ndarray, runout_px: float
) -> np.ndarray:
    """Labels ``(H, W)`` uint8: 2 where ``latent >= high_threshold``, 1 within ``runout_px * runout`` px of a
    class-2 pixel, else 0; :data:`LABEL_NODATA` outside ``valid`` (see the module docstring)."""
    high = valid & (latent >= high_threshold)
    medium = valid & ~high & (runout_distance(high, runout) <= runout_px)
    label = np.where(high, 2, np.where(medium, 1, 0)).astype(np.uint8)
    label[~valid] = LABEL_NODATA
    return label


def runout_distance(high: np.ndarray, runout: np.ndarray) -> np.ndarray:
    """Distance (px) to the nearest ``high`` pixel divided by the runout factor: ``<= w0`` is class 1."""
    return distance_transform_edt(~high) / runout


def fit_thresholds(
    latent: np.ndarray, valid: np.ndarray, runout: np.ndarray, class1: float, class2: float
) -> tuple[float, float]:
    """``(t_high, w0)``: class 2 is ``class2`` and class 1 ``class1`` of the valid pixels."""
    high_threshold = float(np.quantile(latent[valid], 1.0 - class2))
    high = valid & (latent >= high_threshold)
    candidates = valid & ~high
    share = class1 * valid.sum() / candidates.sum()
    return high_threshold, float(np.quantile(runout_distance(high, runout)[candidates], share))


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


def make_covariates(rng: np.random.Generator, settings: SyntheticSceneSettings) -> np.ndarray:
    """The five covariate fields ``(C, H, W)`` float32 in :data:`BAND_NAMES` order (see the module docstring)."""
    shape = (settings.height, settings.width)
    correlation_px = settings.correlation_px
    terrain = smooth_field(rng, shape, 2.0 * correlation_px)
    elevation_m = 600.0 + 250.0 * terrain
    grad_row, grad_col = np.gradient(elevation_m, settings.pixel_size_m)
    slope_deg = np.degrees(np.arctan(np.hypot(grad_row, grad_col)))
    slope_z = (slope_deg - slope_deg.mean()) / slope_deg.std()
    soil_moisture = np.clip(0.25 - 0.06 * terrain + 0.05 * smooth_field(rng, shape, correlation_px), 0.02, 0.5)
    patchiness = np.exp(PATCH_LOG_SPREAD * smooth_field(rng, shape, 2.0 * correlation_px))
    patches = PATCH_NDVI * patchiness * smooth_field(rng, shape, PATCH_CORRELATION_PX)
    ndvi = np.clip(0.55 - 0.08 * slope_z + 0.12 * smooth_field(rng, shape, correlation_px) + patches, -0.1, 0.95)
    rainfall_mm = 900.0 + 150.0 * smooth_field(rng, shape, 3.0 * correlation_px)
    return np.stack([elevation_m, slope_deg, soil_moisture, ndvi, rainfall_mm]).astype(np.float32)


def make_scene(settings: SyntheticSceneSettings, seed: int) -> SyntheticScene:
    """Generate covariates, the fields behind the labels, and the ordinal labels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    covariates = make_covariates(rng, settings)
    hidden = smooth_field(rng, (settings.height, settings.width), settings.correlation_px)
    valid = ~nodata_mask(rng, hidden.shape, settings.nodata_border_px, settings.nodata_blob_radius_px)
    risk = neighbourhood_risk(covariates, valid, settings.context_px)
    runout = runout_factor(covariates[BAND_NAMES.index("ndvi")], valid)
    latent = risk + settings.hidden_weight * hidden
    high_threshold, runout_px = fit_thresholds(
        latent, valid, runout, settings.class1_fraction, settings.class2_fraction
    )
    label = classify(latent, valid, high_threshold, runout, runout_px)
    covariates[:, ~valid] = SCENE_NODATA
    return SyntheticScene(covariates, label, valid, risk, runout, hidden, high_threshold, runout_px)


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
    tags = {"source": "atmo.riskseg.synthetic.scene", "seed": str(seed)}
    write_geotiff(scene_path, scene.covariates, nodata=SCENE_NODATA, descriptions=BAND_NAMES, tags=tags, **grid)
    write_geotiff(
        labels_path,
        scene.label,
        nodata=LABEL_NODATA,
        descriptions=("risk_class",),
        tags={
            **tags,
            "classes": "0=low 1=medium 2=high",
            "high_threshold": f"{scene.high_threshold}",
            "runout_px": f"{scene.runout_px}",
        },
        **grid,
    )
    counts = np.bincount(scene.label[scene.valid], minlength=3)
    log.info("synthetic scene %s: class pixel fractions %s", scene.label.shape, np.round(counts / counts.sum(), 4))
    return scene
