"""The CBH cache: every flight's frames, labels and tabular features in one HDF5 file, read once.

Training reads random samples many times; the seeds spent most of their time re-reading flight
files. :func:`build_cache` validates every input first (flight files, geometry tables, ERA5
coverage of every sample) and only then reads each flight's frames once, downsamples them to the
configured size and writes one file.

Cache layout (``N`` samples of all flights, in config order of flights, then sample order):

=====================  ==============  =======  ===========================================================
dataset                shape           dtype    meaning
=====================  ==============  =======  ===========================================================
``images``             (N, C, h, w)    uint8    frames, channels first, north-up, area-averaged to (h, w)
``cbh_km``             (N,)            float32  lidar cloud-base height, km (the label); NaN: unlabelled frame
``flight_index``       (N,)            int16    index into the ``flights`` attribute (leave-one-flight-out)
``sample_index``       (N,)            int32    sample number within its flight file
``era5``               (N, F_e)        float32  ERA5 predictors; attributes ``names``, ``units``
``geometry``           (N, 3)          float32  shadow-geometry features (NaN: no shadow); ``names``, ``units``
``time_unix_s``,
``latitude_deg``,
``longitude_deg``      (N,)            float64  sample time and aircraft position (units attribute)
``altitude_m``,
``sun_zenith_deg``,
``sun_azimuth_deg``    (N,)            float32  aircraft altitude and sun angles (units attribute)
=====================  ==============  =======  ===========================================================

Attributes: ``flights`` (names), ``image_layout`` (``NCHW``), ``format_version``. The synthetic
flights' true base (``noiseless_cbh_km``) is not copied: nothing that trains may read it.
Images are read lazily with :class:`atmo.io.h5dataset.H5ArrayDataset`; the rest with
:func:`read_cache_table`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import h5py
import numpy as np

from atmo.cbh.era5_files import Era5Grid, derive_predictors, read_era5, sample_era5
from atmo.cbh.flight_files import (
    IMAGE_LAYOUT,
    TRACK_VARIABLES,
    FlightTrack,
    read_features,
    read_flight_images,
    read_flight_track,
)
from atmo.cbh.geometry import GEOMETRY_FEATURES
from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.settings import settings_block

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: Track variables copied into the cache next to the label (``cbh_km`` is written separately).
AUXILIARY = tuple(name for name in TRACK_VARIABLES if name != "cbh_km")


class CacheSettings(settings_block("cbh", "cache")):
    """The ``cbh.cache`` config block: the frame size of the cache, pixels."""

    @property
    def image_size(self) -> tuple[int, int]:
        """``(height, width)`` as :func:`build_cache` takes it."""
        return self.image_height, self.image_width


@dataclass(frozen=True)
class CacheTable:
    """Everything in a cache except the images: labels, flight membership and tabular features."""

    flights: list[str]
    flight_index: np.ndarray
    cbh_km: np.ndarray
    era5: np.ndarray
    era5_names: list[str]
    geometry: np.ndarray
    geometry_names: list[str]

    def tabular(self) -> tuple[np.ndarray, list[str]]:
        """(N, F_e + 3) float32 ERA5 and geometry features side by side, with their names."""
        return np.concatenate([self.era5, self.geometry], axis=1), [*self.era5_names, *self.geometry_names]


def era5_features(grid: Era5Grid, track: FlightTrack) -> tuple[list[str], list[str], np.ndarray]:
    """``(names, units, values (N, F))``: the ERA5 variables at the flight's samples, then derived ones."""
    samples = sample_era5(grid, track.latitude_deg, track.longitude_deg, track.time_unix_s, track.name)
    derived = derive_predictors(samples)
    names = [*samples, *derived]
    units = [*(grid.units[name] for name in samples), *(unit for _, unit in derived.values())]
    columns = [*samples.values(), *(values for values, _ in derived.values())]
    return names, units, np.stack(columns, axis=1).astype(np.float32)


def build_cache(
    out_path: str | os.PathLike[str],
    flights: Sequence[str],
    flight_paths: Sequence[str | os.PathLike[str]],
    geometry_paths: Sequence[str | os.PathLike[str]],
    era5_path: str | os.PathLike[str],
    variables: Sequence[str],
    image_size: tuple[int, int],
) -> None:
    """Write the cache of ``flights`` (in order) with frames resized to ``image_size`` = (h, w).

    Every input is checked before the first frame is read; a bad one raises :class:`InputError`
    naming it and no cache file is left behind.
    """
    tracks = [read_flight_track(path, expected_name=name) for name, path in zip(flights, flight_paths, strict=True)]
    channels = tracks[0].image_shape[0]
    for track, path in zip(tracks, flight_paths, strict=True):
        if track.image_shape[0] != channels:
            raise InputError(path, f"frames have {track.image_shape[0]} channels, {flights[0]} has {channels}")
    geometry_names = [name for name, _ in GEOMETRY_FEATURES]
    geometry = []
    for track, path in zip(tracks, geometry_paths, strict=True):
        names, _, values = read_features(path, track.name, track.n_samples)
        if names != geometry_names:
            raise InputError(path, f"feature columns {names}, expected {geometry_names}")
        geometry.append(values)
    grid = read_era5(era5_path, variables)
    era5 = [era5_features(grid, track) for track in tracks]
    era5_names, era5_units = era5[0][0], era5[0][1]

    sizes = [track.n_samples for track in tracks]
    total = sum(sizes)
    height, width = image_size
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as out:
        out.attrs.update(flights=list(flights), image_layout=IMAGE_LAYOUT, format_version=FORMAT_VERSION)
        images = out.create_dataset("images", (total, channels, height, width), np.uint8)
        start = 0
        for track, path in zip(tracks, flight_paths, strict=True):
            stop = start + track.n_samples
            images[start:stop] = resize_frames(read_flight_images(path), image_size)
            log.info("cached %s: %d frames %s -> %s", track.name, track.n_samples, track.image_shape[1:], image_size)
            start = stop
        out.create_dataset("cbh_km", data=np.concatenate([t.cbh_km for t in tracks]).astype(np.float32))
        out["cbh_km"].attrs["units"] = "km"
        out.create_dataset("flight_index", data=np.repeat(np.arange(len(tracks), dtype=np.int16), sizes))
        out.create_dataset("sample_index", data=np.concatenate([np.arange(n, dtype=np.int32) for n in sizes]))
        _table(out, "era5", np.concatenate([values for _, _, values in era5]), era5_names, era5_units)
        _table(out, "geometry", np.concatenate(geometry), geometry_names, [unit for _, unit in GEOMETRY_FEATURES])
        for name in AUXILIARY:
            dtype = np.float64 if name in ("time_unix_s", "latitude_deg", "longitude_deg") else np.float32
            out.create_dataset(name, data=np.concatenate([getattr(t, name) for t in tracks]).astype(dtype))
            out[name].attrs["units"] = TRACK_VARIABLES[name][0]


def _table(out: h5py.File, name: str, values: np.ndarray, names: list[str], units: list[str]) -> None:
    dataset = out.create_dataset(name, data=values.astype(np.float32))
    dataset.attrs["names"] = names
    dataset.attrs["units"] = units


def resize_frames(frames: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, C, h, w) uint8; area averaging when shrinking (no aliasing)."""
    height, width = image_size
    if frames.shape[2:] == (height, width):
        return frames
    shrinking = height <= frames.shape[2] and width <= frames.shape[3]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    out = np.empty((*frames.shape[:2], height, width), np.uint8)
    for i, frame in enumerate(frames):
        resized = cv2.resize(
            np.ascontiguousarray(frame.transpose(1, 2, 0)), (width, height), interpolation=interpolation
        )
        out[i] = resized.reshape(height, width, -1).transpose(2, 0, 1)
    return out


def read_cache_table(path: str | os.PathLike[str]) -> CacheTable:
    """Labels, flight membership and named tabular features of a cache, checked for consistency."""
    with open_hdf5(path) as handle:
        n = require_dataset(handle, "images", kinds="u", ndim=4).shape[0]
        arrays = {
            "cbh_km": require_dataset(handle, "cbh_km", kinds="f", shape=(n,))[...],
            "flight_index": require_dataset(handle, "flight_index", kinds="iu", shape=(n,))[...],
            "era5": require_dataset(handle, "era5", kinds="f", ndim=2)[...],
            "geometry": require_dataset(handle, "geometry", kinds="f", ndim=2)[...],
        }
        flights = [str(f) for f in handle.attrs.get("flights", [])]
        names = {key: [str(v) for v in handle[key].attrs.get("names", [])] for key in ("era5", "geometry")}
    for key in ("era5", "geometry"):
        if arrays[key].shape != (n, len(names[key])):
            raise InputError(path, f"'{key}' has shape {arrays[key].shape}, expected ({n}, {len(names[key])}) by names")
    if not flights or arrays["flight_index"].min() < 0 or arrays["flight_index"].max() >= len(flights):
        raise InputError(path, f"'flight_index' does not index the {len(flights)} flights {flights}")
    return CacheTable(
        flights=flights,
        flight_index=arrays["flight_index"].astype(np.int64),
        cbh_km=arrays["cbh_km"].astype(np.float32),
        era5=arrays["era5"].astype(np.float32),
        era5_names=names["era5"],
        geometry=arrays["geometry"].astype(np.float32),
        geometry_names=names["geometry"],
    )
