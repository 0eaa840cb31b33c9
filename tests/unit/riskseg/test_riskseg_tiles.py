"""Spatially blocked tiling of a risk scene into HDF5 (atmo.riskseg.tiles)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from riskseg_helpers import write_raster

from atmo.errors import InputError
from atmo.io.geotiff import inspect_geotiff, read_geotiff
from atmo.riskseg import LABEL_NODATA
from atmo.riskseg.tiles import (
    SPLITS,
    TilingSettings,
    assign_blocks,
    build_tiles,
    split_sizes,
    tile_blocks,
    tile_origins,
)

SETTINGS = TilingSettings(tile_size=16, block_tiles=2, max_nodata_fraction=0.5)


def test_tile_origins_cover_whole_tiles_only() -> None:
    origins = tile_origins(40, 50, 16)
    assert origins.tolist() == [[0, 0], [0, 16], [0, 32], [16, 0], [16, 16], [16, 32]]


def test_tiles_in_one_block_share_its_id_and_neighbouring_blocks_differ() -> None:
    origins = tile_origins(64, 64, 16)
    blocks = tile_blocks(origins, 16, 2, 64).reshape(4, 4)
    assert blocks.tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]


@pytest.mark.parametrize(("n_blocks", "sizes"), [(16, (10, 3, 3)), (3, (1, 1, 1)), (5, (3, 1, 1)), (2, None)])
def test_split_sizes_give_every_split_a_block(n_blocks: int, sizes) -> None:
    assert split_sizes(n_blocks, 0.2, 0.2) == sizes


def test_assign_blocks_prefers_splits_with_the_scene_class_balance() -> None:
    # Blocks 0-2 hold all of class 1; a balanced split must give val and test one of them each.
    counts = np.array([[90, 10, 0], [90, 10, 0], [90, 10, 0]] + [[100, 0, 0]] * 7)
    split = assign_blocks(counts, (6, 2, 2), seed=0, trials=64)
    assert sorted(np.bincount(split, minlength=3).tolist()) == [2, 2, 6]
    assert sorted(split[:3].tolist()) == [0, 1, 2]
    np.testing.assert_array_equal(split, assign_blocks(counts, (6, 2, 2), seed=0, trials=64))


@pytest.fixture
def tiled(scene_pair: tuple[Path, Path], tmp_path: Path) -> tuple[Path, dict, tuple[Path, Path]]:
    h5_path = tmp_path / "tiles/tiles.h5"
    summary = build_tiles(*scene_pair, h5_path, tmp_path / "tiles/summary.json", SETTINGS, seed=0)
    return h5_path, summary, scene_pair


def test_no_tile_and_no_block_is_in_two_splits(tiled) -> None:
    h5_path, summary, _ = tiled
    seen_tiles, seen_blocks = set(), {}
    with h5py.File(h5_path) as handle:
        for split in SPLITS:
            tiles = set(zip(handle[f"{split}/row"][:].tolist(), handle[f"{split}/col"][:].tolist(), strict=True))
            assert tiles and not tiles & seen_tiles
            seen_tiles |= tiles
            for block in handle[f"{split}/block"][:].tolist():
                assert seen_blocks.setdefault(block, split) == split
            assert len(tiles) == summary["splits"][split]["n_tiles"]


def test_layout_dtypes_and_georeferencing_attrs(tiled) -> None:
    h5_path, _, (scene_path, _) = tiled
    scene = inspect_geotiff(scene_path)
    with h5py.File(h5_path) as handle:
        n = handle["train/image"].shape[0]
        assert handle["train/image"].shape == (n, scene.count, 16, 16) and handle["train/image"].dtype == np.float32
        assert handle["train/label"].shape == (n, 16, 16) and handle["train/label"].dtype == np.uint8
        assert list(handle.attrs["band_names"].astype(str)) == scene.band_names
        assert handle.attrs["crs_wkt"] == scene.crs.to_wkt()
        assert tuple(handle.attrs["transform"]) == scene.transform.to_gdal()
        assert handle.attrs["label_nodata"] == LABEL_NODATA


def test_tiles_are_the_scene_windows_normalised_with_train_statistics(tiled) -> None:
    h5_path, _, (scene_path, labels_path) = tiled
    bands, label = read_geotiff(scene_path), read_geotiff(labels_path)[0]
    with h5py.File(h5_path) as handle:
        mean, std = handle.attrs["mean"], handle.attrs["std"]
        train = handle["train/image"][:]
        train_valid = handle["train/label"][:] != LABEL_NODATA
        pixels = train.transpose(1, 0, 2, 3)[:, train_valid]
        np.testing.assert_allclose(pixels.mean(axis=1), 0.0, atol=1e-4)
        np.testing.assert_allclose(pixels.std(axis=1), 1.0, atol=1e-4)
        for split in SPLITS:
            image, tile_label = handle[f"{split}/image"][:], handle[f"{split}/label"][:]
            for i, (row, col) in enumerate(zip(handle[f"{split}/row"], handle[f"{split}/col"], strict=True)):
                window = np.s_[row : row + 16, col : col + 16]
                np.testing.assert_array_equal(tile_label[i], label[window])
                valid = tile_label[i] != LABEL_NODATA
                expected = (bands[(slice(None), *window)] - mean[:, None, None]) / std[:, None, None]
                np.testing.assert_allclose(image[i][:, valid], expected[:, valid], atol=1e-5)
                assert (image[i][:, ~valid] == 0).all()


def test_summary_matches_the_written_labels(tiled) -> None:
    h5_path, summary, _ = tiled
    on_disk = json.loads(h5_path.with_name("summary.json").read_text())
    assert on_disk == summary
    with h5py.File(h5_path) as handle:
        for split in SPLITS:
            label = handle[f"{split}/label"][:]
            counts = np.bincount(label[label != LABEL_NODATA], minlength=3)
            entry = summary["splits"][split]
            assert entry["valid_pixels"] == counts.sum()
            assert [entry["class_fractions"][str(c)] for c in range(3)] == pytest.approx(counts / counts.sum())
            assert entry["class_fractions"]["1"] > 0, "the balanced split keeps the rare class in every split"


def test_mostly_nodata_tiles_are_dropped(scene_pair: tuple[Path, Path], tmp_path: Path) -> None:
    scene_path, labels_path = scene_pair
    label = read_geotiff(labels_path)[0]
    label[:32, :32] = LABEL_NODATA  # four tiles all nodata
    # one tile of the interior the scene's nodata blob misses, made exactly half nodata: kept
    row, col = next((r, c) for r in (32, 48, 64) for c in (32, 48, 64) if (label[r : r + 16, c : c + 16] != 255).all())
    label[row : row + 16, col : col + 8] = LABEL_NODATA
    write_raster(labels_path, label, nodata=LABEL_NODATA)
    summary = build_tiles(scene_path, labels_path, tmp_path / "t.h5", tmp_path / "s.json", SETTINGS, seed=0)
    assert summary["n_tiles_grid"] == 36
    with h5py.File(tmp_path / "t.h5") as handle:
        kept = {(r, c) for split in SPLITS for r, c in zip(handle[f"{split}/row"], handle[f"{split}/col"], strict=True)}
        for split in SPLITS:
            nodata = (handle[f"{split}/label"][:] == LABEL_NODATA).mean(axis=(1, 2))
            assert (nodata <= SETTINGS.max_nodata_fraction).all()
    assert not kept & {(0, 0), (0, 16), (16, 0), (16, 16)}
    assert (row, col) in kept
    assert summary["n_tiles_dropped_nodata"] == 36 - len(kept) >= 4


def test_same_inputs_and_seed_give_identical_files(scene_pair: tuple[Path, Path], tmp_path: Path) -> None:
    outputs = []
    for run in range(2):
        build_tiles(*scene_pair, tmp_path / f"{run}.h5", tmp_path / f"{run}.json", SETTINGS, seed=4)
        outputs.append((tmp_path / f"{run}.h5").read_bytes())
    assert outputs[0] == outputs[1]


def test_a_scene_too_small_for_three_blocks_fails_before_writing(scene_pair: tuple[Path, Path], tmp_path: Path) -> None:
    settings = TilingSettings(tile_size=48, block_tiles=2)
    with pytest.raises(InputError, match=r"give 1 blocks .* train, val and test need one each") as caught:
        build_tiles(*scene_pair, tmp_path / "out/t.h5", tmp_path / "out/s.json", settings, seed=0)
    assert caught.value.path == str(scene_pair[0])
    assert not (tmp_path / "out").exists()


def test_tiling_validates_its_inputs_first(scene_pair: tuple[Path, Path], tmp_path: Path) -> None:
    scene_path, labels_path = scene_pair
    write_raster(labels_path, read_geotiff(labels_path)[0][:, :-1], nodata=LABEL_NODATA)
    with pytest.raises(InputError, match=r"shape .* differs"):
        build_tiles(scene_path, labels_path, tmp_path / "out/t.h5", tmp_path / "out/s.json", SETTINGS, seed=0)
    assert not (tmp_path / "out").exists()
