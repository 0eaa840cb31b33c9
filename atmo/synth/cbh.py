"""Synthetic airborne CBH flights and the matching synthetic ERA5 file, in the real formats.

Each flight gets its own regime (mean cloud-base height, humidity, time of day and therefore sun
angles, cloud fraction, surface brightness), so leave-one-flight-out evaluation faces a real domain
shift. Within a flight the base height drifts slowly (an AR(1) process) around the regime mean.

Camera frames carry the base height in three physically motivated ways:

- **shadow offset**: a cloud at height ``cbh`` casts its shadow ``cbh * tan(sza)`` metres away from
  the sun (azimuth + 180 degrees); divided by the ground resolution ``altitude * ifov`` this is the
  offset in pixels (nadir view, flat ground, the same model :mod:`atmo.cbh.geometry` inverts), with
  the cloud's depth, faint shadows and dark surface patches blurring the relation;
- **texture**: higher bases come with larger cloud cells (correlation length grows with ``cbh``);
- **brightness**: cloud brightness falls with base height and with the sun zenith angle.

The synthetic ERA5 fields are built from each flight's smoothed base height: the lifting
condensation level (``LCL = 125 m/K * (t2m - d2m)``) equals it plus noise, the boundary layer
tops out a little above it, and the other variables follow the regime. They cover exactly the
area and hours the CDS request for the same flights would (:func:`atmo.io.era5.request_area`).
Everything is deterministic given the seed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
from scipy.ndimage import gaussian_filter

from atmo.cbh.geometry import shadow_shift_px, shift_mask
from atmo.config_blocks import build_block
from atmo.io.cbh import FlightTrack, write_flight
from atmo.io.era5 import (
    ERA5_VARIABLES,
    LCL_M_PER_K,
    Era5Grid,
    Era5Settings,
    request_area,
    request_hours,
    write_era5,
)

#: ER-2 cruise speed, m/s, and the length of the racetrack legs flown over the cloud field, m.
CRUISE_SPEED_MS = 210.0
LEG_LENGTH_M = 120_000.0
#: Range of the flights' mean cloud-base heights, km; flights are spread evenly across it.
CBH_RANGE_KM = (0.4, 1.6)
METRES_PER_DEGREE = 111_320.0
#: Range of cloud depths (base to top), km: half the depth is added to the shadow-casting height.
CLOUD_DEPTH_KM = (0.1, 1.0)
#: Fraction of the surface covered by dark patches (60 % brightness) that mimic shadows.
DARK_PATCH_FRACTION = 0.08
#: Standard deviation of the independent per-grid-cell noise of each synthetic ERA5 field, in its units.
GRID_NOISE = {
    "t2m": 0.3,
    "d2m": 0.3,
    "sp": 50.0,
    "msl": 50.0,
    "blh": 30.0,
    "tcwv": 0.3,
    "u10": 0.3,
    "v10": 0.3,
    "lcc": 0.02,
    "tcc": 0.02,
    "cape": 5.0,
    "skt": 0.3,
}


@dataclass(frozen=True)
class CameraSettings:
    """Synthetic camera: frame size, angular pixel size and flight altitude (config ``cbh.synthetic``)."""

    WHERE: ClassVar[str] = "cbh.synthetic"

    image_height: int = 96
    image_width: int = 128
    channels: int = 3
    ifov_mrad: float = 4.0
    altitude_m: float = 20000.0
    sample_interval_s: float = 10.0


@dataclass(frozen=True)
class FlightRegime:
    """The weather and illumination of one synthetic flight."""

    mean_cbh_km: float
    cbh_std_km: float
    start_local_hour: float
    cloud_fraction: float
    surface_brightness: float
    center_lat_deg: float
    center_lon_deg: float
    heading_deg: float


def flight_date(name: str) -> datetime:
    """Flight names follow the campaign convention ``DDMonYY`` (``30Oct24``): the flight's UTC date."""
    return datetime.strptime(name, "%d%b%y").replace(tzinfo=UTC)


def flight_regime(index: int, n_flights: int, seed: int) -> FlightRegime:
    """Regime of flight ``index`` of ``n_flights``: mean base heights are a seeded permutation of
    evenly spaced values, so every pair of flights differs; the rest is drawn per flight."""
    rank = np.random.default_rng(seed).permutation(n_flights)[index]
    low, high = CBH_RANGE_KM
    rng = np.random.default_rng([seed, index])
    return FlightRegime(
        mean_cbh_km=float(low + (high - low) * rank / max(n_flights - 1, 1)),
        cbh_std_km=float(rng.uniform(0.05, 0.15)),
        start_local_hour=float(rng.uniform(9.0, 14.5)),
        cloud_fraction=float(rng.uniform(0.15, 0.35)),
        surface_brightness=float(rng.uniform(60.0, 100.0)),
        center_lat_deg=float(rng.uniform(32.0, 38.0)),
        center_lon_deg=float(rng.uniform(-124.0, -119.0)),
        heading_deg=float(rng.uniform(0.0, 360.0)),
    )


def solar_position(
    time_unix_s: np.ndarray, latitude_deg: np.ndarray, longitude_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Solar zenith and azimuth (clockwise from north), degrees, by NOAA's approximate formulas.

    Accurate to a fraction of a degree, plenty for synthetic illumination.
    """
    days = np.asarray(time_unix_s, dtype=np.float64) / 86400.0
    year_start = np.array(
        [datetime(datetime.fromtimestamp(d * 86400, tz=UTC).year, 1, 1, tzinfo=UTC).timestamp() for d in days]
    )
    day_of_year = days - year_start / 86400.0  # 0 at 1 January 00:00 UTC
    gamma = 2 * np.pi / 365.0 * day_of_year
    eqtime_min = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    true_solar_min = np.mod(days, 1.0) * 1440.0 + eqtime_min + 4.0 * np.asarray(longitude_deg)
    hour_angle = np.radians(true_solar_min / 4.0 - 180.0)
    lat = np.radians(latitude_deg)
    cos_zenith = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    zenith = np.degrees(np.arccos(np.clip(cos_zenith, -1.0, 1.0)))
    azimuth = np.degrees(np.arctan2(-np.sin(hour_angle), np.tan(decl) * np.cos(lat) - np.sin(lat) * np.cos(hour_angle)))
    return zenith, np.mod(azimuth, 360.0)


def synthetic_track(
    name: str, n_samples: int, regime: FlightRegime, camera: CameraSettings, rng: np.random.Generator
) -> FlightTrack:
    """Navigation, sun angles and lidar base heights of one flight flying racetrack legs."""
    start = flight_date(name).timestamp() + (regime.start_local_hour - regime.center_lon_deg / 15.0) * 3600
    time = start + np.cumsum(rng.exponential(camera.sample_interval_s, n_samples))
    along_m = CRUISE_SPEED_MS * (time - start)
    leg = np.floor(along_m / LEG_LENGTH_M)
    position_m = np.where(leg % 2 == 0, along_m % LEG_LENGTH_M, LEG_LENGTH_M - along_m % LEG_LENGTH_M)
    across_m = 5_000.0 * leg
    heading = np.radians(regime.heading_deg)
    north_m = position_m * np.cos(heading) - across_m * np.sin(heading)
    east_m = position_m * np.sin(heading) + across_m * np.cos(heading)
    latitude = regime.center_lat_deg + north_m / METRES_PER_DEGREE
    longitude = regime.center_lon_deg + east_m / (METRES_PER_DEGREE * np.cos(np.radians(latitude)))
    zenith, azimuth = solar_position(time, latitude, longitude)
    return FlightTrack(
        name=name,
        ifov_rad=camera.ifov_mrad * 1e-3,
        image_shape=(camera.channels, camera.image_height, camera.image_width),
        cbh_km=np.maximum(regime.mean_cbh_km + regime.cbh_std_km * _ar1(rng, time, 600.0), 0.15),
        time_unix_s=time,
        latitude_deg=latitude,
        longitude_deg=longitude,
        altitude_m=camera.altitude_m + 100.0 * _ar1(rng, time, 1800.0),
        sun_zenith_deg=zenith,
        sun_azimuth_deg=azimuth,
    )


def _ar1(rng: np.random.Generator, time_s: np.ndarray, decorrelation_s: float) -> np.ndarray:
    """Unit-variance AR(1) series sampled at irregular ``time_s`` with e-folding time ``decorrelation_s``."""
    out = np.empty(time_s.shape)
    out[0] = rng.standard_normal()
    for i in range(1, time_s.size):
        rho = math.exp(-(time_s[i] - time_s[i - 1]) / decorrelation_s)
        out[i] = rho * out[i - 1] + math.sqrt(1 - rho * rho) * rng.standard_normal()
    return out


def render_frame(
    rng: np.random.Generator,
    shape: tuple[int, int, int],
    cbh_km: float,
    sun_zenith_deg: float,
    sun_azimuth_deg: float,
    gsd_m: float,
    regime: FlightRegime,
) -> np.ndarray:
    """One (C, H, W) uint8 frame of broken cloud over a darker surface, with cloud shadows.

    Clouds come from smoothed noise thresholded at the regime's cloud fraction on a canvas padded by
    the shadow offset, so clouds just outside the frame still cast shadows into it. What makes the
    shadow method imperfect, as over real scenes: the shadow edge is cast by the cloud body, half a
    random cloud depth (:data:`CLOUD_DEPTH_KM`) above the base; thin clouds cast faint shadows; and
    dark surface patches (:data:`DARK_PATCH_FRACTION`) look like shadows.
    """
    channels, height, width = shape
    depth_km = rng.uniform(*CLOUD_DEPTH_KM)
    d_row, d_col = shadow_shift_px(cbh_km + 0.5 * depth_km, sun_zenith_deg, sun_azimuth_deg, gsd_m)
    pad = math.ceil(max(abs(d_row), abs(d_col))) + 2
    canvas = (height + 2 * pad, width + 2 * pad)
    cell_px = max((400.0 + 600.0 * cbh_km) / gsd_m, 0.8)
    texture = gaussian_filter(rng.standard_normal(canvas), cell_px)
    texture /= texture.std()
    threshold = np.quantile(texture, 1.0 - regime.cloud_fraction)
    cloud = texture > threshold
    shadow = shift_mask(cloud, round(d_row), round(d_col)) & ~cloud
    cos_sza = math.cos(math.radians(sun_zenith_deg))
    land = gaussian_filter(rng.standard_normal(canvas), 2.0 * cell_px)
    dark_patch = land > np.quantile(land, 1.0 - DARK_PATCH_FRACTION)
    surface = (
        regime.surface_brightness
        * math.sqrt(cos_sza)
        * (1 + 0.06 * gaussian_filter(rng.standard_normal(canvas), 3))
        * np.where(dark_patch, 0.6, 1.0)
    )
    cloud_top = 255.0 * (0.55 + 0.4 * cos_sza) * (1.05 - 0.15 * cbh_km)
    optical = np.clip(texture - threshold, 0.0, 1.0)
    gray = np.where(cloud, cloud_top * (0.75 + 0.25 * optical), surface)
    shadow_transmission = 0.35 + 0.4 * math.exp(-depth_km / 0.3)
    gray = np.where(shadow, shadow_transmission * surface, gray)[pad : pad + height, pad : pad + width]
    tint = np.linspace(0.9, 1.1, channels)[:, None, None]
    colour = np.where(cloud[None, pad : pad + height, pad : pad + width], 1.0, tint)
    frame = gray[None] * colour + rng.normal(0.0, 2.0, (channels, height, width))
    return np.clip(np.round(frame), 0, 255).astype(np.uint8)


def write_synthetic_flight(
    path: str | os.PathLike[str],
    name: str,
    index: int,
    n_flights: int,
    n_samples: int,
    camera: CameraSettings,
    seed: int,
) -> FlightTrack:
    """Generate flight ``index`` of ``n_flights`` with ``n_samples`` samples and write its HDF5 file."""
    regime = flight_regime(index, n_flights, seed)
    rng = np.random.default_rng([seed, index, 1])
    track = synthetic_track(name, n_samples, regime, camera, rng)
    images = np.stack(
        [
            render_frame(rng, track.image_shape, cbh, zenith, azimuth, gsd, regime)
            for cbh, zenith, azimuth, gsd in zip(
                track.cbh_km, track.sun_zenith_deg, track.sun_azimuth_deg, track.ground_resolution_m, strict=True
            )
        ]
    )
    write_flight(path, track, images)
    return track


# --- ERA5 ----------------------------------------------------------------------------------------


def synthetic_era5(
    tracks: Sequence[FlightTrack],
    variables: Sequence[str],
    *,
    grid_deg: float,
    margin_deg: float,
    margin_h: float,
    lcl_noise_m: float,
    seed: int,
) -> Era5Grid:
    """ERA5 fields on the area and hours a CDS request for ``tracks`` would cover.

    Each hour belongs to one flight (a later flight wins where two overlap) and its fields follow
    that flight's base height smoothed over half an hour, plus independent noise per grid cell
    (:data:`GRID_NOISE`), so the nearest grid point matters.
    """
    north, west, south, east = request_area(tracks, grid_deg=grid_deg, margin_deg=margin_deg)
    latitude = np.round(np.arange(north, south - grid_deg / 2, -grid_deg), 6)
    longitude = np.round(np.arange(west, east + grid_deg / 2, grid_deg), 6)
    hours = [request_hours(track, margin_h=margin_h) for track in tracks]
    time = np.unique(np.concatenate(hours))
    shape = (time.size, latitude.size, longitude.size)
    fields = {name: np.zeros(shape, np.float32) for name in variables}
    for index, (track, flight_hours) in enumerate(zip(tracks, hours, strict=True)):
        rng = np.random.default_rng([seed, index, 3])
        steps = np.searchsorted(time, flight_hours)
        smooth_cbh_m = 1000.0 * _smooth_in_time(track.time_unix_s, track.cbh_km, flight_hours, 1800.0)
        values = _flight_fields(rng, smooth_cbh_m, flight_hours, lcl_noise_m, flight_date(track.name))
        for name in variables:
            noise = rng.normal(0.0, GRID_NOISE[name], (steps.size, *shape[1:]))
            fields[name][steps] = values[name][:, None, None] + noise
    for name in ("lcc", "tcc"):
        if name in fields:
            np.clip(fields[name], 0.0, 1.0, out=fields[name])
    return Era5Grid(
        time_unix_s=time,
        latitude_deg=latitude,
        longitude_deg=longitude,
        fields=fields,
        units={name: ERA5_VARIABLES[name][1] for name in variables},
    )


def _smooth_in_time(time_s: np.ndarray, values: np.ndarray, at_s: np.ndarray, bandwidth_s: float) -> np.ndarray:
    """Gaussian-kernel average of ``values`` taken at ``time_s``, evaluated at ``at_s``."""
    weights = np.exp(-0.5 * ((at_s[:, None] - time_s[None, :]) / bandwidth_s) ** 2) + 1e-12
    return (weights * values[None, :]).sum(axis=1) / weights.sum(axis=1)


def _flight_fields(
    rng: np.random.Generator, cbh_m: np.ndarray, hours_s: np.ndarray, lcl_noise_m: float, date: datetime
) -> dict[str, np.ndarray]:
    """Hourly values (n_hours,) of every supported ERA5 variable for one flight regime."""
    n = hours_s.size
    season = math.cos(2 * math.pi * (date.timetuple().tm_yday - 200) / 365.0)
    lcl_m = np.maximum(cbh_m + rng.normal(0.0, lcl_noise_m, n), 50.0)
    t2m = 288.0 + 6.0 * season + rng.normal(0.0, 2.0) + 0.3 * (hours_s - hours_s[0]) / 3600.0
    d2m = t2m - lcl_m / LCL_M_PER_K
    vapour_hpa = 6.1094 * np.exp(17.625 * (d2m - 273.15) / (d2m - 273.15 + 243.04))
    sp = 101_300.0 + rng.normal(0.0, 600.0) + rng.normal(0.0, 30.0, n)
    lcc = rng.uniform(0.2, 0.7) + rng.normal(0.0, 0.03, n)
    blh = lcl_m * rng.uniform(1.05, 1.35) + rng.normal(0.0, 60.0, n)
    wind_ms, wind_dir = rng.uniform(2.0, 10.0), rng.uniform(0.0, 2 * np.pi)
    values = {
        "t2m": t2m,
        "d2m": d2m,
        "sp": sp,
        "msl": sp + 40.0,
        "blh": blh,
        "tcwv": 2.0 * vapour_hpa + rng.normal(0.0, 0.5, n),
        "u10": wind_ms * math.sin(wind_dir) + rng.normal(0.0, 0.3, n),
        "v10": wind_ms * math.cos(wind_dir) + rng.normal(0.0, 0.3, n),
        "lcc": lcc,
        "tcc": lcc + rng.uniform(0.0, 0.2),
        "cape": rng.uniform(0.0, 400.0) * np.exp(-lcl_m / 2000.0) + rng.normal(0.0, 10.0, n).clip(0),
        "skt": t2m + rng.uniform(-1.0, 2.0),
    }
    return {name: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for name, v in values.items()}


def write_synthetic_era5(
    path: str | os.PathLike[str], tracks: Sequence[FlightTrack], settings: Era5Settings | Mapping, seed: int
) -> None:
    """Write :func:`synthetic_era5` for ``tracks`` as an ERA5 NetCDF file.

    ``settings`` is the config block ``cbh.era5``, built or as a mapping (missing keys take defaults).
    """
    settings = build_block(Era5Settings, settings, "cbh.era5")
    grid = synthetic_era5(
        tracks,
        settings.variables,
        grid_deg=settings.grid_deg,
        margin_deg=settings.margin_deg,
        margin_h=settings.margin_h,
        lcl_noise_m=settings.lcl_noise_m,
        seed=seed,
    )
    write_era5(path, grid)
