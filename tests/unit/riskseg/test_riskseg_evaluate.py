"""Scores come from the test tiles only and equal scikit-learn's on those pixels."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from riskseg_helpers import write_raster
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score, precision_score, recall_score

from atmo.errors import InputError
from atmo.riskseg.evaluate import score_products

SIZE = 8


def _tiles_file(path: Path, test_origins: list[tuple[int, int]]) -> Path:
    with h5py.File(path, "w") as handle:
        handle.attrs["tile_size"] = SIZE
        group = handle.create_group("test")
        group["row"] = np.array([r for r, _ in test_origins], dtype=np.int64)
        group["col"] = np.array([c for _, c in test_origins], dtype=np.int64)
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
    tiles = _tiles_file(tmp_path / "tiles.h5", [(0, 0), (0, 8), (8, 8)])
    mask = np.zeros((32, 32), dtype=bool)
    for r, c in [(0, 0), (0, 8), (8, 8)]:
        mask[r : r + SIZE, c : c + SIZE] = True
    mask &= truth != 255
    return labels, classes, probabilities, tiles, truth[mask], pred[mask]


def test_scores_equal_sklearn_and_scipy_on_the_test_pixels(rasters) -> None:
    labels, classes, probabilities, tiles, true, pred = rasters
    scores = score_products(labels, tiles, {"classes": str(classes), "probs": str(probabilities)})
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
