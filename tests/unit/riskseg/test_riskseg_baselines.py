"""The pixel baselines: features that do not depend on the window, fits that never see a test label,
and probability rasters in the products' form (atmo.riskseg.smoothing, .features, .baselines)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from atmo.errors import ConfigError
from atmo.io.geotiff import GeoTiffWindows, inspect_geotiff, read_geotiff
from atmo.io.metrics_json import read_json_object
from atmo.riskseg import CLASSES, SCENE_NODATA
from atmo.riskseg.baselines import BaselineSettings, write_baseline
from atmo.riskseg.features import feature_names, margin_px, window_features
from atmo.riskseg.smoothing import masked_mean, masked_std
from atmo.riskseg.synthetic.scene import BAND_NAMES
from atmo.riskseg.tiles import TilingSettings, build_tiles

TILING = TilingSettings(tile_size=16, block_tiles=1)
RADII = (2.0, 4.0)


@pytest.fixture
def tiled(scene_pair: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """The small synthetic scene and its tiles file (16-px tiles, one per block)."""
    scene, labels = scene_pair
    build_tiles(scene, labels, tmp_path / "tiles.h5", tmp_path / "tiles.json", TILING, seed=0)
    return scene, tmp_path / "tiles.h5"


def test_masked_mean_weights_only_valid_pixels() -> None:
    rng = np.random.default_rng(0)
    values, valid = rng.normal(size=(40, 50)), rng.random((40, 50)) > 0.3
    garbage = np.where(valid, values, 1e6)
    mean = masked_mean(garbage, valid, 3.0)
    weight = gaussian_filter(valid.astype(float), 3.0, mode="constant")
    np.testing.assert_allclose(mean, gaussian_filter(np.where(valid, values, 0.0), 3.0, mode="constant") / weight)
    np.testing.assert_allclose(masked_mean(np.full((20, 20), 2.5), np.ones((20, 20), bool), 4.0), 2.5)
    np.testing.assert_allclose(masked_std(np.full((20, 20), 2.5), np.ones((20, 20), bool), 4.0), 0.0, atol=1e-6)


def test_masked_std_is_the_weighted_standard_deviation_around_a_pixel() -> None:
    rng = np.random.default_rng(1)
    values, valid = rng.normal(size=(41, 41)), np.ones((41, 41), bool)
    offsets = np.arange(-16, 17)
    kernel = np.exp(-0.5 * (offsets[:, None] ** 2 + offsets[None] ** 2) / 2.0**2)
    patch = values[20 - 16 : 20 + 17, 20 - 16 : 20 + 17]
    mean = np.sum(kernel * patch) / kernel.sum()
    expected = np.sqrt(np.sum(kernel * (patch - mean) ** 2) / kernel.sum())
    assert masked_std(values, valid, 2.0)[20, 20] == pytest.approx(expected, rel=1e-3)


def test_window_features_equal_the_whole_scenes_whatever_the_window(tiled: tuple[Path, Path]) -> None:
    scene, _ = tiled
    info = inspect_geotiff(scene)
    mean, std = np.zeros(info.count), np.ones(info.count)
    with GeoTiffWindows(scene) as reader:
        whole, whole_valid = window_features(reader, info.shape, (0, 0, *info.shape), mean, std, RADII)
        for window in ((0, 0, 16, 16), (37, 50, 23, 30), (80, 80, 16, 16)):
            part, part_valid = window_features(reader, info.shape, window, mean, std, RADII)
            row, col, h, w = window
            np.testing.assert_allclose(part, whole[:, row : row + h, col : col + w], rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(part_valid, whole_valid[row : row + h, col : col + w])
    assert len(whole) == len(feature_names(BAND_NAMES, RADII)) == len(BAND_NAMES) * (1 + 2 * len(RADII))
    assert margin_px(()) == 0 and margin_px(RADII) == 17


@pytest.mark.parametrize(
    "settings",
    [
        BaselineSettings(method="logistic", c_grid=(0.1, 1.0)),
        BaselineSettings(method="hgb", radii_px=RADII, max_iter=15),
    ],
    ids=["pixel-logistic", "multiscale-hgb"],
)
def test_a_baseline_never_reads_a_test_label(tiled: tuple[Path, Path], tmp_path: Path, settings) -> None:
    """Scrambling every test label of the tiles file leaves the fitted probabilities unchanged; scrambling
    the training labels (the control) changes them."""
    scene, tiles = tiled
    fitted = {}
    for scrambled in (None, "test", "train"):
        path = tmp_path / f"{scrambled}.h5"
        shutil.copy(tiles, path)
        if scrambled is not None:
            with h5py.File(path, "r+") as handle:
                labels = handle[f"{scrambled}/label"]
                labels[...] = np.random.default_rng(9).integers(0, 3, size=labels.shape, dtype=np.uint8)
        out = tmp_path / f"{scrambled}.tif"
        write_baseline(scene, path, settings, 0, out, tmp_path / f"{scrambled}.json")
        fitted[scrambled] = read_geotiff(out)
    np.testing.assert_array_equal(fitted[None], fitted["test"])
    assert not np.array_equal(fitted[None], fitted["train"])


def test_a_baseline_writes_probabilities_like_a_models(tiled: tuple[Path, Path], tmp_path: Path) -> None:
    scene, tiles = tiled
    out, record_path = tmp_path / "p.tif", tmp_path / "p.json"
    settings = BaselineSettings(method="logistic", radii_px=RADII, max_train_pixels=500, c_grid=(0.01, 1.0))
    write_baseline(scene, tiles, settings, 0, out, record_path)
    info, probabilities = inspect_geotiff(out), read_geotiff(out)
    assert (info.count, info.nodata, info.band_names) == (3, SCENE_NODATA, ["p_low", "p_medium", "p_high"])
    assert info.transform == inspect_geotiff(scene).transform
    valid = (read_geotiff(scene) != SCENE_NODATA).all(axis=0)
    np.testing.assert_allclose(probabilities[:, valid].sum(axis=0), 1.0, atol=1e-5)
    assert (probabilities[:, ~valid] == SCENE_NODATA).all()
    record = read_json_object(record_path, "fit record")
    assert record["C"] in (0.01, 1.0) and set(record["validation_log_loss"]) == {"0.01", "1"}
    assert record["n_train_pixels"] <= 600 and len(record["train_class_counts"]) == len(CLASSES)
    assert record["features"] == feature_names(BAND_NAMES, RADII)


@pytest.mark.parametrize(
    ("change", "key"),
    [({"method": "forest"}, "method"), ({"radii_px": (0.0,)}, "radii_px"), ({"c_grid": ()}, "c_grid")],
)
def test_impossible_baseline_settings_name_the_key(change: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        BaselineSettings(**change)
