"""Synthetic daily precipitation with coarse predictors that explain its large-scale part.

Why it looks like this: a downscaling model must learn (a) where and how much it rains from the
coarse state of the atmosphere and (b) the small-scale, intermittent, heavy-tailed texture that
the coarse state cannot determine (what a cVAE samples). So each day is built from

* large-scale latent fields (smooth Gaussian random fields, spectral slope ``beta = 4``) that
  evolve as an AR(1) process from day to day (``persistence``), giving moisture, a streamfunction
  (hence non-divergent 850 hPa winds), mid-level ascent and instability, plus a seasonal cycle;
* a fixed orography, whose upslope flow ``u . grad(z)`` adds orographic lifting;
* a rain index ``z = sqrt(rho) * L + sqrt(1 - rho) * s`` mixing the standardised large-scale
  driver ``L`` (ascent, moisture, instability, season, upslope flow) with fresh small-scale noise
  ``s`` (slope ``beta = 2``, spatially correlated but rough); ``rho`` is ``predictability``;
* precipitation ``intensity_mm * (exp(tail * (z - q)) - 1)`` where ``z > q``, else 0, with
  ``q`` the standard-normal quantile of ``dry_fraction``: a censored log-normal, so dry cells
  are exactly 0, wet amounts are heavy-tailed, and the wettest cells reach the 150-200 mm of
  the seed's storms at the default settings.

The coarse predictors are the ``factor x factor`` block means of the physical fields the rain was
made from (total column water vapour, 850 hPa winds, CAPE, 500 hPa vertical velocity,
orography), so they carry the learnable signal exactly as a reanalysis would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
from scipy.special import ndtri

from atmo.downscale.coarsen import coarsen
from atmo.errors import ConfigError
from atmo.io.downscale import DownscaleFields

log = logging.getLogger(__name__)

PREDICTORS = (
    ("tcwv", "kg m-2"),  # total column water vapour
    ("u850", "m s-1"),  # zonal wind at 850 hPa
    ("v850", "m s-1"),  # meridional wind at 850 hPa
    ("cape", "J kg-1"),  # convective available potential energy
    ("omega500", "Pa s-1"),  # vertical velocity at 500 hPa (negative = ascent)
    ("orography", "m"),  # surface height
)
_DAY_S = 86_400
_EARTH_M_PER_DEG = 111_195.0
# Weights of the standardised drivers in the large-scale rain index L (ascent, moisture,
# instability, season, upslope flow); L is divided by the root of their summed squares.
_WEIGHTS = {"ascent": 1.0, "moisture": 0.6, "instability": 0.4, "season": 0.3, "upslope": 0.5}


@dataclass(frozen=True)
class SyntheticDownscaleSettings:
    """The ``downscale.synthetic`` config block: the keywords of :func:`generate_fields` but ``seed``.

    Units and meanings are in the schema; ``generate_fields(seed=s, **dataclasses.asdict(settings))``.
    """

    WHERE: ClassVar[str] = "downscale.synthetic"

    n_samples: int = 365
    height: int = 64
    width: int = 64
    factor: int = 8
    dry_fraction: float = 0.55
    intensity_mm: float = 8.5
    tail: float = 0.6
    predictability: float = 0.6
    persistence: float = 0.6
    start_date: str = "2001-01-01"
    south_lat_deg: float = 43.0
    west_lon_deg: float = 5.0
    spacing_deg: float = 0.0625


def _spectrum(height: int, width: int, beta: float) -> np.ndarray:
    """Amplitude ``|k|^(-beta/2)`` on the FFT grid, scaled so filtered white noise has unit variance.

    The domain mean (``k = 0``) gets the amplitude of the largest resolved scale, so whole days can
    be wetter or drier than others instead of every day having the same areal mean.
    """
    k = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None, :])
    k[0, 0] = 1.0 / max(height, width)
    amplitude = k ** (-beta / 2)
    return amplitude / np.sqrt(np.mean(amplitude**2))


def _filter(noise: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    """Apply a spectral transfer function to white noise over the last two axes."""
    return np.fft.ifft2(np.fft.fft2(noise) * transfer).real


def _unit(transfer: np.ndarray) -> np.ndarray:
    return transfer / np.sqrt(np.mean(np.abs(transfer) ** 2))


def generate_fields(
    *,
    seed: int,
    n_samples: int,
    height: int,
    width: int,
    factor: int,
    dry_fraction: float,
    intensity_mm: float,
    tail: float,
    predictability: float,
    persistence: float,
    start_date: str,
    south_lat_deg: float,
    west_lon_deg: float,
    spacing_deg: float,
) -> DownscaleFields:
    """Generate ``n_samples`` consecutive days on a ``height x width`` grid (keyword = config key).

    Deterministic in ``seed``. Returns float32 fields in the units of :data:`PREDICTORS`.
    """
    if height % factor or width % factor:
        raise ConfigError(
            f"downscale.synthetic: height {height} and width {width} must be multiples of factor {factor}"
        )
    rng = np.random.default_rng(seed)
    lat = south_lat_deg + spacing_deg * (np.arange(height) + 0.5)
    lon = west_lon_deg + spacing_deg * (np.arange(width) + 0.5)
    dy_m = spacing_deg * _EARTH_M_PER_DEG
    dx_m = dy_m * np.cos(np.deg2rad(lat))[:, None]
    start = datetime.fromisoformat(start_date).replace(tzinfo=UTC)
    time_s = int(start.timestamp()) + _DAY_S * np.arange(n_samples, dtype=np.int64)
    day_of_year = (start.timetuple().tm_yday - 1 + np.arange(n_samples)) % 365.25
    season = np.sin(2 * np.pi * (day_of_year - 105) / 365.25)  # +1 in mid July

    smooth = _spectrum(height, width, beta=4.0)
    rough = _spectrum(height, width, beta=2.0)
    ky = 2j * np.pi * np.fft.fftfreq(height)[:, None]
    kx = 2j * np.pi * np.fft.fftfreq(width)[None, :]
    # Spectral derivatives of the streamfunction, each scaled to unit variance.
    wind_transfer = {"u": _unit(-ky * smooth), "v": _unit(kx * smooth)}

    orography_m = _filter(rng.standard_normal((height, width)), _spectrum(height, width, beta=3.5))
    orography_m = 350.0 * (orography_m - orography_m.min())
    slope_y, slope_x = np.gradient(orography_m, dy_m, axis=0), np.gradient(orography_m, axis=1) / dx_m
    slope_scale = 7.0 * np.sqrt(np.mean(slope_x**2 + slope_y**2))  # typical upslope flow in m/s * m/m
    index_norm = np.sqrt(sum(w**2 for w in _WEIGHTS.values()))
    wet_threshold = ndtri(dry_fraction)

    precip_hr = np.empty((n_samples, height, width), np.float32)
    predictors_lr = np.empty((n_samples, len(PREDICTORS), height // factor, width // factor), np.float32)
    physical = np.empty((len(PREDICTORS), height, width))  # one day's high-resolution predictors
    latent = rng.standard_normal((4, height, width))  # moisture, streamfunction, ascent, instability
    for t in range(n_samples):
        if t:
            latent = persistence * latent + np.sqrt(1 - persistence**2) * rng.standard_normal(latent.shape)
        spectra = np.fft.fft2(latent)
        moisture, _, ascent, instability = np.fft.ifft2(spectra * smooth).real
        u850 = 5.0 + 6.0 * np.fft.ifft2(spectra[1] * wind_transfer["u"]).real
        v850 = 6.0 * np.fft.ifft2(spectra[1] * wind_transfer["v"]).real
        upslope = (u850 * slope_x + v850 * slope_y) / slope_scale
        drivers = (
            _WEIGHTS["ascent"] * ascent
            + _WEIGHTS["moisture"] * moisture
            + _WEIGHTS["instability"] * instability
            + _WEIGHTS["season"] * season[t]
            + _WEIGHTS["upslope"] * upslope
        ) / index_norm
        small_scale = _filter(rng.standard_normal((height, width)), rough)
        index = np.sqrt(predictability) * drivers + np.sqrt(1 - predictability) * small_scale
        precip_hr[t] = np.where(index > wet_threshold, intensity_mm * np.expm1(tail * (index - wet_threshold)), 0.0)
        physical[0] = np.clip(28.0 + 8.0 * season[t] + 9.0 * moisture, 2.0, None)
        physical[1], physical[2] = u850, v850
        physical[3] = 600.0 * np.exp(0.6 * instability + 0.5 * season[t])
        physical[4] = -0.25 * ascent - 0.1 * upslope
        physical[5] = orography_m
        predictors_lr[t] = coarsen(physical, factor)
    log.info("generated %d synthetic days on a %dx%d grid", n_samples, height, width)
    return DownscaleFields(
        precip_hr_mm=precip_hr,
        precip_lr_mm=coarsen(precip_hr, factor),
        predictors_lr=predictors_lr,
        predictor_names=tuple(name for name, _ in PREDICTORS),
        predictor_units=tuple(unit for _, unit in PREDICTORS),
        time_s=time_s,
        lat_deg=lat,
        lon_deg=lon,
        factor=factor,
        accumulation_h=24.0,
        source=f"atmo.synth.downscale seed={seed}",
    )
