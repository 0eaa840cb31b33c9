"""Score class and probability rasters on the test blocks only, block by block.

The test blocks are the tiles of the ``test`` split of the tiles file (whole spatial blocks no
model trained or early-stopped on). Every product (a seed's probabilities, an ensemble, a CRF
output) is read only inside those tiles, window by window, so scoring costs memory for one tile
at a time whatever the raster size. A probability raster (3 bands) is scored by its variant's
decision rule (:mod:`atmo.riskseg.decision`, fitted on validation by :mod:`atmo.riskseg.choice`).

Scores per product (:func:`atmo.metrics.categorical.classification_scores`): Cohen's kappa
unweighted, linear and quadratic; per-class precision, recall and IoU, macro IoU; Spearman rho
between true and predicted classes; accuracy; and the confusion matrix (rows true, columns predicted).

The test blocks are also the units of the paired bootstrap (:mod:`atmo.metrics.paired`): every
product gets one row per test block with that block's confusion matrix (columns
``cm_<truth>_<pred>``, :func:`atmo.metrics.pooled.confusion_statistics`, valid pixels only). The
pooled matrix is the sum of the blocks', so the kappa the comparisons re-form from the units is
the kappa of the scores.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from atmo.errors import InputError
from atmo.io.geotiff import GeoTiffWindows, check_same_grid, inspect_geotiff
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.metrics.categorical import ConfusionAccumulator, classification_scores
from atmo.metrics.pooled import confusion_statistics
from atmo.metrics.unit_stats import UNIT
from atmo.riskseg import CLASS_NAMES, CLASSES, LABEL_NODATA
from atmo.riskseg.decision import Decision, decide

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitTile:
    """One tile of a split: its window in the scene and its spatial block."""

    row: int
    col: int
    size: int
    block: int

    @property
    def window(self) -> tuple[int, int, int, int]:
        """``(row, col, height, width)`` as :class:`~atmo.io.geotiff.GeoTiffWindows` reads it."""
        return (self.row, self.col, self.size, self.size)


def split_tiles(tiles_path: str | os.PathLike[str], split: str) -> list[SplitTile]:
    """Every tile of one ``split`` group of the tiles file (nothing of the other splits is read)."""
    with open_hdf5(tiles_path) as handle:
        if split not in handle:
            raise InputError(tiles_path, f"has no {split!r} group")
        group = handle[split]
        rows = require_dataset(group, "row", kinds="iu", ndim=1)[:]
        cols = require_dataset(group, "col", kinds="iu", ndim=1)[:]
        blocks = require_dataset(group, "block", kinds="iu", ndim=1)[:]
        size = int(handle.attrs["tile_size"])
    if len(rows) == 0:
        raise InputError(tiles_path, f"has no {split} tile")
    return [SplitTile(int(r), int(c), size, int(b)) for r, c, b in zip(rows, cols, blocks, strict=True)]


def test_windows(tiles_path: str | os.PathLike[str]) -> list[tuple[int, int, int, int]]:
    """``(row, col, height, width)`` of every test tile of the tiles file."""
    return [tile.window for tile in split_tiles(tiles_path, "test")]


def block_label(block: int) -> str:
    """The unit label of a spatial block in unit statistics files."""
    return f"block{block}"


def as_classes(pixels: np.ndarray, path: str, decision: Decision | str) -> np.ndarray:
    """``(h, w)`` classes from a window of a class raster (1 band) or a probability raster (3 bands, ``decision``)."""
    if pixels.shape[0] == 1:
        return pixels[0]
    if pixels.shape[0] == len(CLASSES):
        return decide(pixels, decision, valid=np.isfinite(pixels).all(axis=0) & (pixels >= 0).all(axis=0))
    raise InputError(path, f"has {pixels.shape[0]} bands, expected 1 (classes) or {len(CLASSES)} (probabilities)")


def block_confusions(
    labels_path: str | os.PathLike[str], tiles: list[SplitTile], path: str, decision: Decision | str
) -> dict[int, np.ndarray]:
    """The ``(3, 3)`` confusion matrix (rows true) of one product in each block of ``tiles``, valid pixels only."""
    matrices: dict[int, ConfusionAccumulator] = {}
    with GeoTiffWindows(labels_path) as truth, GeoTiffWindows(path) as product:
        for tile in tiles:
            true = truth.read(*tile.window)[0]
            pred = as_classes(product.read(*tile.window), path, decision)
            valid = true != LABEL_NODATA
            if (pred[valid] == LABEL_NODATA).any():
                raise InputError(path, f"has nodata at labelled pixels (window {tile.window})")
            matrices.setdefault(tile.block, ConfusionAccumulator(len(CLASSES))).update(true, pred, valid=valid)
    return {block: accumulator.matrix for block, accumulator in matrices.items()}


def unit_frame(matrices: Mapping[int, np.ndarray]) -> pd.DataFrame:
    """Per-block confusion matrices as a unit statistics table (``unit``, then ``cm_<truth>_<pred>``)."""
    columns = confusion_statistics(len(CLASSES))
    records = [
        {UNIT: block_label(block), **dict(zip(columns, matrix.ravel().tolist(), strict=True))}
        for block, matrix in sorted(matrices.items())
    ]
    return pd.DataFrame(records, columns=[UNIT, *columns])


def score_products(
    labels_path: str | os.PathLike[str],
    tiles_path: str | os.PathLike[str],
    products: Mapping[str, str],
    decision: Decision | str = "argmax",
    decisions: Mapping[str, Decision | str] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, pd.DataFrame]]:
    """Scores and per-test-block unit statistics of every product (name -> raster path).

    Probability rasters become classes by the product's own entry in ``decisions`` (its variant's
    fitted rule, or a fixed one), else by ``decision`` (:mod:`atmo.riskseg.decision`). The scores
    are those of the summed block matrices, with the rule (``decision``, ``thresholds``) recorded.
    """
    labels = inspect_geotiff(labels_path)
    tiles = split_tiles(tiles_path, "test")
    results: dict[str, dict[str, Any]] = {}
    units: dict[str, pd.DataFrame] = {}
    for name, path in products.items():
        check_same_grid(labels, inspect_geotiff(path))
        rule = (decisions or {}).get(name, decision)
        rule = Decision(rule) if isinstance(rule, str) else rule
        matrices = block_confusions(labels.path, tiles, path, rule)
        matrix = np.sum(list(matrices.values()), axis=0)
        results[name] = {**classification_scores(matrix, CLASS_NAMES), "confusion": matrix.tolist(), "path": path}
        results[name]["decision"] = rule.rule
        results[name]["thresholds"] = None if rule.thresholds is None else list(rule.thresholds)
        units[name] = unit_frame(matrices)
        log.info("%s: %s", name, {k: round(v, 4) for k, v in results[name].items() if isinstance(v, float)})
    return results, units
