"""Write a whole-scene class-probability raster in the form every riskseg product has.

Models write theirs window by window (:func:`atmo.riskseg.inference.predict_probabilities`); the
pixel baselines and the oracle hold the whole ``(3, H, W)`` array and write it here, in the same
form, so the decision and score jobs read all of them alike: 3 float32 bands ``p_low, p_medium,
p_high`` on the scene's grid, nodata :data:`~atmo.riskseg.SCENE_NODATA` where the scene has no
data, tiled, DEFLATE, average-resampled overviews.
"""

from __future__ import annotations

import os

import numpy as np

from atmo.io.geotiff import RasterInfo, write_geotiff
from atmo.riskseg import CLASS_NAMES, CLASSES, SCENE_NODATA


def write_probabilities(
    path: str | os.PathLike[str], probabilities: np.ndarray, grid: RasterInfo, tags: dict[str, str]
) -> None:
    """Write ``probabilities`` ``(3, H, W)`` (NaN where invalid) on ``grid`` (the scene's header), atomically."""
    if probabilities.shape != (len(CLASSES), *grid.shape):
        raise ValueError(f"probabilities of shape {probabilities.shape}, expected {(len(CLASSES), *grid.shape)}")
    bands = np.where(np.isfinite(probabilities), probabilities, SCENE_NODATA).astype(np.float32)
    write_geotiff(
        path,
        bands,
        crs=grid.crs,
        transform=grid.transform,
        nodata=SCENE_NODATA,
        descriptions=tuple(f"p_{name}" for name in CLASS_NAMES),
        tags={**tags, "source_scene": grid.path},
        overviews="average",
    )
