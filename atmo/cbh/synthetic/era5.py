"""Synthetic ERA5 for the CBH flights: each flight's state as a reanalysis sees it.

The fields come from the flights' thermodynamic states (:func:`atmo.cbh.synthetic.state.flight_state`,
rebuilt here from the seed), never from the flight files' labels: :func:`synthetic_era5` reads
only the tracks' positions and times, which fix the area and hours a CDS request would cover
(:func:`atmo.cbh.era5_files.request_area`, :func:`~atmo.cbh.era5_files.request_hours`).

Error model (what separates the ERA5 LCL, ``125 m/K * (t2m - d2m)``, from the lidar base):

- **resolution**: each value is the state at the 0.25-degree cell's centre, averaged over 90 minutes
  around the hour (triangular weights), so much of the LCL's fast part (200 m, tau = 15 min) is
  smoothed away, and the mesoscale variability of the base (200 m), the cloud-to-cloud spread
  (40 m), the hills (30 % of 50-120 m) and the lidar noise (30 m) were never in the state;
- **structure**: the surface LCL is the base only when the boundary layer is well mixed; under a
  decoupled layer the base is a few hundred metres higher (the cloud-base model);
- **regime-dependent bias** per flight: ``d2m`` too moist by 0.3 +- 0.3 K when well mixed and by
  0.8 +- 0.3 K when decoupled (an LCL 40 and 100 m too low), ``t2m`` off by 0 +- 0.3 K, ``blh`` scaled
  by 1.0 +- 0.1 (well mixed) or 0.75 +- 0.1 (decoupled: the model's layer is too shallow), low cloud
  cover scaled by 1.0 or 1.3 (+- 0.2);
- **representation error**: smooth space-time fields on ``t2m`` and ``d2m`` (0.35 K each, 50 km,
  3 h), plus independent noise per grid cell (:data:`GRID_NOISE`) so the nearest cell matters.

Together the LCL misses the lidar base by a few hundred metres (mean absolute error 0.12-0.65 km per
flight over seeds 0-2), with a bias that differs by flight: about -0.3..+0.15 km when well mixed,
-0.3..-0.65 km when decoupled.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

from atmo.cbh.era5_files import ERA5_VARIABLES, Era5Grid, Era5Settings, request_area, request_hours, write_era5
from atmo.cbh.flight_files import FlightTrack
from atmo.cbh.synthetic.state import LCL_M_PER_K, FlightState, ThermoState, flight_state
from atmo.settings import build_block

#: Time offsets (minutes) and weights of the 90-minute average around each hour.
SMOOTHING_MIN = np.array([-45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0])
SMOOTHING_WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]) / 16.0
#: Representation error of t2m and d2m: (std K, length km, correlation time s).
REPRESENTATION = (0.35, 50.0, 10_800.0)
#: Per-flight biases by boundary-layer type: (mean, std) of the d2m offset (K), the blh factor and
#: the low-cloud-cover factor.
D2M_BIAS_K = {"well_mixed": (0.3, 0.3), "decoupled": (0.8, 0.3)}
BLH_FACTOR = {"well_mixed": (1.0, 0.1), "decoupled": (0.75, 0.1)}
LCC_FACTOR = {"well_mixed": (1.0, 0.2), "decoupled": (1.3, 0.2)}
#: Standard deviation of the independent per-grid-cell noise of each field, in its units.
GRID_NOISE = {
    "t2m": 0.15,
    "d2m": 0.15,
    "sp": 50.0,
    "msl": 50.0,
    "blh": 80.0,
    "tcwv": 0.3,
    "u10": 0.5,
    "v10": 0.5,
    "lcc": 0.03,
    "tcc": 0.03,
    "cape": 10.0,
    "skt": 0.3,
}
N_ERROR_MODES = 32


def synthetic_era5(
    tracks: Sequence[FlightTrack],
    states: Sequence[FlightState],
    variables: Sequence[str],
    *,
    grid_deg: float,
    margin_deg: float,
    margin_h: float,
    seed: int,
) -> Era5Grid:
    """ERA5 fields on the area and hours a CDS request for ``tracks`` would cover.

    ``states[i]`` is flight ``i``'s state; of a track only the positions and times are read. Each
    hour belongs to one flight (a later flight wins where two overlap) and shows that flight's
    state with the errors of the module docstring.
    """
    north, west, south, east = request_area(tracks, grid_deg=grid_deg, margin_deg=margin_deg)
    latitude = np.round(np.arange(north, south - grid_deg / 2, -grid_deg), 6)
    longitude = np.round(np.arange(west, east + grid_deg / 2, grid_deg), 6)
    hours = [request_hours(track, margin_h=margin_h) for track in tracks]
    time = np.unique(np.concatenate(hours))
    shape = (time.size, latitude.size, longitude.size)
    fields = {name: np.zeros(shape, np.float32) for name in variables}
    for index, (state, flight_hours) in enumerate(zip(states, hours, strict=True)):
        rng = np.random.default_rng([seed, index, 6])
        values = _flight_fields(rng, state, flight_hours, latitude, longitude)
        steps = np.searchsorted(time, flight_hours)
        for name in variables:
            fields[name][steps] = values[name]
    return Era5Grid(
        time_unix_s=time,
        latitude_deg=latitude,
        longitude_deg=longitude,
        fields=fields,
        units={name: ERA5_VARIABLES[name][1] for name in variables},
    )


def _smoothed_state(state: FlightState, hours_s: np.ndarray, east_km: np.ndarray, north_km: np.ndarray) -> ThermoState:
    """The state at each (hour, cell) averaged over :data:`SMOOTHING_MIN`: arrays (T, Y, X)."""
    times = hours_s[:, None, None, None] + 60.0 * SMOOTHING_MIN[None, :, None, None]
    sample = state.at(times, east_km[None, None], north_km[None, None])
    weights = SMOOTHING_WEIGHTS[None, :, None, None]
    return ThermoState(
        **{name: (np.asarray(values, np.float64) * weights).sum(axis=1) for name, values in vars(sample).items()}
    )


def _flight_fields(
    rng: np.random.Generator, state: FlightState, hours_s: np.ndarray, latitude: np.ndarray, longitude: np.ndarray
) -> dict[str, np.ndarray]:
    """(T, Y, X) values of every supported ERA5 variable for one flight's hours, grid noise included.

    Every variable is drawn whichever are requested, so a subset of variables has the same values.
    """
    regime = state.regime
    east, north = regime.local_km(latitude[:, None], longitude[None, :])
    east, north = np.broadcast_arrays(east, north)
    smooth = _smoothed_state(state, hours_s, east, north)
    bl_type = regime.bl_type
    error_t = _representation_error(rng, hours_s, east, north)
    error_d = _representation_error(rng, hours_s, east, north)
    t2m = smooth.t2m_k + rng.normal(0.0, 0.3) + error_t
    d2m = smooth.d2m_k + rng.normal(*D2M_BIAS_K[bl_type]) + error_d
    blh = smooth.blh_m * rng.normal(*BLH_FACTOR[bl_type])
    lcc = smooth.low_cloud_cover * rng.normal(*LCC_FACTOR[bl_type])
    vapour_hpa = 6.1094 * np.exp(17.625 * (d2m - 273.15) / (d2m - 273.15 + 243.04))
    synoptic_pa = rng.normal(0.0, 600.0)
    sp = 101_325.0 * np.exp(-smooth.surface_m / 8400.0) + synoptic_pa
    lcl = LCL_M_PER_K * np.maximum(t2m - d2m, 0.0)
    values = {
        "t2m": t2m,
        "d2m": d2m,
        "sp": sp,
        "msl": np.full_like(sp, 101_325.0 + synoptic_pa + 40.0),
        "blh": blh,
        "tcwv": vapour_hpa * (0.6 + blh / 3000.0),
        "u10": smooth.u10_ms,
        "v10": smooth.v10_ms,
        "lcc": lcc,
        "tcc": lcc + regime.upper_fraction * smooth.upper_present,
        "cape": rng.uniform(100.0, 500.0) * smooth.coupling * np.exp(-lcl / 2000.0),
        "skt": t2m + (rng.normal(1.5, 0.5) if regime.surface == "land" else rng.normal(-0.3, 0.2)),
    }
    noisy = {name: value + rng.normal(0.0, GRID_NOISE[name], value.shape) for name, value in values.items()}
    noisy["d2m"] = np.minimum(noisy["d2m"], noisy["t2m"] - 0.05)
    for name in ("lcc", "tcc"):
        noisy[name] = np.clip(noisy[name], 0.0, 1.0)
    return noisy


def _representation_error(
    rng: np.random.Generator, hours_s: np.ndarray, east_km: np.ndarray, north_km: np.ndarray
) -> np.ndarray:
    """(T, Y, X) smooth error field: random plane waves moving in time (:data:`REPRESENTATION`)."""
    std, length_km, tau_s = REPRESENTATION
    k = rng.normal(0.0, 1.0 / length_km, (N_ERROR_MODES, 2))
    omega = np.abs(rng.standard_cauchy(N_ERROR_MODES)) / tau_s
    phase = rng.uniform(0.0, 2 * np.pi, N_ERROR_MODES)
    t = (hours_s - hours_s[0])[:, None, None, None]
    arg = k[:, 0] * east_km[None, ..., None] + k[:, 1] * north_km[None, ..., None] + omega * t + phase
    return std * math.sqrt(2.0 / N_ERROR_MODES) * np.cos(arg).sum(axis=-1)


def write_synthetic_era5(
    path: str | os.PathLike[str], tracks: Sequence[FlightTrack], settings: Era5Settings | Mapping, seed: int
) -> None:
    """Write :func:`synthetic_era5` for ``tracks`` (flights ``0..n-1`` of the config) as an ERA5 NetCDF file.

    ``settings`` is the config block ``cbh.era5``, built or as a mapping (missing keys take defaults).
    The states are rebuilt from ``seed`` and the flights' names and order, as the flight generator built them.
    """
    settings = build_block(Era5Settings, settings, "cbh.era5")
    states = [flight_state(index, len(tracks), seed, track.name) for index, track in enumerate(tracks)]
    grid = synthetic_era5(
        tracks,
        states,
        settings.variables,
        grid_deg=settings.grid_deg,
        margin_deg=settings.margin_deg,
        margin_h=settings.margin_h,
        seed=seed,
    )
    write_era5(path, grid)
