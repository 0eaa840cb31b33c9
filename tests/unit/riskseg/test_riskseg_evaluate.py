"""Scores come from the test tiles only and equal scikit-learn's on those pixels; the per-block units re-form them."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from riskseg_helpers import write_raster
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score, precision_score, recall_score

from atmo.errors import InputError
from atmo.io.geotiff import read_geotiff
from atmo.metrics.pooled import cohen_kappa
from atmo.metrics.unit_stats import read_unit_stats, write_unit_stats
from atmo.riskseg.evaluate import score_products

SIZE = 8
# (row, col) of each test tile and its block: the first two tiles share block 0
TEST_TILES = [((0, 0), 0), ((0, 8), 0), ((8, 8), 5)]


def _tiles_file(path: Path, test_tiles: list[tuple[tuple[int, int], int]]) -> Path:
    with h5py.File(path, "w") as handle:
        handle.attrs["tile_size"] = SIZE
        group = handle.create_group("test")
        group["row"] = np.array([r for (r, _), _ in test_tiles], dtype=np.int64)
        group["col"] = np.array([c for (_, c), _ in test_tiles], dtype=np.int64)
        group["block"] = np.array([b for _, b in test_tiles], dtype=np.int64)
    return path


@pytest.fixture
def rasters(tmp_path: Path):
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=(32, 32)).astype(np.uint8)
    truth[:2, :2] = 255
    pred = np.where(rng.random((32, 32)) < 0.7, truth, rng.integers(0, 3, size=(32, 32))).astype(np.uint8)
    pred[truth == 255] = 255
    pred[16:, 16:] = 0  # outside the test tiles: must not count
    labels = write_raster(tmp_path / "labels.tif", truth, nodata=255)
    classes = write_raster(tmp_path / "classes.tif", pred, nodata=255)
    probs = np.zeros((3, 32, 32), dtype=np.float32)
    for c in range(3):
        probs[c] = pred == c
    probs[:, truth == 255] = -9999.0
    probabilities = write_raster(tmp_path / "probs.tif", probs, nodata=-9999.0)
    tiles = _tiles_file(tmp_path / "tiles.h5", TEST_TILES)
    mask = np.zeros((32, 32), dtype=bool)
    for (r, c), _ in TEST_TILES:
        mask[r : r + SIZE, c : c + SIZE] = True
    mask &= truth != 255
    return labels, classes, probabilities, tiles, truth[mask], pred[mask]


def test_scores_equal_sklearn_and_scipy_on_the_test_pixels(rasters) -> None:
    labels, classes, probabilities, tiles, true, pred = rasters
    scores, _ = score_products(labels, tiles, {"classes": str(classes), "probs": str(probabilities)})
    for name in ("classes", "probs"):
        got = scores[name]
        assert got["kappa_unweighted"] == pytest.approx(cohen_kappa_score(true, pred))
        assert got["kappa_quadratic"] == pytest.approx(cohen_kappa_score(true, pred, weights="quadratic"))
        assert got["precision_medium"] == pytest.approx(precision_score(true, pred, labels=[1], average=None)[0])
        assert got["recall_high"] == pytest.approx(recall_score(true, pred, labels=[2], average=None)[0])
        assert got["spearman_rho"] == pytest.approx(spearmanr(true, pred).statistic)
        assert sum(map(sum, got["confusion"])) == true.size


def test_a_product_on_another_grid_is_refused(rasters, tmp_path: Path) -> None:
    labels, _, _, tiles, _, _ = rasters
    other = write_raster(tmp_path / "small.tif", np.zeros((16, 16), dtype=np.uint8), nodata=255)
    with pytest.raises(InputError, match=r"small\.tif"):
        score_products(labels, tiles, {"small": str(other)})


def test_pooling_the_blocks_unit_statistics_reproduces_the_test_kappa(rasters, tmp_path: Path) -> None:
    labels, classes, _, tiles, true, pred = rasters
    scores, units = score_products(labels, tiles, {"classes": str(classes)})
    write_unit_stats(tmp_path / "units.csv", units["classes"])
    frame = read_unit_stats(tmp_path / "units.csv")
    assert list(frame["unit"]) == ["block0", "block5"]  # one row per test block, tiles of a block summed
    assert frame.drop(columns="unit").to_numpy().sum() == true.size
    metric = cohen_kappa(3)
    pooled = metric.formula(frame[list(metric.statistics)].to_numpy(dtype=float).sum(axis=0))
    assert pooled == pytest.approx(scores["classes"]["kappa_unweighted"])
    assert pooled == pytest.approx(cohen_kappa_score(true, pred))
    # cm_<truth>_<pred>: the row of the truth, the column of the prediction
    block5 = frame.set_index("unit").loc["block5"]
    in_block5 = np.zeros((32, 32), dtype=bool)
    in_block5[8:16, 8:16] = True
    truth = read_geotiff(labels)[0][in_block5]
    assert block5["cm_1_2"] == int(((truth == 1) & (read_geotiff(classes)[0][in_block5] == 2)).sum())
