"""Checked GeoTIFF reading and atomic GeoTIFF writing (rasterio).

Raster inputs fail in three typical ways: the file is not a GeoTIFF at all, it carries no usable
georeferencing, or two rasters that must overlay pixel for pixel do not share a grid. Each case is
caught from the header alone (:func:`inspect_geotiff`, :func:`check_same_grid`) so a job stops with
the file's name and the reason before it reads any pixels. Writes go through
:func:`atmo.io.atomic.atomic_path`, so a killed job never leaves a truncated GeoTIFF behind.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from atmo.errors import InputError
from atmo.io.atomic import atomic_path

log = logging.getLogger(__name__)

# GDAL creation options: internal tiling makes windowed reads (tiling, sliding-window inference)
# touch only the blocks they need; DEFLATE is lossless and readable by every GIS.
CREATION_OPTIONS = {"tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate", "BIGTIFF": "IF_SAFER"}


@dataclass(frozen=True)
class RasterInfo:
    """A GeoTIFF's header: everything needed to check it before reading pixels."""

    path: str
    count: int
    height: int
    width: int
    dtype: str
    crs: CRS | None
    transform: Affine
    nodata: float | None
    descriptions: tuple[str | None, ...]

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return self.height, self.width

    @property
    def band_names(self) -> list[str]:
        """Band descriptions, ``band_<i>`` (1-based) where a band has none."""
        return [name or f"band_{index}" for index, name in enumerate(self.descriptions, start=1)]


def inspect_geotiff(path: str | os.PathLike[str], *, require_projected: bool = False) -> RasterInfo:
    """Read and check the header of ``path``; every problem is an :class:`InputError` naming it.

    A CRS is always required (the rasters are overlaid and tiled by map position). With
    ``require_projected`` a geographic CRS (degrees) is refused as well, for consumers whose tile
    sizes and derived covariates assume square pixels of a fixed ground size.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(path, "file does not exist")
    if os.path.isdir(path):
        raise InputError(path, "is a directory, expected a GeoTIFF file")
    if os.path.getsize(path) == 0:
        raise InputError(path, "file is empty")
    try:
        with rasterio.open(path) as src:
            driver = src.driver
            info = RasterInfo(
                path=path,
                count=src.count,
                height=src.height,
                width=src.width,
                dtype=src.dtypes[0],
                crs=src.crs,
                transform=src.transform,
                nodata=src.nodata,
                descriptions=tuple(src.descriptions),
            )
            mixed = len(set(src.dtypes)) > 1
    except RasterioIOError as err:
        raise InputError(path, f"not a readable GeoTIFF ({' '.join(str(err).split())})") from err
    if driver != "GTiff":
        raise InputError(path, f"is a {driver} raster, expected a GeoTIFF")
    if mixed:
        raise InputError(path, "bands have different data types, expected one dtype for all bands")
    if info.crs is None:
        raise InputError(path, "has no CRS; the raster must be georeferenced")
    if require_projected and not info.crs.is_projected:
        raise InputError(path, f"CRS {info.crs.to_string()} is geographic (degrees); a projected CRS is required")
    return info


def check_same_grid(reference: RasterInfo, other: RasterInfo) -> None:
    """Raise :class:`InputError` naming ``other`` unless it lies on ``reference``'s pixel grid."""
    if other.shape != reference.shape:
        raise InputError(other.path, f"shape {other.shape} differs from {reference.path} {reference.shape}")
    if other.crs != reference.crs:
        raise InputError(other.path, f"CRS {other.crs} differs from {reference.path} CRS {reference.crs}")
    # Agreement to a millionth of a pixel: float round-trips through GDAL must not count as a shift.
    if not other.transform.almost_equals(reference.transform, precision=1e-6 * abs(reference.transform.a)):
        ours, theirs = tuple(other.transform)[:6], tuple(reference.transform)[:6]
        raise InputError(other.path, f"transform {ours} differs from {reference.path} transform {theirs}")


def read_geotiff(path: str | os.PathLike[str], window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Pixels of ``path`` as ``(C, H, W)``; ``window = (row, col, height, width)`` reads a sub-block."""
    with rasterio.open(path) as src:
        return src.read(window=None if window is None else _window(*window))


class GeoTiffWindows:
    """Repeated windowed reads from one open GeoTIFF (opening per tile is wasteful).

    Use as a context manager; :meth:`read` returns ``(C, h, w)``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._src: rasterio.DatasetReader | None = None

    def __enter__(self) -> GeoTiffWindows:
        self._src = rasterio.open(self.path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._src is not None:
            self._src.close()
            self._src = None

    def read(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        """Pixels ``[row:row+height, col:col+width]`` of every band, ``(C, height, width)``."""
        if self._src is None:
            raise RuntimeError("GeoTiffWindows.read outside its `with` block")
        return self._src.read(window=_window(row, col, height, width))


def _window(row: int, col: int, height: int, width: int) -> Window:
    return Window(col_off=col, row_off=row, width=width, height=height)


def overview_factors(height: int, width: int, block: int = CREATION_OPTIONS["blockxsize"]) -> list[int]:
    """Decimation factors 2, 4, 8, ... until the coarsest overview fits in one ``block``-px tile.

    At least one level (factor 2) for any raster larger than 1 px, so small test rasters exercise
    the same code path; none for a single pixel.
    """
    size = max(height, width)
    factors: list[int] = []
    factor = 2
    while size > 1 and (not factors or size / (factor // 2) > block):
        factors.append(factor)
        factor *= 2
    return factors


def build_overviews(dst: rasterio.io.DatasetWriter, resampling: str) -> list[int]:
    """Build internal overviews of the open GeoTIFF ``dst`` (before it is closed) and return their factors.

    GIS tools then display a large raster without decoding every pixel. ``resampling`` is a GDAL
    method name: ``average`` for continuous values (probabilities), ``nearest`` or ``mode`` for classes.
    """
    factors = overview_factors(dst.height, dst.width)
    if factors:
        dst.build_overviews(factors, Resampling[resampling])
        dst.update_tags(ns="rio_overview", resampling=resampling)
    return factors


def write_geotiff(
    path: str | os.PathLike[str],
    data: np.ndarray,
    *,
    crs: CRS | str,
    transform: Affine,
    nodata: float | None,
    descriptions: Sequence[str] | None = None,
    tags: dict[str, str] | None = None,
    overviews: str | None = None,
) -> Path:
    """Write ``data`` ``(C, H, W)`` (or ``(H, W)``) as a tiled, DEFLATE-compressed GeoTIFF, atomically.

    ``descriptions`` name the bands (GIS tools show them; readers here use them to check band
    order); ``tags`` are stored as dataset metadata (e.g. how a synthetic scene was made).
    ``overviews`` names a resampling method (see :func:`build_overviews`) to add internal overviews.
    """
    bands = data[np.newaxis] if data.ndim == 2 else data
    if bands.ndim != 3:
        raise ValueError(f"expected (C, H, W) or (H, W) data, got shape {data.shape}")
    if descriptions is not None and len(descriptions) != bands.shape[0]:
        raise ValueError(f"{len(descriptions)} band descriptions for {bands.shape[0]} bands")
    count, height, width = bands.shape
    profile = {
        "driver": "GTiff",
        "count": count,
        "height": height,
        "width": width,
        "dtype": bands.dtype.name,
        "crs": CRS.from_user_input(crs),
        "transform": transform,
        "nodata": nodata,
        **CREATION_OPTIONS,
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(bands)
        for index, description in enumerate(descriptions or (), start=1):
            dst.set_band_description(index, description)
        if tags:
            dst.update_tags(**tags)
        if overviews is not None:
            build_overviews(dst, overviews)
    log.info("wrote %s (%d band(s), %dx%d, %s)", path, count, height, width, bands.dtype.name)
    return Path(path)
