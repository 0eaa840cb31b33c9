"""Score class and probability rasters on the test blocks only.

The test blocks are the tiles of the ``test`` split of the tiles file (whole spatial blocks no
model trained or early-stopped on). Every product (a seed's probabilities, an ensemble, a CRF
output) is read only inside those tiles, window by window, so scoring costs memory for one tile
at a time whatever the raster size. A probability raster (3 bands) is scored by the run's
decision rule (:mod:`atmo.riskseg.decision`).

Scores per product (:func:`atmo.metrics.categorical.classification_scores`): Cohen's kappa
unweighted, linear and quadratic; per-class precision, recall and IoU, macro IoU; Spearman rho
between true and predicted classes; accuracy; and the confusion matrix (rows true, columns predicted).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from atmo.errors import InputError
from atmo.io.geotiff import GeoTiffWindows, check_same_grid, inspect_geotiff
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.metrics.categorical import ConfusionAccumulator, classification_scores
from atmo.riskseg import CLASS_NAMES, CLASSES, LABEL_NODATA
from atmo.riskseg.decision import decide

log = logging.getLogger(__name__)


def test_windows(tiles_path: str | os.PathLike[str]) -> list[tuple[int, int, int, int]]:
    """``(row, col, height, width)`` of every test tile of the tiles file."""
    with open_hdf5(tiles_path) as handle:
        if "test" not in handle:
            raise InputError(tiles_path, "has no 'test' group")
        rows = require_dataset(handle["test"], "row", kinds="iu", ndim=1)[:]
        cols = require_dataset(handle["test"], "col", kinds="iu", ndim=1)[:]
        size = int(handle.attrs["tile_size"])
    if len(rows) == 0:
        raise InputError(tiles_path, "has no test tile")
    return [(int(r), int(c), size, size) for r, c in zip(rows, cols, strict=True)]


def as_classes(pixels: np.ndarray, path: str, decision: str) -> np.ndarray:
    """``(h, w)`` classes from a window of a class raster (1 band) or a probability raster (3 bands, ``decision``)."""
    if pixels.shape[0] == 1:
        return pixels[0]
    if pixels.shape[0] == len(CLASSES):
        return decide(pixels, decision, valid=np.isfinite(pixels).all(axis=0) & (pixels >= 0).all(axis=0))
    raise InputError(path, f"has {pixels.shape[0]} bands, expected 1 (classes) or {len(CLASSES)} (probabilities)")


def score_products(
    labels_path: str | os.PathLike[str],
    tiles_path: str | os.PathLike[str],
    products: Mapping[str, str],
    decision: str = "argmax",
    decisions: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Scores and confusion matrix of every product (name -> raster path) on the test blocks.

    Probability rasters become classes by ``decision`` (:mod:`atmo.riskseg.decision`), or by the
    product's own entry in ``decisions``.
    """
    labels = inspect_geotiff(labels_path)
    windows = test_windows(tiles_path)
    results: dict[str, dict[str, Any]] = {}
    for name, path in products.items():
        check_same_grid(labels, inspect_geotiff(path))
        accumulator = ConfusionAccumulator(len(CLASSES))
        with GeoTiffWindows(labels.path) as truth, GeoTiffWindows(path) as product:
            for window in windows:
                true = truth.read(*window)[0]
                pred = as_classes(product.read(*window), path, (decisions or {}).get(name, decision))
                valid = true != LABEL_NODATA
                if (pred[valid] == LABEL_NODATA).any():
                    raise InputError(path, f"has nodata at labelled test pixels (window {window})")
                accumulator.update(true, pred, valid=valid)
        matrix = accumulator.matrix
        rule = (decisions or {}).get(name, decision)
        results[name] = {**classification_scores(matrix, CLASS_NAMES), "confusion": matrix.tolist(), "path": path}
        results[name]["decision"] = rule
        log.info("%s: %s", name, {k: round(v, 4) for k, v in results[name].items() if isinstance(v, float)})
    return results
