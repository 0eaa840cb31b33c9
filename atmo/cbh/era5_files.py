"""ERA5 single-level predictors: NetCDF reading/writing, per-sample extraction and the CDS request.

The CBH experiment uses ERA5 as coarse atmospheric context for each airborne sample. The file is
what the Copernicus Climate Data Store (CDS) delivers for ``reanalysis-era5-single-levels`` in
NetCDF: variables under their ERA5 short names (``t2m``, ``d2m``, ``blh``...) on
``(valid_time, latitude, longitude)`` (older files: ``time``), latitude usually descending. The
synthetic source writes the same layout through :func:`write_era5`, so extraction is source-blind.

Extraction (:func:`sample_era5`) takes the nearest grid point in space and interpolates linearly
in time between the two bracketing steps; samples outside the file's area or between steps further
apart than the file's step (a gap between flight days) are an :class:`InputError`, never a silent
extrapolation. :func:`derive_predictors` adds the physically motivated derived predictors.

Only instantaneous variables are supported: the CDS splits requests that mix instantaneous and
accumulated parameters into several files.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import netCDF4
import numpy as np

from atmo.cbh.flight_files import FlightTrack
from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.settings import build_block, settings_block

log = logging.getLogger(__name__)

CDS_DATASET = "reanalysis-era5-single-levels"

#: ERA5 short name -> (CDS request name, units as ERA5 writes them, long name).
ERA5_VARIABLES: dict[str, tuple[str, str, str]] = {
    "t2m": ("2m_temperature", "K", "2 metre temperature"),
    "d2m": ("2m_dewpoint_temperature", "K", "2 metre dewpoint temperature"),
    "sp": ("surface_pressure", "Pa", "Surface pressure"),
    "msl": ("mean_sea_level_pressure", "Pa", "Mean sea level pressure"),
    "blh": ("boundary_layer_height", "m", "Boundary layer height"),
    "tcwv": ("total_column_water_vapour", "kg m**-2", "Total column vertically-integrated water vapour"),
    "u10": ("10m_u_component_of_wind", "m s**-1", "10 metre U wind component"),
    "v10": ("10m_v_component_of_wind", "m s**-1", "10 metre V wind component"),
    "lcc": ("low_cloud_cover", "(0 - 1)", "Low cloud cover"),
    "tcc": ("total_cloud_cover", "(0 - 1)", "Total cloud cover"),
    "cape": ("convective_available_potential_energy", "J kg**-1", "Convective available potential energy"),
    "skt": ("skin_temperature", "K", "Skin temperature"),
}

#: Espy's estimate of the lifting condensation level: about 125 m per kelvin of dewpoint depression.
LCL_M_PER_K = 125.0


TIME_NAMES = ("valid_time", "time")
LATITUDE_NAMES = ("latitude", "lat")
LONGITUDE_NAMES = ("longitude", "lon")


class Era5Settings(settings_block("cbh", "era5")):
    """The ``cbh.era5`` config block: where the predictors come from, which ones, and the area and hours.

    ``grid_deg`` is the grid spacing requested, ``margin_deg`` and ``margin_h`` widen the area and
    time span around the flights. The synthetic source's error model is fixed in
    :mod:`atmo.cbh.synthetic.era5`.
    """


@dataclass(frozen=True)
class Era5Grid:
    """Gridded ERA5 fields: ``fields[name]`` is (T, Y, X) float32 on the axes below.

    ``time_unix_s`` (T,) is increasing; ``latitude_deg`` (Y,) and ``longitude_deg`` (X,) keep the
    file's order and longitude convention. ``path`` names the file in error messages.
    """

    time_unix_s: np.ndarray
    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    fields: dict[str, np.ndarray]
    units: dict[str, str]
    path: str = "<memory>"


def write_era5(path: str | os.PathLike[str], grid: Era5Grid) -> None:
    """Write ``grid`` atomically as a NetCDF4 file in the layout the CDS delivers."""
    with atomic_path(path) as tmp, netCDF4.Dataset(tmp, "w", format="NETCDF4") as out:
        out.Conventions = "CF-1.7"
        out.title = "ERA5 single-level predictors (reanalysis-era5-single-levels layout)"
        dims = ("valid_time", "latitude", "longitude")
        for dim, values in zip(dims, (grid.time_unix_s, grid.latitude_deg, grid.longitude_deg), strict=True):
            out.createDimension(dim, len(values))
        time = out.createVariable("valid_time", "i8", ("valid_time",))
        time.units, time.calendar, time.standard_name = "seconds since 1970-01-01", "proleptic_gregorian", "time"
        time[:] = np.round(grid.time_unix_s).astype(np.int64)
        for dim, values, units in (
            ("latitude", grid.latitude_deg, "degrees_north"),
            ("longitude", grid.longitude_deg, "degrees_east"),
        ):
            axis = out.createVariable(dim, "f8", (dim,))
            axis.units, axis.standard_name = units, dim
            axis[:] = values
        for name, data in grid.fields.items():
            var = out.createVariable(name, "f4", dims, zlib=True, complevel=4, fill_value=np.float32(np.nan))
            var.units = grid.units[name]
            var.long_name = ERA5_VARIABLES[name][2] if name in ERA5_VARIABLES else name
            var[:] = data.astype(np.float32)


def read_era5(path: str | os.PathLike[str], variables: Sequence[str]) -> Era5Grid:
    """Read ``variables`` from an ERA5 NetCDF file, checked, as (T, Y, X) float32 arrays.

    Raises :class:`InputError` naming ``path`` when the file is missing or not NetCDF, lacks a
    time/latitude/longitude axis or one of ``variables``, or a variable is not on those axes.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(path, "file does not exist")
    try:
        handle = netCDF4.Dataset(path, "r")
    except OSError as err:
        raise InputError(path, f"not a readable NetCDF file, truncated or foreign? ({err})") from err
    with handle:
        handle.set_auto_maskandscale(True)
        time_name = _find_axis(handle, TIME_NAMES, path)
        lat_name = _find_axis(handle, LATITUDE_NAMES, path)
        lon_name = _find_axis(handle, LONGITUDE_NAMES, path)
        missing = [v for v in variables if v not in handle.variables]
        if missing:
            present = sorted(set(handle.variables) - set(handle.dimensions))
            raise InputError(path, f"missing ERA5 variable(s) {missing}; the file has {present}")
        try:
            time_var = handle.variables[time_name]
            dates = netCDF4.num2date(
                time_var[:],
                time_var.units,
                getattr(time_var, "calendar", "standard"),
                only_use_cftime_datetimes=False,
                only_use_python_datetimes=True,
            )
            time_unix_s = np.array([d.replace(tzinfo=UTC).timestamp() for d in np.ravel(dates)])
            latitude = np.asarray(handle.variables[lat_name][:], dtype=np.float64)
            longitude = np.asarray(handle.variables[lon_name][:], dtype=np.float64)
            fields = {v: _read_field(handle.variables[v], (time_name, lat_name, lon_name), path) for v in variables}
            units = {v: str(getattr(handle.variables[v], "units", "")) for v in variables}
        except (OSError, RuntimeError, AttributeError, ValueError) as err:
            raise InputError(path, f"cannot read ERA5 axes/variables ({err})") from err
    for axis, values in (("time", time_unix_s), ("latitude", latitude), ("longitude", longitude)):
        if values.size < 2:
            raise InputError(path, f"{axis} axis has {values.size} point(s), need at least 2 to locate samples")
    order = np.argsort(time_unix_s, kind="stable")
    if np.any(np.diff(time_unix_s[order]) == 0):
        raise InputError(path, "time axis has repeated steps")
    return Era5Grid(
        time_unix_s=time_unix_s[order],
        latitude_deg=latitude,
        longitude_deg=longitude,
        fields={v: f[order] for v, f in fields.items()},
        units=units,
        path=path,
    )


def _find_axis(handle: netCDF4.Dataset, names: Sequence[str], path: str) -> str:
    for name in names:
        if name in handle.variables:
            return name
    raise InputError(path, f"no {'/'.join(names)} coordinate variable")


def _read_field(var: netCDF4.Variable, axes: tuple[str, str, str], path: str) -> np.ndarray:
    """(T, Y, X) float32 with masked values as NaN; extra length-1 dimensions (``number``) dropped."""
    extra = [d for d in var.dimensions if d not in axes]
    if not set(axes) <= set(var.dimensions) or any(len(var.get_dims()[var.dimensions.index(d)]) != 1 for d in extra):
        raise InputError(path, f"variable '{var.name}' has dimensions {var.dimensions}, expected {axes}")
    data = np.ma.filled(np.ma.asarray(var[...], dtype=np.float32), np.nan)
    kept = [d for d in var.dimensions if d in axes]
    data = data.reshape([len(var.get_dims()[var.dimensions.index(d)]) for d in kept])
    return np.ascontiguousarray(np.transpose(data, [kept.index(a) for a in axes]))


def sample_era5(
    grid: Era5Grid,
    latitude_deg: np.ndarray,
    longitude_deg: np.ndarray,
    time_unix_s: np.ndarray,
    flight: str,
) -> dict[str, np.ndarray]:
    """Per-sample values (N,) of every field: nearest grid point, linear in time.

    Raises :class:`InputError` naming the NetCDF file when any sample of ``flight`` lies outside the
    grid's area (more than half a grid step beyond its edge) or time coverage (before the first or
    after the last step, or inside a gap wider than the file's step), or lands on a missing value.
    """
    lon = _to_convention(np.asarray(longitude_deg, dtype=np.float64), grid.longitude_deg)
    lat = np.asarray(latitude_deg, dtype=np.float64)
    time = np.asarray(time_unix_s, dtype=np.float64)
    times = grid.time_unix_s
    step_s = float(np.min(np.diff(times)))
    after = np.clip(np.searchsorted(times, time, side="right"), 1, times.size - 1)
    t0, t1 = times[after - 1], times[after]
    outside = (
        _outside_axis(lat, grid.latitude_deg)
        | _outside_axis(lon, grid.longitude_deg)
        | (time < times[0])
        | (time > times[-1])
        | (t1 - t0 > step_s * 1.001)
    )
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise InputError(
            grid.path,
            f"flight {flight}: {int(outside.sum())} of {outside.size} samples lie outside the file's coverage "
            f"(covers {_iso(times[0])} to {_iso(times[-1])} every {step_s / 3600:g} h, "
            f"latitude {grid.latitude_deg.min():g}..{grid.latitude_deg.max():g}, "
            f"longitude {grid.longitude_deg.min():g}..{grid.longitude_deg.max():g}; "
            f"first: sample {first} at {_iso(time[first])}, {lat[first]:.3f}N {longitude_deg[first]:.3f}E)",
        )
    weight = ((time - t0) / (t1 - t0)).astype(np.float32)
    iy = np.abs(grid.latitude_deg[None, :] - lat[:, None]).argmin(axis=1)
    ix = np.abs(grid.longitude_deg[None, :] - lon[:, None]).argmin(axis=1)
    samples = {
        name: (1 - weight) * field[after - 1, iy, ix] + weight * field[after, iy, ix]
        for name, field in grid.fields.items()
    }
    for name, values in samples.items():
        if not np.all(np.isfinite(values)):
            missing = int(np.sum(~np.isfinite(values)))
            raise InputError(grid.path, f"flight {flight}: variable '{name}' is missing at {missing} samples")
    return samples


def _to_convention(lon: np.ndarray, grid_lon: np.ndarray) -> np.ndarray:
    """Express sample longitudes in the grid's convention (0..360 or -180..180)."""
    return np.mod(lon, 360.0) if grid_lon.max() > 180.0 else np.mod(lon + 180.0, 360.0) - 180.0


def _outside_axis(values: np.ndarray, axis: np.ndarray) -> np.ndarray:
    half_step = float(np.median(np.abs(np.diff(axis)))) / 2
    return (values < axis.min() - half_step) | (values > axis.max() + half_step)


def _iso(time_unix_s: float) -> str:
    return datetime.fromtimestamp(float(time_unix_s), tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def derive_predictors(samples: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, str]]:
    """Derived per-sample predictors ``{name: (values (N,), units)}`` from the ERA5 samples.

    - ``lcl_m``: lifting condensation level above the surface, ``125 m/K * (t2m - d2m)`` (Espy);
      cumulus bases sit near it when the boundary layer is well mixed.
    - ``rh2m_pct``: 2 m relative humidity from the Magnus formula (Alduchov and Eskridge 1996).
    - ``wind10_ms``: 10 m wind speed (needs ``u10``, ``v10``): mixing strength.
    - ``blh_minus_lcl_m``: boundary-layer height minus LCL (needs ``blh``), a coupling/stability
      proxy: positive when surface parcels reach condensation inside the mixed layer.
    """
    t2m, d2m = samples["t2m"], samples["d2m"]
    lcl_m = LCL_M_PER_K * (t2m - d2m)
    derived = {"lcl_m": (lcl_m, "m"), "rh2m_pct": (100.0 * _magnus_hpa(d2m) / _magnus_hpa(t2m), "%")}
    if "u10" in samples and "v10" in samples:
        derived["wind10_ms"] = (np.hypot(samples["u10"], samples["v10"]), "m s**-1")
    if "blh" in samples:
        derived["blh_minus_lcl_m"] = (samples["blh"] - lcl_m, "m")
    return {name: (np.asarray(values, dtype=np.float32), units) for name, (values, units) in derived.items()}


def _magnus_hpa(temperature_k: np.ndarray) -> np.ndarray:
    """Saturation vapour pressure over water, hPa (Magnus form, Alduchov and Eskridge 1996)."""
    celsius = temperature_k - 273.15
    return 6.1094 * np.exp(17.625 * celsius / (celsius + 243.04))


# --- Copernicus Climate Data Store -------------------------------------------------------------


class CdsClient(Protocol):
    """The part of ``cdsapi.Client`` used here."""

    def retrieve(self, name: str, request: dict[str, Any], target: str) -> Any: ...


def request_area(tracks: Sequence[FlightTrack], *, grid_deg: float, margin_deg: float) -> list[float]:
    """``[north, west, south, east]``: all flights' positions plus ``margin_deg``, snapped outwards to the grid."""
    lat = np.concatenate([t.latitude_deg for t in tracks])
    lon = np.mod(np.concatenate([t.longitude_deg for t in tracks]) + 180.0, 360.0) - 180.0
    return [
        _snap(lat.max() + margin_deg, grid_deg, math.ceil),
        _snap(lon.min() - margin_deg, grid_deg, math.floor),
        _snap(lat.min() - margin_deg, grid_deg, math.floor),
        _snap(lon.max() + margin_deg, grid_deg, math.ceil),
    ]


def request_hours(track: FlightTrack, *, margin_h: float) -> np.ndarray:
    """Whole hours (as Unix seconds) covering the flight's samples plus ``margin_h`` on both sides."""
    first = math.floor(float(track.time_unix_s.min()) / 3600 - margin_h)
    last = math.ceil(float(track.time_unix_s.max()) / 3600 + margin_h)
    return np.arange(first, last + 1, dtype=np.float64) * 3600


def build_cds_requests(
    tracks: Sequence[FlightTrack],
    variables: Sequence[str],
    *,
    grid_deg: float,
    margin_deg: float,
    margin_h: float,
) -> list[dict[str, Any]]:
    """One CDS request per flight for ``reanalysis-era5-single-levels`` in NetCDF.

    Every request uses the same :func:`request_area`, so the per-flight files share one grid and
    concatenate along time; each asks for the flight's :func:`request_hours`. A flight that crosses
    midnight asks for the product of its days and hours (a few extra steps, harmless).
    """
    area = request_area(tracks, grid_deg=grid_deg, margin_deg=margin_deg)
    requests = []
    for track in tracks:
        hours = [datetime.fromtimestamp(h, tz=UTC) for h in request_hours(track, margin_h=margin_h)]
        requests.append(
            {
                "product_type": ["reanalysis"],
                "variable": [ERA5_VARIABLES[v][0] for v in variables],
                "year": sorted({f"{h.year:04d}" for h in hours}),
                "month": sorted({f"{h.month:02d}" for h in hours}),
                "day": sorted({f"{h.day:02d}" for h in hours}),
                "time": sorted({f"{h.hour:02d}:00" for h in hours}),
                "area": area,
                "grid": [grid_deg, grid_deg],
                "data_format": "netcdf",
                "download_format": "unarchived",
            }
        )
    return requests


def _snap(value: float, step: float, rounding: Callable[[float], int]) -> float:
    return round(rounding(round(value / step, 9)) * step, 6)


def cds_credentials_file() -> Path:
    """Where cdsapi looks for credentials: ``$CDSAPI_RC`` or ``~/.cdsapirc``."""
    return Path(os.environ.get("CDSAPI_RC", Path.home() / ".cdsapirc"))


def require_cds_credentials() -> None:
    """Fail with one line saying what to set when cdsapi would find no credentials."""
    if os.environ.get("CDSAPI_URL") and os.environ.get("CDSAPI_KEY"):
        return
    rc_file = cds_credentials_file()
    if rc_file.is_file():
        return
    raise InputError(
        rc_file,
        "no Copernicus CDS credentials for cbh.era5.source 'era5_cds': create this file with the two lines "
        "'url: https://cds.climate.copernicus.eu/api' and 'key: <your CDS personal access token>', "
        "or set the environment variables CDSAPI_URL and CDSAPI_KEY",
    )


def cds_client() -> CdsClient:
    """A ``cdsapi.Client``; cdsapi is optional (``pip install 'atmo[era5]'``) and imported only here."""
    try:
        import cdsapi
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "cbh.era5.source 'era5_cds' needs the cdsapi package: pip install 'atmo[era5]' (cdsapi==0.7.7)"
        ) from err
    return cdsapi.Client()


def fetch_era5_cds(
    out_path: str | os.PathLike[str],
    tracks: Sequence[FlightTrack],
    settings: Era5Settings | Mapping[str, Any],
    client: CdsClient | None = None,
) -> None:
    """The real source: request ERA5 for every flight from the CDS and write one NetCDF file.

    ``settings`` is the config block ``cbh.era5``, built or as a mapping (missing keys take their
    defaults). Without a ``client`` the CDS credentials are checked first (one-line
    :class:`InputError` saying what to set) and ``cdsapi.Client`` is used.
    """
    settings = build_block(Era5Settings, settings, "cbh.era5")
    if client is None:
        require_cds_credentials()
        client = cds_client()
    requests = build_cds_requests(
        tracks,
        settings.variables,
        grid_deg=settings.grid_deg,
        margin_deg=settings.margin_deg,
        margin_h=settings.margin_h,
    )
    retrieve_era5_cds(out_path, requests, settings.variables, client)


def retrieve_era5_cds(
    out_path: str | os.PathLike[str],
    requests: Sequence[dict[str, Any]],
    variables: Sequence[str],
    client: CdsClient,
) -> None:
    """Download each request from the CDS, check the parts, and write their union along time."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=f".{out_path.name}.") as tmp:
        parts = []
        for index, request in enumerate(requests):
            target = Path(tmp) / f"part{index:03d}.nc"
            log.info("CDS request %d/%d: %s %s", index + 1, len(requests), request["day"], request["time"])
            client.retrieve(CDS_DATASET, request, os.fspath(target))
            parts.append(read_era5(target, variables))
        write_era5(out_path, merge_along_time(parts))


def merge_along_time(parts: Sequence[Era5Grid]) -> Era5Grid:
    """Concatenate grids on the same latitude/longitude axes along time (duplicate steps once)."""
    first = parts[0]
    for part in parts[1:]:
        if not (
            np.array_equal(part.latitude_deg, first.latitude_deg)
            and np.array_equal(part.longitude_deg, first.longitude_deg)
        ):
            raise InputError(part.path, f"grid differs from {first.path}; parts must share one area and grid")
    time = np.concatenate([p.time_unix_s for p in parts])
    order = np.argsort(time, kind="stable")
    keep = order[np.concatenate([[True], np.diff(time[order]) > 0])]
    return Era5Grid(
        time_unix_s=time[keep],
        latitude_deg=first.latitude_deg,
        longitude_deg=first.longitude_deg,
        fields={name: np.concatenate([p.fields[name] for p in parts])[keep] for name in first.fields},
        units=first.units,
        path=first.path,
    )
