"""Synthetic daily precipitation with coarse predictors that explain its large-scale part.

Why it looks like this: a downscaling model must learn (a) where and how much it rains from the
coarse state of the atmosphere and (b) the small-scale, intermittent, heavy-tailed texture that the
coarse state cannot determine (what a cVAE samples). Real rain fields have coherent rain areas and a
power-law spatial spectrum; a texture of independent pixels (the first version of this generator)
makes bicubic interpolation plus white noise nearly optimal and leaves a generative model nothing to
learn. So each day is built from

* large-scale latent fields (smooth Gaussian random fields, spectral exponent ``beta = 4``) that
  evolve as an AR(1) process from day to day (``persistence``), giving moisture, a streamfunction
  (hence non-divergent 850 hPa winds), mid-level ascent and instability, plus a seasonal cycle;
* a fixed orography (spectral exponent 4.5), whose upslope flow ``u . grad(z)`` adds orographic lifting;
  a rougher orography (3.5, as before) gives the upslope term so much small-scale power that the
  rain spectrum flattens to about -2.6, below the radar range;
* a rain *texture* ``s``: Gaussian noise filtered to the power law ``|k|^-texture_beta`` from the
  domain scale to the grid scale, its white noise following an AR(1) process in time
  (``texture_persistence``), so rain areas are spatially coherent and persist from one day to the next;
* a rain index ``z = sqrt(rho) * L + sqrt(1 - rho) * s`` mixing the standardised large-scale
  driver ``L`` (ascent, moisture, instability, season, upslope flow) with the texture; ``rho`` is
  ``predictability``;
* precipitation ``intensity_mm * (exp(tail * (z - q)) - 1)`` where ``z > q``, else 0, with ``q`` the
  standard-normal quantile of ``dry_fraction``: the exponential of a Gaussian field with a power-law
  spectrum, thresholded for intermittency. Dry cells are exactly 0, wet amounts are heavy-tailed, and
  the wettest cells reach the 150-200 mm of the write-up's storms at the default settings.

What it aims for, and why:

* **Spectral slope about -3** of the radially averaged power spectrum (RAPSD) of the rain field, fitted
  over wavelengths of 4 to 32 cells (about 28-220 km at the default 7 km spacing;
  :func:`atmo.metrics.spectra.spectral_slope`). Radar rain-rate fields have RAPSD slopes of about -2.5
  to -3.5 over such scales (Seed et al. describe radar rain as a multiplicative cascade with a power-law
  spectrum; pysteps, Pulkkinen et al. 2019, fits such power laws to radar fields to generate STEPS noise).
  The rain field's slope is set mainly by ``texture_beta`` (the exponential and the threshold flatten
  it, the smooth large-scale driver steepens it): ``texture_beta = 3.3`` measures -2.9 at the default
  config (-2.87 to -2.93 over seeds 0-2) and -2.65 on the small test grid; a test checks -2.7 to -3.1
  at the default config.
* **Wet fraction about 40 %** of the cell-days (>= 0.1 mm; ``dry_fraction = 0.58`` measures 0.40 at the
  default config, 0.40-0.45 over seeds 0-2, a test checks 0.35-0.45): daily accumulations,
  where rain-gauge wet-day frequencies in mid-latitudes are of the order of a third to a half of the
  days; near the first version's 43 %, so the write-up's intensity statistics stay comparable.

The coarse predictors are the ``factor x factor`` block means of the physical fields the rain was
made from (total column water vapour, 850 hPa winds, CAPE, 500 hPa vertical velocity, orography), so
they carry the learnable signal exactly as a reanalysis would, and ``precip_lr_mm`` is the block mean
of ``precip_hr_mm`` (the format's definition, :mod:`atmo.downscale.coarsen`).

**The oracle** (:func:`oracle_members`): the texture is the sum of two independent parts, its Fourier
modes with wavelengths of at least ``2 factor`` cells (what the coarse grid resolves) and the finer ones
(``s = s_resolved + s_fine``, one white noise split by a sharp mask in wavenumber, so the two are
independent Gaussian fields). The oracle conditions on the day's resolved index
``sqrt(rho) L + sqrt(1 - rho) s_resolved`` (the large-scale drivers at full resolution and the resolved
texture: what the generator knows of the day at the coarse grid's scales) and on the day's coarse
precipitation; it knows nothing of earlier days. It draws ``s_fine`` afresh from its stationary
distribution for every member (the exact conditional given the resolved index, since the fine modes
are independent of it) and then shifts each member's index by a constant within each coarse cell,
chosen so that the cell's mean precipitation equals the coarse value (a dry coarse cell gets a dry
block). The shift is the approximate part: it conditions on the coarse precipitation without sampling
the exact conditional distribution. Its CRPS is the floor a downscaler of this data can hope for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy.special import ndtri

from atmo.downscale.coarsen import coarsen
from atmo.downscale.field_files import DownscaleFields
from atmo.settings import Check, settings_block

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
# Bisection steps of the oracle's per-block index shift: the bracket shrinks 2^40 times, then a
# factor of about 1 makes the block means exact.
_SHIFT_STEPS = 40


class SyntheticDownscaleSettings(settings_block("downscale", "synthetic")):
    """The ``downscale.synthetic`` config block: the keywords of :func:`generate_fields` but ``seed``.

    Units and meanings are in the schema; ``generate_fields(seed=s, **dataclasses.asdict(settings))``.
    The coarse grid is the fine one in blocks of ``factor`` cells, so both sides must be multiples of it.
    """

    def cross_checks(self) -> list[Check]:
        return [
            (side, getattr(self, side) % self.factor == 0, f"expected a multiple of factor ({self.factor})")
            for side in ("height", "width")
        ]


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


def _resolved_mask(height: int, width: int, factor: int) -> np.ndarray:
    """``True`` at the wavenumbers the coarse grid resolves: wavelengths of at least ``2 factor`` cells."""
    k = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None, :])
    return k <= 1.0 / (2 * factor)


def _precip_mm(index: np.ndarray, threshold: float, intensity_mm: float, tail: float) -> np.ndarray:
    """The censored log-normal amount of a rain index (module docstring), mm."""
    return np.where(index > threshold, intensity_mm * np.expm1(tail * (index - threshold)), 0.0)


@dataclass(frozen=True)
class _Day:
    """One generated day: the rain index split into what the coarse grid resolves and the rest, and the
    high-resolution physical predictors ``(C, H, W)``."""

    resolved_index: np.ndarray
    fine_index: np.ndarray
    physical: np.ndarray


class _Generator:
    """The fixed parts of a synthetic run (grid, spectra, orography) and its day-by-day evolution."""

    def __init__(self, seed: int, cfg: SyntheticDownscaleSettings) -> None:
        self.cfg = cfg
        h, w = cfg.height, cfg.width
        self.rng = np.random.default_rng(seed)
        lat = cfg.south_lat_deg + cfg.spacing_deg * (np.arange(h) + 0.5)
        self.lat = lat
        self.lon = cfg.west_lon_deg + cfg.spacing_deg * (np.arange(w) + 0.5)
        dy_m = cfg.spacing_deg * _EARTH_M_PER_DEG
        dx_m = dy_m * np.cos(np.deg2rad(lat))[:, None]
        start = datetime.fromisoformat(cfg.start_date).replace(tzinfo=UTC)
        self.time_s = int(start.timestamp()) + _DAY_S * np.arange(cfg.n_samples, dtype=np.int64)
        day_of_year = (start.timetuple().tm_yday - 1 + np.arange(cfg.n_samples)) % 365.25
        self.season = np.sin(2 * np.pi * (day_of_year - 105) / 365.25)  # +1 in mid July

        self.smooth = _spectrum(h, w, beta=4.0)
        texture = _spectrum(h, w, beta=cfg.texture_beta)
        resolved = _resolved_mask(h, w, cfg.factor)
        self.texture_resolved = np.where(resolved, texture, 0.0)
        self.texture_fine = np.where(resolved, 0.0, texture)
        ky = 2j * np.pi * np.fft.fftfreq(h)[:, None]
        kx = 2j * np.pi * np.fft.fftfreq(w)[None, :]
        # Spectral derivatives of the streamfunction, each scaled to unit variance.
        self.wind_transfer = {"u": _unit(-ky * self.smooth), "v": _unit(kx * self.smooth)}

        orography_m = _filter(self.rng.standard_normal((h, w)), _spectrum(h, w, beta=4.5))
        self.orography_m = 350.0 * (orography_m - orography_m.min())
        self.slope_y = np.gradient(self.orography_m, dy_m, axis=0)
        self.slope_x = np.gradient(self.orography_m, axis=1) / dx_m
        # typical upslope flow in m/s * m/m
        self.slope_scale = 7.0 * np.sqrt(np.mean(self.slope_x**2 + self.slope_y**2))
        self.threshold = float(ndtri(cfg.dry_fraction))

    def days(self) -> Iterator[_Day]:
        """Every day in order; deterministic in the seed."""
        cfg, rng = self.cfg, self.rng
        h, w = cfg.height, cfg.width
        index_norm = np.sqrt(sum(weight**2 for weight in _WEIGHTS.values()))
        rho = cfg.predictability
        latent = rng.standard_normal((4, h, w))  # moisture, streamfunction, ascent, instability
        noise = rng.standard_normal((h, w))  # the texture's white noise
        for t in range(cfg.n_samples):
            if t:
                latent = cfg.persistence * latent + np.sqrt(1 - cfg.persistence**2) * rng.standard_normal(latent.shape)
                a = cfg.texture_persistence
                noise = a * noise + np.sqrt(1 - a**2) * rng.standard_normal((h, w))
            spectra = np.fft.fft2(latent)
            moisture, _, ascent, instability = np.fft.ifft2(spectra * self.smooth).real
            u850 = 5.0 + 6.0 * np.fft.ifft2(spectra[1] * self.wind_transfer["u"]).real
            v850 = 6.0 * np.fft.ifft2(spectra[1] * self.wind_transfer["v"]).real
            upslope = (u850 * self.slope_x + v850 * self.slope_y) / self.slope_scale
            drivers = (
                _WEIGHTS["ascent"] * ascent
                + _WEIGHTS["moisture"] * moisture
                + _WEIGHTS["instability"] * instability
                + _WEIGHTS["season"] * self.season[t]
                + _WEIGHTS["upslope"] * upslope
            ) / index_norm
            white = np.fft.fft2(noise)
            resolved = np.sqrt(rho) * drivers + np.sqrt(1 - rho) * np.fft.ifft2(white * self.texture_resolved).real
            fine = np.sqrt(1 - rho) * np.fft.ifft2(white * self.texture_fine).real
            physical = np.empty((len(PREDICTORS), h, w))
            physical[0] = np.clip(28.0 + 8.0 * self.season[t] + 9.0 * moisture, 2.0, None)
            physical[1], physical[2] = u850, v850
            physical[3] = 600.0 * np.exp(0.6 * instability + 0.5 * self.season[t])
            physical[4] = -0.25 * ascent - 0.1 * upslope
            physical[5] = self.orography_m
            yield _Day(resolved, fine, physical)

    def precip_mm(self, index: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        return _precip_mm(index, self.threshold, cfg.intensity_mm, cfg.tail)

    def fresh_fine(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Independent draws ``(*shape, H, W)`` of the texture's fine part (its stationary distribution)."""
        white = rng.standard_normal((*shape, self.cfg.height, self.cfg.width))
        return np.sqrt(1 - self.cfg.predictability) * _filter(white, self.texture_fine)


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
    texture_beta: float,
    texture_persistence: float,
    start_date: str,
    south_lat_deg: float,
    west_lon_deg: float,
    spacing_deg: float,
) -> DownscaleFields:
    """Generate ``n_samples`` consecutive days on a ``height x width`` grid (keyword = config key).

    Deterministic in ``seed``. Returns float32 fields in the units of :data:`PREDICTORS`.
    """
    keywords = {key: value for key, value in locals().items() if key != "seed"}
    cfg = SyntheticDownscaleSettings(**keywords)
    generator = _Generator(seed, cfg)
    h, w, f = cfg.height, cfg.width, cfg.factor
    precip_hr = np.empty((n_samples, h, w), np.float32)
    predictors_lr = np.empty((n_samples, len(PREDICTORS), h // f, w // f), np.float32)
    for t, day in enumerate(generator.days()):
        precip_hr[t] = generator.precip_mm(day.resolved_index + day.fine_index)
        predictors_lr[t] = coarsen(day.physical, f)
    log.info("generated %d synthetic days on a %dx%d grid", n_samples, h, w)
    return DownscaleFields(
        precip_hr_mm=precip_hr,
        precip_lr_mm=coarsen(precip_hr, f),
        predictors_lr=predictors_lr,
        predictor_names=tuple(name for name, _ in PREDICTORS),
        predictor_units=tuple(unit for _, unit in PREDICTORS),
        time_s=generator.time_s,
        lat_deg=generator.lat,
        lon_deg=generator.lon,
        factor=f,
        accumulation_h=24.0,
        source=f"atmo.downscale.synthetic.fields seed={seed}",
    )


def _block_mean_mm(generator: _Generator, index: np.ndarray, shift: np.ndarray, factor: int) -> np.ndarray:
    """Block means ``(..., h, w)`` of the precipitation of ``index (..., H, W)`` shifted by ``shift (..., h, w)``."""
    spread = np.repeat(np.repeat(shift, factor, axis=-2), factor, axis=-1)
    return coarsen(generator.precip_mm(index + spread), factor).astype(np.float64)


def _match_blocks(generator: _Generator, index: np.ndarray, coarse_mm: np.ndarray) -> np.ndarray:
    """Precipitation ``(K, H, W)`` of ``index (K, H, W)`` shifted per coarse cell so that its block means
    equal ``coarse_mm (h, w)``: a bisection on the shift (the block mean grows with it), then a factor of
    about 1 that removes the bisection's last rounding; a dry coarse cell gets a dry block."""
    f = generator.cfg.factor
    blocks = index.reshape(*index.shape[:-2], index.shape[-2] // f, f, index.shape[-1] // f, f)
    # At low the block is dry; at high its coldest cell is above the threshold by enough to be wet enough.
    low = generator.threshold - blocks.max(axis=(-3, -1)) - 1.0
    high = generator.threshold - blocks.min(axis=(-3, -1))
    target = np.broadcast_to(np.asarray(coarse_mm, np.float64), low.shape)
    while np.any(too_dry := _block_mean_mm(generator, index, high, f) < target):
        high = np.where(too_dry, high + 2.0 * (high - low), high)
    for _ in range(_SHIFT_STEPS):
        middle = 0.5 * (low + high)
        below = _block_mean_mm(generator, index, middle, f) < target
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    shifted = generator.precip_mm(index + np.repeat(np.repeat(high, f, axis=-2), f, axis=-1))
    means = coarsen(shifted, f).astype(np.float64)
    ratio = np.divide(target, means, out=np.zeros_like(means), where=means > 0)
    return shifted * np.repeat(np.repeat(ratio, f, axis=-2), f, axis=-1)


def oracle_members(
    settings: SyntheticDownscaleSettings,
    *,
    seed: int,
    days: np.ndarray,
    coarse_mm: np.ndarray,
    k: int,
    rng: np.random.Generator,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(members (K, H, W), truth (H, W))`` float32 mm for each of ``days`` (sample indices, increasing), in order.

    Regenerates the run of ``seed`` and ``settings`` up to each day's resolved index, draws the fine
    texture afresh from ``rng`` and matches each member's block means to ``coarse_mm (n, h, w)`` (the
    module docstring says exactly what the oracle conditions on). ``truth`` is the regenerated day, so a
    caller can check that ``seed`` and ``settings`` are those of its fields file.
    """
    days = [int(day) for day in days]
    if days != sorted(set(days)):
        raise ValueError("oracle days must be distinct and increasing")
    position = {day: i for i, day in enumerate(days)}
    generator = _Generator(seed, settings)
    for t, day in zip(range(days[-1] + 1), generator.days(), strict=False):
        if t in position:
            index = day.resolved_index + generator.fresh_fine((k,), rng)
            members = _match_blocks(generator, index, coarse_mm[position[t]])
            truth = generator.precip_mm(day.resolved_index + day.fine_index)
            yield members.astype(np.float32), truth.astype(np.float32)
