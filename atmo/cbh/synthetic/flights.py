"""Synthetic airborne CBH flights in the campaign format: multi-hour tracks, rendered frames, lidar labels.

A flight (:func:`synthetic_flight`) flies racetrack legs for ``hours`` at the ER-2's cruise speed and
takes a frame every ``label_interval_s / (1 + unlabelled_per_label)`` seconds; every
``(1 + unlabelled_per_label)``-th frame is co-located with the lidar and labelled, the frames between
are written with ``cbh_km = NaN`` (unlabelled, as on a campaign). The default config's
``label_interval_s: 60`` and ``unlabelled_per_label: 1`` give a frame every 30 s; at 210 m/s the
aircraft moves 6.3 km between frames, so neighbouring frames overlap by a third (80-m pixels, 10 km
wide).

The cloud base comes from the flight's evolving state (:mod:`atmo.cbh.synthetic.state`): the base of the
lowest layer above the large-scale surface, plus the nadir cloud's own offset (40 m), minus the
30 % of the hills it does not follow, gives the true nadir base (``noiseless_cbh_km``, written for every
frame); the label adds lidar noise (:data:`LIDAR_NOISE_M`). Frames are rendered from the same
scene by :mod:`atmo.cbh.synthetic.render` with their own shadow geometry; the synthetic ERA5 is
:mod:`atmo.cbh.synthetic.era5`.

Random streams: ``[seed, index]`` the regime, ``[seed, index, 2]`` the state and terrain, ``[seed,
index, 3]`` the mesoscale variability, ``[seed, index, 4]`` this module (altitude, nadir offsets,
lidar noise), ``[seed, index, 5]`` the frames' textures, ``[seed, index, 6]`` ERA5's errors. So the
labels do not depend on the camera's frame size, and ERA5 never sees the flight's own streams.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from atmo.cbh.flight_files import FlightTrack, write_flight
from atmo.cbh.synthetic.render import CloudLayer, FrameScene, render_frame
from atmo.cbh.synthetic.state import (
    BASE_SPREAD_M,
    CELL_PER_BLH,
    TERRAIN_FOLLOWING,
    FlightState,
    cloud_base_m,
    cloud_depth_m,
    cloud_variability,
    flight_state,
    random_process,
)
from atmo.settings import settings_block

#: ER-2 cruise speed, m/s, the length of the racetrack legs and the offset between legs, m.
CRUISE_SPEED_MS = 210.0
LEG_LENGTH_M = 150_000.0
LEG_SPACING_M = 8_000.0
#: Lidar cloud-base noise, m (one standard deviation).
LIDAR_NOISE_M = 30.0
#: The upper layer's base stays at least this far above the top of the lowest layer, m.
LAYER_SEPARATION_M = 500.0
#: Texture correlation length of the upper (altocumulus) layer, m.
UPPER_CELL_M = 300.0
#: Lowest true nadir base, km.
MIN_CBH_KM = 0.05


class CameraSettings(settings_block("cbh", "synthetic")):
    """Synthetic camera and sampling (config ``cbh.synthetic``).

    Frame size and angular pixel size, mean flight altitude above ground, the time between labelled
    (lidar co-located) frames and the number of unlabelled frames between two labelled ones.
    """


@dataclass(frozen=True)
class SyntheticFlight:
    """A flight before rendering: its track (labels NaN where unlabelled), the true nadir base
    (N,) km of every frame, and the scene of every frame."""

    track: FlightTrack
    noiseless_cbh_km: np.ndarray
    scenes: list[FrameScene]


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


def frame_times(state: FlightState, hours: float, camera: CameraSettings) -> tuple[np.ndarray, np.ndarray]:
    """``(time_unix_s (N,), labelled (N,) bool)``: frames centred on the regime's mid-flight time."""
    per_label = 1 + camera.unlabelled_per_label
    n_labelled = max(1, round(hours * 3600.0 / camera.label_interval_s))
    step = camera.label_interval_s / per_label
    index = np.arange(n_labelled * per_label)
    return state.mid_flight_s + (index - index.size / 2) * step, index % per_label == 0


def racetrack_km(elapsed_s: np.ndarray, heading_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(east, north) km from the pattern's centre after ``elapsed_s`` of flying back and forth along
    legs of :data:`LEG_LENGTH_M`, each leg :data:`LEG_SPACING_M` beside the last."""
    along = CRUISE_SPEED_MS * elapsed_s
    leg = np.floor(along / LEG_LENGTH_M)
    position = np.where(leg % 2 == 0, along % LEG_LENGTH_M, LEG_LENGTH_M - along % LEG_LENGTH_M)
    position -= LEG_LENGTH_M / 2
    across = LEG_SPACING_M * (leg - leg.max() / 2)
    heading = np.radians(heading_deg)
    north = position * np.cos(heading) - across * np.sin(heading)
    east = position * np.sin(heading) + across * np.cos(heading)
    return east / 1000.0, north / 1000.0


def synthetic_flight(
    name: str, index: int, n_flights: int, hours: float, camera: CameraSettings, seed: int
) -> SyntheticFlight:
    """Track, true bases and frame scenes of flight ``index`` of ``n_flights``, ``hours`` long."""
    state = flight_state(index, n_flights, seed, name)
    regime = state.regime
    rng = np.random.default_rng([seed, index, 4])
    time, labelled = frame_times(state, hours, camera)
    east, north = racetrack_km(time - time[0], regime.heading_deg)
    latitude, longitude = regime.lat_lon(east, north)
    zenith, azimuth = solar_position(time, latitude, longitude)
    altitude = camera.altitude_m + 100.0 * random_process(rng, 1800.0)(time - state.reference_s)

    thermo = state.at(time, east, north)
    base = cloud_base_m(thermo, cloud_variability(index, seed, name).mesoscale_m(time))
    depth = cloud_depth_m(thermo, base, regime)
    hills = state.terrain.small_m(east, north)
    noiseless_m = np.maximum(
        base + rng.normal(0.0, BASE_SPREAD_M, time.size) - (1.0 - TERRAIN_FOLLOWING) * hills, 1000.0 * MIN_CBH_KM
    )
    lidar_m = noiseless_m + rng.normal(0.0, LIDAR_NOISE_M, time.size)
    track = FlightTrack(
        name=name,
        ifov_rad=camera.ifov_mrad * 1e-3,
        image_shape=(camera.channels, camera.image_height, camera.image_width),
        cbh_km=np.where(labelled, np.maximum(lidar_m, 1000.0 * MIN_CBH_KM) / 1000.0, np.nan),
        time_unix_s=time,
        latitude_deg=latitude,
        longitude_deg=longitude,
        altitude_m=altitude,
        sun_zenith_deg=zenith,
        sun_azimuth_deg=azimuth,
    )
    scenes = []
    for i in range(time.size):
        layers = [
            CloudLayer(
                base_m=float(noiseless_m[i] + hills[i]),
                depth_m=float(depth[i]),
                fraction=float(thermo.low_cloud_cover[i]),
                cell_m=float(CELL_PER_BLH * thermo.blh_m[i]),
                terrain_following=TERRAIN_FOLLOWING,
            )
        ]
        if thermo.upper_present[i]:
            lowest_top = noiseless_m[i] + hills[i] + depth[i]
            layers.append(
                CloudLayer(
                    base_m=float(max(thermo.upper_base_m[i], lowest_top + LAYER_SEPARATION_M)),
                    depth_m=regime.upper_depth_m,
                    fraction=regime.upper_fraction,
                    cell_m=UPPER_CELL_M,
                    terrain_following=0.0,
                )
            )
        scenes.append(
            FrameScene(
                sun_zenith_deg=float(zenith[i]),
                sun_azimuth_deg=float(azimuth[i]),
                gsd_m=float(track.ground_resolution_m[i]),
                layers=tuple(layers),
                terrain=state.terrain,
                nadir_east_km=float(east[i]),
                nadir_north_km=float(north[i]),
                surface_brightness=regime.surface_brightness,
                land=regime.surface == "land",
            )
        )
    return SyntheticFlight(track, noiseless_m / 1000.0, scenes)


def write_synthetic_flight(
    path: str | os.PathLike[str],
    name: str,
    index: int,
    n_flights: int,
    hours: float,
    camera: CameraSettings,
    seed: int,
) -> FlightTrack:
    """Generate flight ``index`` of ``n_flights``, ``hours`` long, render its frames and write its HDF5 file."""
    flight = synthetic_flight(name, index, n_flights, hours, camera, seed)
    rng = np.random.default_rng([seed, index, 5])
    images = np.stack([render_frame(rng, flight.track.image_shape, scene) for scene in flight.scenes])
    write_flight(path, flight.track, images, noiseless_cbh_km=flight.noiseless_cbh_km)
    return flight.track
