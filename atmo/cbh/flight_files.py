"""Per-flight cloud-base-height HDF5 files and per-sample feature tables.

The airborne campaign data behind the CBH experiment (ER-2 camera frames co-located with the CPL
lidar's cloud-base height) are not public, so the workflow reads them from a local directory of
files in the format below (``cbh.source: local``), and the synthetic generator writes the same
format. Everything downstream reads through :func:`read_flight_track` / :func:`read_flight_images`
so a malformed file fails once, early, with the file's name.

Flight file layout (one file per flight, ``N`` samples):

===================  ==================  =======  =====================================================
dataset              shape               dtype    meaning
===================  ==================  =======  =====================================================
``images``           (N, C, H, W)        uint8    camera frames, channels first, north-up: rows run north
                                                  to south, columns west to east (rotate by the heading
                                                  before writing)
``cbh_km``           (N,)                float    lidar cloud-base height above ground, km; NaN: an
                                                  unlabelled frame (no lidar base co-located)
``time_unix_s``      (N,)                float    sample time, seconds since 1970-01-01 00:00 UTC
``latitude_deg``     (N,)                float    aircraft latitude, degrees north
``longitude_deg``    (N,)                float    aircraft longitude, degrees east (-180..360)
``altitude_m``       (N,)                float    aircraft altitude above ground, m
``sun_zenith_deg``   (N,)                float    solar zenith angle, degrees
``sun_azimuth_deg``  (N,)                float    solar azimuth, degrees clockwise from north (towards
                                                  the sun)
===================  ==================  =======  =====================================================

File attributes: ``flight`` (name, e.g. ``30Oct24``) and ``ifov_rad`` (the camera's angular pixel
size, so the ground resolution is ``altitude_m * ifov_rad`` metres per pixel).

Unlabelled frames are part of a flight, as on a campaign: frames between lidar co-locations carry
``cbh_km = NaN``; every other value must be finite and in range, and a flight needs at least one
finite label. Downstream, the folds drop unlabelled frames from every split.

Synthetic files only: ``noiseless_cbh_km`` (N,) float32, the generator's true nadir base of the
lowest layer without lidar noise, for every frame, labelled or not (:data:`NOISELESS_CBH`). Campaign
files lack it; :func:`read_flight_track` ignores it, the cache does not copy it, and nothing that
trains reads it: it exists for the oracle row only (:func:`read_noiseless_cbh`).

Feature tables (``write_features``/``read_features``) hold one float32 matrix ``features`` of shape
(N, F) with the column ``names`` and ``units`` as attributes, e.g. the shadow-geometry features.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

import h5py
import numpy as np

from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.io.hdf5 import open_hdf5, require_dataset

IMAGE_LAYOUT = "NCHW"
FORMAT_VERSION = 1
#: The synthetic-only dataset of true nadir bases (see the module docstring).
NOISELESS_CBH = "noiseless_cbh_km"

#: Per-sample 1-D datasets of a flight file, their units and the physically possible range.
TRACK_VARIABLES: dict[str, tuple[str, float, float]] = {
    "cbh_km": ("km", 0.0, 20.0),
    "time_unix_s": ("seconds since 1970-01-01 00:00:00 UTC", 0.0, 4.1e9),
    "latitude_deg": ("degrees_north", -90.0, 90.0),
    "longitude_deg": ("degrees_east", -180.0, 360.0),
    "altitude_m": ("m", 0.0, 40_000.0),
    "sun_zenith_deg": ("degree", 0.0, 90.0),
    "sun_azimuth_deg": ("degree clockwise from north", 0.0, 360.0),
}


@dataclass(frozen=True)
class FlightTrack:
    """Everything in a flight file except the images: labels, navigation and sun geometry.

    All arrays have shape (N,). ``image_shape`` is the (C, H, W) of one frame.
    """

    name: str
    ifov_rad: float
    image_shape: tuple[int, int, int]
    cbh_km: np.ndarray
    time_unix_s: np.ndarray
    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    altitude_m: np.ndarray
    sun_zenith_deg: np.ndarray
    sun_azimuth_deg: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.cbh_km.shape[0])

    @property
    def ground_resolution_m(self) -> np.ndarray:
        """(N,) metres per pixel on the ground below the aircraft (nadir, flat ground)."""
        return self.altitude_m * self.ifov_rad


def _track_arrays(track: FlightTrack) -> dict[str, np.ndarray]:
    return {f.name: getattr(track, f.name) for f in fields(track) if f.name in TRACK_VARIABLES}


def write_flight(
    path: str | os.PathLike[str],
    track: FlightTrack,
    images: np.ndarray,
    noiseless_cbh_km: np.ndarray | None = None,
) -> None:
    """Write one flight file atomically; ``images`` is (N, C, H, W) uint8.

    ``noiseless_cbh_km`` (N,) is for synthetic flights only (see the module docstring).
    """
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != track.image_shape:
        raise ValueError(f"images must be uint8 (N, *{track.image_shape}), got {images.dtype} {images.shape}")
    if images.shape[0] != track.n_samples:
        raise ValueError(f"{images.shape[0]} images for {track.n_samples} samples")
    if noiseless_cbh_km is not None and np.shape(noiseless_cbh_km) != (track.n_samples,):
        raise ValueError(f"noiseless_cbh_km has shape {np.shape(noiseless_cbh_km)}, expected ({track.n_samples},)")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as out:
        out.attrs.update(
            flight=track.name, ifov_rad=float(track.ifov_rad), image_layout=IMAGE_LAYOUT, format_version=FORMAT_VERSION
        )
        out.create_dataset("images", data=images, chunks=(1, *images.shape[1:]), compression="gzip", compression_opts=4)
        for name, values in _track_arrays(track).items():
            dtype = np.float64 if name in ("time_unix_s", "latitude_deg", "longitude_deg") else np.float32
            out.create_dataset(name, data=np.asarray(values, dtype=dtype)).attrs["units"] = TRACK_VARIABLES[name][0]
        if noiseless_cbh_km is not None:
            noiseless = out.create_dataset(NOISELESS_CBH, data=np.asarray(noiseless_cbh_km, dtype=np.float32))
            noiseless.attrs["units"] = "km"


def read_flight_track(path: str | os.PathLike[str], expected_name: str | None = None) -> FlightTrack:
    """Read and validate a flight file's per-sample arrays (not the images, whose layout is checked).

    Raises :class:`InputError` naming ``path`` for a missing, truncated or foreign file, missing or
    mistyped datasets, sample counts that differ between datasets, values outside their physical
    range (NaN is allowed in ``cbh_km`` only: an unlabelled frame), a flight without any finite
    label, or (with ``expected_name``) a file that belongs to another flight.
    """
    with open_hdf5(path) as handle:
        images = require_dataset(handle, "images", kinds="u", ndim=4)
        if images.dtype != np.uint8:
            raise InputError(path, f"dataset 'images' has dtype {images.dtype}, expected uint8 (N, C, H, W)")
        arrays = {name: require_dataset(handle, name, kinds="f", ndim=1) for name in TRACK_VARIABLES}
        counts = {"images": images.shape[0], **{name: ds.shape[0] for name, ds in arrays.items()}}
        if len(set(counts.values())) != 1:
            raise InputError(path, f"datasets have different sample counts {counts}")
        if images.shape[0] == 0:
            raise InputError(path, "flight has no samples")
        name = _string_attr(handle, "flight", path)
        ifov_rad = handle.attrs.get("ifov_rad")
        if ifov_rad is None or not np.isfinite(ifov_rad) or ifov_rad <= 0:
            raise InputError(path, f"attribute 'ifov_rad' must be a positive angle in radians, got {ifov_rad!r}")
        try:
            values = {key: np.asarray(ds[...], dtype=np.float64) for key, ds in arrays.items()}
        except OSError as err:
            raise InputError(path, f"cannot read per-sample datasets, file truncated? ({err})") from err
        image_shape = tuple(int(s) for s in images.shape[1:])
    if expected_name is not None and name != expected_name:
        raise InputError(path, f"holds flight '{name}', expected '{expected_name}'")
    for key, (units, low, high) in TRACK_VARIABLES.items():
        bad = ~((values[key] >= low) & (values[key] <= high))
        if key == "cbh_km":
            bad &= ~np.isnan(values[key])
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InputError(
                path,
                f"dataset '{key}' has {int(bad.sum())} values outside [{low}, {high}] {units} "
                f"(first at sample {first}: {values[key][first]})",
            )
    if not np.isfinite(values["cbh_km"]).any():
        raise InputError(path, f"no labelled frame: all {images.shape[0]} values of 'cbh_km' are NaN")
    return FlightTrack(name=name, ifov_rad=float(ifov_rad), image_shape=image_shape, **values)


def read_flight_images(path: str | os.PathLike[str], start: int = 0, stop: int | None = None) -> np.ndarray:
    """(n, C, H, W) uint8 frames ``start:stop`` of a flight file checked by :func:`read_flight_track`."""
    with open_hdf5(path) as handle:
        try:
            return np.asarray(require_dataset(handle, "images", kinds="u", ndim=4)[start:stop])
        except OSError as err:
            raise InputError(path, f"cannot read dataset 'images', file truncated? ({err})") from err


def read_noiseless_cbh(path: str | os.PathLike[str], expected_name: str | None = None) -> np.ndarray:
    """(N,) float32 true nadir base of every frame of a synthetic flight file, km (the oracle's input).

    Raises :class:`InputError` naming ``path`` when the file lacks it (campaign files do), its
    length differs from the flight's, or (with ``expected_name``) the file holds another flight.
    """
    with open_hdf5(path) as handle:
        name = _string_attr(handle, "flight", path)
        if expected_name is not None and name != expected_name:
            raise InputError(path, f"holds flight '{name}', expected '{expected_name}'")
        if NOISELESS_CBH not in handle:
            raise InputError(
                path,
                f"missing dataset '{NOISELESS_CBH}' (the synthetic generator's true cloud base, which the oracle "
                "predicts); campaign files have none, so the oracle runs only with cbh.source synthetic",
            )
        n = require_dataset(handle, "images", kinds="u", ndim=4).shape[0]
        return np.asarray(require_dataset(handle, NOISELESS_CBH, kinds="f", shape=(n,))[...], dtype=np.float32)


def import_local_flight(
    source: str | os.PathLike[str], dest: str | os.PathLike[str], name: str, n_samples: int
) -> FlightTrack:
    """Validate a campaign file (``cbh.source: local``) and write it to ``dest`` in the canonical layout.

    The file must hold flight ``name`` with ``n_samples`` samples (the counts in the config), so a
    wrong or incomplete file stops the workflow here rather than skewing the folds later.
    """
    track = read_flight_track(source, expected_name=name)
    if track.n_samples != n_samples:
        raise InputError(source, f"has {track.n_samples} samples, config cbh.flights says {n_samples} for {name}")
    write_flight(dest, track, read_flight_images(source))
    return track


def write_features(
    path: str | os.PathLike[str],
    flight: str,
    names: list[str],
    units: list[str],
    values: np.ndarray,
) -> None:
    """Write an (N, F) per-sample feature table with its column names and units, atomically."""
    if values.ndim != 2 or values.shape[1] != len(names) or len(names) != len(units):
        raise ValueError(f"features {values.shape} do not match {len(names)} names / {len(units)} units")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as out:
        out.attrs["flight"] = flight
        dataset = out.create_dataset("features", data=values.astype(np.float32))
        dataset.attrs["names"] = names
        dataset.attrs["units"] = units


def read_features(
    path: str | os.PathLike[str], expected_flight: str, n_samples: int
) -> tuple[list[str], list[str], np.ndarray]:
    """``(names, units, values (N, F) float32)`` of a feature table written by :func:`write_features`.

    The table must belong to ``expected_flight`` and have ``n_samples`` rows, so features cannot be
    paired with the wrong flight's samples.
    """
    with open_hdf5(path) as handle:
        dataset = require_dataset(handle, "features", kinds="f", ndim=2)
        flight = _string_attr(handle, "flight", path)
        names = [str(n) for n in dataset.attrs.get("names", [])]
        units = [str(u) for u in dataset.attrs.get("units", [])]
        values = np.asarray(dataset[...], dtype=np.float32)
    if flight != expected_flight:
        raise InputError(path, f"holds features of flight '{flight}', expected '{expected_flight}'")
    if len(names) != values.shape[1] or len(units) != values.shape[1]:
        raise InputError(path, f"'features' has {values.shape[1]} columns but {len(names)} names, {len(units)} units")
    if values.shape[0] != n_samples:
        raise InputError(path, f"has {values.shape[0]} rows, the flight has {n_samples} samples")
    return names, units, values


def _string_attr(handle: h5py.File, key: str, path: str | os.PathLike[str]) -> str:
    value = handle.attrs.get(key)
    if isinstance(value, bytes):
        value = value.decode()
    if not isinstance(value, str) or not value:
        raise InputError(path, f"missing string attribute '{key}'")
    return value
