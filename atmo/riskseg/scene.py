"""Bring a risk scene from any source into one checked, standard pair of GeoTIFFs.

Sources (``riskseg.source``): ``synthetic`` (:mod:`atmo.riskseg.synthetic.scene`), ``local`` (a user's scene
and label rasters; the survey rasters of the write-up are not public) and ``url`` (rasters listed in a
download manifest). Real rasters pass through the same checks, all from headers plus one read of
the label raster, before anything is computed or written:

* both files exist and are GeoTIFFs; the scene has a projected CRS (tile sizes are in pixels of
  fixed ground size);
* the label raster is a single integer band on exactly the scene's grid (shape, CRS, transform);
* label values are only the classes 0, 1, 2 and the label raster's nodata value.

The standard form (what :func:`import_scene` writes and the synthetic generator writes directly):
float32 covariates with nodata :data:`~atmo.riskseg.SCENE_NODATA`, uint8 labels with nodata
:data:`~atmo.riskseg.LABEL_NODATA` wherever either raster has no data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from atmo.errors import InputError
from atmo.io.download import download_manifest, read_manifest
from atmo.io.geotiff import RasterInfo, check_same_grid, inspect_geotiff, read_geotiff, write_geotiff
from atmo.riskseg import CLASSES, LABEL_NODATA, SCENE_NODATA

log = logging.getLogger(__name__)

# Destination names a manifest must use for the two rasters (``path`` of its entries).
MANIFEST_FILES = ("scene.tif", "labels.tif")


def check_scene_pair(
    scene_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]
) -> tuple[RasterInfo, RasterInfo]:
    """Validate a scene/label pair (see the module docstring); return both headers.

    Raises :class:`InputError` naming the offending file at the first problem.
    """
    scene = inspect_geotiff(scene_path, require_projected=True)
    labels = inspect_geotiff(labels_path)
    if labels.count != 1:
        raise InputError(labels.path, f"has {labels.count} bands, expected 1 band of class labels")
    if np.dtype(labels.dtype).kind not in "ui":
        raise InputError(labels.path, f"has dtype {labels.dtype}, expected an integer type for class labels")
    check_same_grid(scene, labels)
    check_label_values(labels)
    return scene, labels


def check_label_values(labels: RasterInfo) -> None:
    """Raise :class:`InputError` if ``labels`` holds values other than 0, 1, 2 and its nodata."""
    allowed = set(CLASSES) if labels.nodata is None else {*CLASSES, int(labels.nodata)}
    found = {int(v) for v in np.unique(read_geotiff(labels.path))}
    unexpected = sorted(found - allowed)
    if unexpected:
        shown = ", ".join(map(str, unexpected[:8])) + (", ..." if len(unexpected) > 8 else "")
        raise InputError(
            labels.path, f"label values {{{shown}}} outside the classes {{0, 1, 2}} and nodata {labels.nodata}"
        )
    if not found & set(CLASSES):
        raise InputError(labels.path, "has no labelled pixel (every pixel is nodata)")


def import_scene(
    scene_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    scene_out: str | os.PathLike[str],
    labels_out: str | os.PathLike[str],
) -> None:
    """Check a real scene/label pair and write it in the standard form (band names kept)."""
    scene, labels = check_scene_pair(scene_path, labels_path)
    bands = read_geotiff(scene.path).astype(np.float32)
    invalid = ~np.isfinite(bands).all(axis=0)
    if scene.nodata is not None and np.isfinite(scene.nodata):
        invalid |= (bands == np.float32(scene.nodata)).any(axis=0)
    label = read_geotiff(labels.path)[0]
    if labels.nodata is not None:
        invalid |= label == labels.nodata
    bands[:, invalid] = SCENE_NODATA
    label = np.where(invalid, LABEL_NODATA, label).astype(np.uint8)
    grid = {"crs": scene.crs, "transform": scene.transform}
    write_geotiff(
        scene_out, bands, nodata=SCENE_NODATA, descriptions=scene.band_names, tags={"source": scene.path}, **grid
    )
    label_meta = {"descriptions": ["risk_class"], "tags": {"source": labels.path}}
    write_geotiff(labels_out, label, nodata=LABEL_NODATA, **label_meta, **grid)
    log.info("imported %s and %s: %d of %d pixels are nodata", scene.path, labels.path, invalid.sum(), invalid.size)


def fetch_scene(
    manifest_path: str | os.PathLike[str], dest_dir: str | os.PathLike[str], **transfer: float | int
) -> list[Path]:
    """Download the manifest's ``scene.tif`` and ``labels.tif`` entries (verified) into ``dest_dir``.

    Returns ``[scene, labels]``. Other entries of the manifest are ignored. ``transfer`` holds the
    ``retries``, ``timeout_s`` and ``backoff_s`` of :func:`atmo.io.download.download`.
    """
    entries = {entry.path: entry for entry in read_manifest(manifest_path)}
    missing = [name for name in MANIFEST_FILES if name not in entries]
    if missing:
        raise InputError(
            manifest_path, f"has no entry with path {missing}; riskseg needs entries {list(MANIFEST_FILES)}"
        )
    return download_manifest([entries[name] for name in MANIFEST_FILES], dest_dir, **transfer)
