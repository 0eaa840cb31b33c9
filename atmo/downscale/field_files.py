"""The downscale data format: high-resolution precipitation, its coarse view and coarse predictors.

One HDF5 file holds ``N`` samples (one per accumulation period, e.g. a day) on a regular
latitude-longitude grid of ``H x W`` high-resolution cells, coarsened by an integer ``factor``
``f`` to ``h x w = H/f x W/f`` low-resolution cells::

    precip_hr_mm    (N, H, W)     float32  precipitation accumulated over the period, mm, >= 0
    precip_lr_mm    (N, h, w)     float32  block mean of precip_hr_mm over f x f cells, mm
    predictors_lr   (N, C, h, w)  float32  coarse predictors; attrs ``names`` and ``units`` (C each)
    time            (N,)          int64    period start, seconds since 1970-01-01 00:00:00 UTC,
                                           strictly increasing
    lat             (H,)          float64  latitude of the high-resolution cell centres, degrees N
    lon             (W,)          float64  longitude of the high-resolution cell centres, degrees E
    split/{train,val,test} (n_k,) int64    sample indices (only in the workflow's output, see below)

Root attributes: ``format = "atmo-downscale"``, ``format_version``, ``factor`` (f),
``accumulation_h`` (hours per sample) and ``source`` (free-text provenance). A low-resolution cell
centre is the mean of the ``f`` high-resolution centres it covers. Precipitation datasets carry
``units = "mm"``.

Keeping ``precip_lr_mm`` exactly the block mean of ``precip_hr_mm`` (checked on reading) makes
the coarse input and the high-resolution target consistent by construction: a model's
downscaled field can be coarsened and compared with its input.

The ``split`` group holds a time split (:mod:`atmo.downscale.split`: contiguous train, validation
and test blocks with gaps); :func:`read_split` checks that it is disjoint and ordered in time. A
user archive (``source: local`` or ``url``) need not have a ``split`` group; the workflow's
``downscale_fields`` step adds it. This module is the file format only; what is done with the
fields lives in :mod:`atmo.downscale`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import h5py
import numpy as np

from atmo.downscale.coarsen import coarsen
from atmo.downscale.split import SPLITS, Split
from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.io.hdf5 import open_hdf5, require_dataset

log = logging.getLogger(__name__)

FORMAT = "atmo-downscale"
FORMAT_VERSION = 1
TIME_UNITS = "seconds since 1970-01-01 00:00:00 UTC"
# precip_lr_mm must equal the block mean of precip_hr_mm up to float32 rounding.
_LR_ATOL_MM = 1e-3
_LR_RTOL = 1e-4


@dataclass(frozen=True)
class DownscaleFields:
    """The arrays and metadata of one downscale file (shapes in the module docstring)."""

    precip_hr_mm: np.ndarray
    precip_lr_mm: np.ndarray
    predictors_lr: np.ndarray
    predictor_names: tuple[str, ...]
    predictor_units: tuple[str, ...]
    time_s: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    factor: int
    accumulation_h: float
    source: str

    def __len__(self) -> int:
        return int(self.precip_hr_mm.shape[0])


def _ratio(fine: tuple[int, ...], coarse: tuple[int, ...]) -> int | None:
    """The whole number ``f`` with ``fine = f * coarse`` on both axes, or ``None`` if there is none."""
    if min(coarse) < 1 or fine[0] % coarse[0] or fine[1] % coarse[1] or fine[0] // coarse[0] != fine[1] // coarse[1]:
        return None
    return fine[0] // coarse[0]


def check_fields(fields: DownscaleFields, where: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` (naming ``where``) unless ``fields`` is a consistent sample set."""
    hr, lr, pred, f = fields.precip_hr_mm, fields.precip_lr_mm, fields.predictors_lr, fields.factor
    if hr.ndim != 3 or hr.shape[0] == 0:
        raise InputError(where, f"precip_hr_mm has shape {hr.shape}, expected (N, H, W) with N > 0")
    n, height, width = hr.shape
    if f < 1 or height % f or width % f:
        raise InputError(where, f"high-resolution grid {height}x{width} is not divisible by factor {f}")
    coarse = (height // f, width // f)
    if lr.ndim == 3 and lr.shape[0] == n and lr.shape[1:] != coarse and _ratio(hr.shape[1:], lr.shape[1:]) is None:
        raise InputError(
            where,
            f"high-resolution grid {height}x{width} is no integer multiple of the low-resolution grid "
            f"{lr.shape[1]}x{lr.shape[2]} (the same whole ratio on both axes is required)",
        )
    if lr.shape != (n, *coarse):
        raise InputError(where, f"precip_lr_mm has shape {lr.shape}, expected {(n, *coarse)} for factor {f}")
    if pred.ndim != 4 or pred.shape[0] != n or pred.shape[2:] != coarse:
        raise InputError(where, f"predictors_lr has shape {pred.shape}, expected {(n, 'C', *coarse)} for factor {f}")
    channels = pred.shape[1]
    if len(fields.predictor_names) != channels or len(fields.predictor_units) != channels:
        raise InputError(where, f"predictors_lr has {channels} channels but names/units list {fields.predictor_names}")
    if fields.time_s.shape != (n,) or np.any(np.diff(fields.time_s) <= 0):
        raise InputError(where, f"time must have shape ({n},) and increase strictly")
    if fields.lat_deg.shape != (height,) or fields.lon_deg.shape != (width,):
        raise InputError(where, f"lat/lon have shapes {fields.lat_deg.shape}/{fields.lon_deg.shape}, expected grid")
    for name, values in (("precip_hr_mm", hr), ("precip_lr_mm", lr), ("predictors_lr", pred)):
        if not np.isfinite(values).all():
            raise InputError(where, f"{name} contains NaN or infinite values")
    for name, values in (("precip_hr_mm", hr), ("precip_lr_mm", lr)):
        if values.min() < 0:
            raise InputError(where, f"{name} has negative values (min {values.min():.3g} mm)")
    if not np.allclose(coarsen(hr, f), lr, rtol=_LR_RTOL, atol=_LR_ATOL_MM):
        raise InputError(where, f"precip_lr_mm is not the {f}x{f} block mean of precip_hr_mm (wrong factor?)")


def write_fields(path: str | os.PathLike[str], fields: DownscaleFields, split: Split | None = None) -> None:
    """Check ``fields`` and write them (and ``split``) atomically; chunks of one sample each."""
    check_fields(fields, path)
    n, height, width = fields.precip_hr_mm.shape
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as out:
        out.attrs.update(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            factor=fields.factor,
            accumulation_h=fields.accumulation_h,
            source=fields.source,
        )
        packed = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
        hr = out.create_dataset("precip_hr_mm", data=fields.precip_hr_mm, chunks=(1, height, width), **packed)
        lr = out.create_dataset("precip_lr_mm", data=fields.precip_lr_mm, chunks=(1, *fields.precip_lr_mm.shape[1:]))
        for dataset in (hr, lr):
            dataset.attrs["units"] = "mm"
        pred = out.create_dataset(
            "predictors_lr", data=fields.predictors_lr, chunks=(1, *fields.predictors_lr.shape[1:])
        )
        pred.attrs["names"] = list(fields.predictor_names)
        pred.attrs["units"] = list(fields.predictor_units)
        out.create_dataset("time", data=fields.time_s.astype(np.int64)).attrs["units"] = TIME_UNITS
        out.create_dataset("lat", data=fields.lat_deg.astype(np.float64)).attrs["units"] = "degrees_north"
        out.create_dataset("lon", data=fields.lon_deg.astype(np.float64)).attrs["units"] = "degrees_east"
        if split is not None:
            group = out.create_group("split")
            for name, indices in split.items():
                group.create_dataset(name, data=np.asarray(indices, dtype=np.int64))
    log.info("wrote %s: %d samples, %dx%d grid, factor %d", path, n, height, width, fields.factor)


def _strings(where: str, attrs: h5py.AttributeManager, key: str, owner: str) -> tuple[str, ...]:
    if key not in attrs:
        raise InputError(where, f"'{owner}' has no '{key}' attribute")
    values = np.atleast_1d(attrs[key])
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)


def read_fields(path: str | os.PathLike[str]) -> DownscaleFields:
    """Read and validate a downscale file; any problem is one :class:`InputError` naming the file."""
    where = os.fspath(path)
    with open_hdf5(where) as handle:
        if handle.attrs.get("format", FORMAT) != FORMAT:
            raise InputError(where, f"format attribute is {handle.attrs['format']!r}, expected {FORMAT!r}")
        hr = require_dataset(handle, "precip_hr_mm", kinds="f", ndim=3)
        if "factor" not in handle.attrs:
            raise InputError(where, "missing root attribute 'factor' (high- to low-resolution ratio)")
        lr = require_dataset(handle, "precip_lr_mm", kinds="f", ndim=3)
        pred = require_dataset(handle, "predictors_lr", kinds="f", ndim=4)
        time = require_dataset(handle, "time", kinds="iu", ndim=1)
        lat = require_dataset(handle, "lat", kinds="f", ndim=1)
        lon = require_dataset(handle, "lon", kinds="f", ndim=1)
        for dataset in (hr, lr):
            if dataset.attrs.get("units") != "mm":
                raise InputError(where, f"dataset '{dataset.name[1:]}' must have units 'mm'")
        try:
            fields = DownscaleFields(
                precip_hr_mm=hr[()].astype(np.float32, copy=False),
                precip_lr_mm=lr[()].astype(np.float32, copy=False),
                predictors_lr=pred[()].astype(np.float32, copy=False),
                predictor_names=_strings(where, pred.attrs, "names", "predictors_lr"),
                predictor_units=_strings(where, pred.attrs, "units", "predictors_lr"),
                time_s=time[()].astype(np.int64),
                lat_deg=lat[()].astype(np.float64),
                lon_deg=lon[()].astype(np.float64),
                factor=int(handle.attrs["factor"]),
                accumulation_h=float(handle.attrs.get("accumulation_h", 24.0)),
                source=str(handle.attrs.get("source", where)),
            )
        except OSError as err:
            raise InputError(where, f"data cannot be read, file truncated? ({err})") from err
    check_fields(fields, where)
    return fields


def read_split(path: str | os.PathLike[str]) -> Split:
    """Read the ``split`` group and check it is disjoint, in range and ordered train < val < test."""
    where = os.fspath(path)
    with open_hdf5(where) as handle:
        n = require_dataset(handle, "time", kinds="iu", ndim=1).shape[0]
        time = handle["time"][()]
        parts = {name: require_dataset(handle, f"split/{name}", kinds="iu", ndim=1)[()] for name in SPLITS}
    split = Split(**{name: indices.astype(np.int64) for name, indices in parts.items()})
    joined = np.concatenate([indices for _, indices in split.items()])
    if len(np.unique(joined)) != len(joined) or joined.min(initial=0) < 0 or joined.max(initial=0) >= n:
        raise InputError(where, "split indices overlap or fall outside the samples")
    if any(len(indices) == 0 for _, indices in split.items()):
        raise InputError(where, "a split is empty")
    if not time[split.train].max() < time[split.val].min() <= time[split.val].max() < time[split.test].min():
        raise InputError(where, "split is not ordered in time (train < val < test); test data would leak")
    return split


def load_fields(paths: Sequence[str | os.PathLike[str]]) -> DownscaleFields:
    """Read every file and join them along time; files must share grid, factor and predictors."""
    if not paths:
        raise InputError("downscale sources", "no input files given")
    parts = [(os.fspath(p), read_fields(p)) for p in paths]
    first_path, first = parts[0]
    for where, other in parts[1:]:
        for attr in ("factor", "predictor_names", "predictor_units", "accumulation_h"):
            if getattr(other, attr) != getattr(first, attr):
                raise InputError(where, f"{attr} {getattr(other, attr)!r} differs from {first_path}")
        if not (np.array_equal(other.lat_deg, first.lat_deg) and np.array_equal(other.lon_deg, first.lon_deg)):
            raise InputError(where, f"lat/lon grid differs from {first_path}")
    if len(parts) == 1:
        return first
    time_s = np.concatenate([f.time_s for _, f in parts])
    order = np.argsort(time_s, kind="stable")
    joined = replace(
        first,
        precip_hr_mm=np.concatenate([f.precip_hr_mm for _, f in parts])[order],
        precip_lr_mm=np.concatenate([f.precip_lr_mm for _, f in parts])[order],
        predictors_lr=np.concatenate([f.predictors_lr for _, f in parts])[order],
        time_s=time_s[order],
        source="; ".join(f.source for _, f in parts),
    )
    if np.any(np.diff(joined.time_s) <= 0):
        raise InputError(parts[-1][0], "files overlap in time (repeated time stamps)")
    return joined
