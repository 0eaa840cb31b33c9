"""Helpers for the riskseg tests: a standard grid and a writer for deliberately odd GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from atmo.io.geotiff import write_geotiff
from atmo.riskseg.synthetic.scene import SyntheticSceneSettings

UTM = "EPSG:32633"
TRANSFORM = from_origin(400_000.0, 4_500_000.0, 30.0, 30.0)
# Small enough for milliseconds, large enough for 3 x 3 blocks of 16-px tiles.
SMALL_SCENE = SyntheticSceneSettings(
    height=96, width=96, correlation_px=4.0, nodata_border_px=3, nodata_blob_radius_px=10.0
)


def write_raster(path: Path, data: np.ndarray, *, crs: str | None = UTM, transform=TRANSFORM, nodata=None) -> Path:
    """Write ``data`` as a GeoTIFF on the given grid; ``crs=None`` writes one without a CRS.

    The library writer always sets a CRS, so the CRS-less file is written with rasterio directly.
    """
    if crs is not None:
        return write_geotiff(path, data, crs=crs, transform=transform, nodata=nodata)
    bands = data[np.newaxis] if data.ndim == 2 else data
    profile = {"driver": "GTiff", "count": bands.shape[0], "height": bands.shape[1], "width": bands.shape[2]}
    with rasterio.open(path, "w", dtype=bands.dtype.name, transform=transform, nodata=nodata, **profile) as dst:
        dst.write(bands)
    return path
