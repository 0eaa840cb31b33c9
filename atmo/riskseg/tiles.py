"""Cut a risk scene into tiles with a spatially blocked train/val/test split, stored in HDF5.

Neighbouring pixels of a raster are strongly correlated, so a random tile split lets a model see
the surroundings of every test tile during training and overstates its skill. Tiles are therefore
grouped into square blocks of ``block_tiles x block_tiles`` tiles, and whole blocks go to one split.
Among ``balance_trials`` seeded block permutations the one whose splits best match the scene's
class distribution is kept, so that the rare class 1 is present in validation and test too.

Tiles whose nodata fraction exceeds ``max_nodata_fraction`` are dropped. Images are normalised
with per-band mean and standard deviation of the valid pixels of the *training* tiles only (no
information from val/test leaks into the inputs); nodata pixels become 0 in the image and
:data:`~atmo.riskseg.LABEL_NODATA` in the label.

HDF5 layout, one group per split (``train``, ``val``, ``test``)::

    <split>/image  (N, C, h, w) float32   normalised covariates
    <split>/label  (N, h, w)    uint8     classes 0, 1, 2; 255 = nodata
    <split>/row    (N,)         int64     pixel row of the tile's top-left corner in the scene
    <split>/col    (N,)         int64     pixel column of the tile's top-left corner
    <split>/block  (N,)         int64     spatial block id (row-major over the block grid)
    attrs: band_names, mean, std (per band, train split), tile_size, block_tiles, label_nodata,
           scene_height, scene_width, crs_wkt, transform (GDAL order, 6 numbers), seed
"""

from __future__ import annotations

import logging
import os
from typing import Any

import h5py
import numpy as np

from atmo.errors import InputError
from atmo.io.atomic import atomic_path, write_json
from atmo.io.geotiff import GeoTiffWindows, RasterInfo, read_geotiff
from atmo.riskseg import CLASSES, LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.scene import check_scene_pair
from atmo.settings import settings_block

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class TilingSettings(settings_block("riskseg", "tiles")):
    """The ``riskseg.tiles`` config block, one field per key (see the schema for meanings)."""


def tile_origins(height: int, width: int, tile_size: int) -> np.ndarray:
    """Top-left ``(row, col)`` of every whole non-overlapping tile, row-major, ``(N, 2)`` int64."""
    rows = np.arange(0, height - tile_size + 1, tile_size)
    cols = np.arange(0, width - tile_size + 1, tile_size)
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2).astype(np.int64)


def tile_blocks(origins: np.ndarray, tile_size: int, block_tiles: int, width: int) -> np.ndarray:
    """Block id of each tile, ``(N,)``: row-major over a grid of ``block_tiles``-tile squares."""
    block_px = tile_size * block_tiles
    n_block_cols = -(-width // block_px)
    return origins[:, 0] // block_px * n_block_cols + origins[:, 1] // block_px


def label_counts(label: np.ndarray) -> np.ndarray:
    """Pixel counts of classes 0, 1, 2 in ``label`` (nodata ignored), ``(3,)`` int64."""
    return np.bincount(label[label != LABEL_NODATA].ravel(), minlength=len(CLASSES))[: len(CLASSES)]


def split_sizes(n_blocks: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int] | None:
    """Blocks per split (train, val, test), each at least one; ``None`` if that is impossible."""
    n_val = max(1, round(val_fraction * n_blocks))
    n_test = max(1, round(test_fraction * n_blocks))
    n_train = n_blocks - n_val - n_test
    return (n_train, n_val, n_test) if n_train >= 1 else None


def assign_blocks(block_counts: np.ndarray, sizes: tuple[int, int, int], seed: int, trials: int) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) per block, ``(B,)``, from ``block_counts`` ``(B, 3)``.

    Tries ``trials`` seeded permutations and keeps the one minimising the worst relative deviation
    ``max_{split, class} |p_split,c - p_c| / p_c`` of the per-split class fractions from the scene's.
    """
    total = block_counts.sum(axis=0)
    overall = total / total.sum()
    present = overall > 0
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(SPLITS)), sizes)
    best, best_score = labels, np.inf
    for _ in range(trials):
        candidate = labels[rng.permutation(len(labels))]
        split_counts = np.stack([block_counts[candidate == s].sum(axis=0) for s in range(len(SPLITS))])
        fractions = split_counts / np.maximum(split_counts.sum(axis=1, keepdims=True), 1)
        score = np.max(np.abs(fractions[:, present] - overall[present]) / overall[present])
        if score < best_score:
            best, best_score = candidate, score
    return best


def invalid_mask(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """``(h, w)`` True where the label is nodata or any band is nodata or not finite."""
    return (label == LABEL_NODATA) | ~np.isfinite(image).all(axis=0) | (image == SCENE_NODATA).any(axis=0)


def band_statistics(
    reader: GeoTiffWindows, labels: np.ndarray, origins: np.ndarray, tile_size: int, n_bands: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and std ``(C,)`` over the valid pixels of the tiles at ``origins``.

    Accumulated in float64 tile by tile, so the scene is never held in memory at once.
    """
    count, total, total_sq = 0, np.zeros(n_bands), np.zeros(n_bands)
    for row, col in origins:
        image = reader.read(row, col, tile_size, tile_size).astype(np.float64)
        pixels = image[:, ~invalid_mask(image, labels[row : row + tile_size, col : col + tile_size])]
        count += pixels.shape[1]
        total += pixels.sum(axis=1)
        total_sq += (pixels**2).sum(axis=1)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    if (std == 0).any():
        log.warning("band(s) %s are constant over the training tiles; using std 1", np.flatnonzero(std == 0))
    return mean, np.where(std > 0, std, 1.0)


def select_tiles(labels: np.ndarray, tile_size: int, max_nodata_fraction: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Tiles with at most ``max_nodata_fraction`` nodata: origins ``(N, 2)``, class counts ``(N, 3)``.

    The third value is the number of tiles in the full grid (kept and dropped).
    """
    origins = tile_origins(*labels.shape, tile_size)
    tiles = [labels[row : row + tile_size, col : col + tile_size] for row, col in origins]
    keep = np.array([np.mean(tile == LABEL_NODATA) <= max_nodata_fraction for tile in tiles], dtype=bool)
    counts = np.array([label_counts(tile) for tile, kept in zip(tiles, keep, strict=True) if kept]).reshape(
        -1, len(CLASSES)
    )
    return origins[keep], counts, len(origins)


def build_tiles(
    scene_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    h5_path: str | os.PathLike[str],
    summary_path: str | os.PathLike[str],
    settings: TilingSettings,
    seed: int,
) -> dict[str, Any]:
    """Tile the scene, split by blocks, normalise, write ``h5_path`` and the JSON summary.

    Returns the summary: per split the tile, block and valid-pixel counts and the class fractions.
    """
    scene, labels_info = check_scene_pair(scene_path, labels_path)
    _check_standard_form(scene, labels_info)
    size = settings.tile_size
    labels = read_geotiff(labels_info.path)[0]

    origins, counts, n_grid = select_tiles(labels, size, settings.max_nodata_fraction)
    blocks = tile_blocks(origins, size, settings.block_tiles, scene.width)
    block_ids, block_index = np.unique(blocks, return_inverse=True)
    sizes = split_sizes(len(block_ids), settings.val_fraction, settings.test_fraction)
    if sizes is None:
        raise InputError(
            scene.path,
            f"{scene.shape} px give {len(block_ids)} blocks of {settings.block_tiles}x{settings.block_tiles} tiles"
            f" of {size} px with data; train, val and test need one each: use smaller tiles or blocks",
        )
    block_counts = np.stack([counts[block_index == b].sum(axis=0) for b in range(len(block_ids))])
    split_of_tile = assign_blocks(block_counts, sizes, seed, settings.balance_trials)[block_index]
    log.info("%d of %d tiles kept (others mostly nodata) in %d blocks", len(origins), n_grid, len(block_ids))

    with GeoTiffWindows(scene.path) as reader:
        mean, std = band_statistics(reader, labels, origins[split_of_tile == 0], size, scene.count)
        with atomic_path(h5_path) as tmp, h5py.File(tmp, "w") as handle:
            _write_attrs(handle, scene, settings, seed, mean, std)
            splits = {
                split: _write_split(
                    handle.create_group(split),
                    reader,
                    labels,
                    origins[split_of_tile == index],
                    blocks[split_of_tile == index],
                    size,
                    mean,
                    std,
                )
                for index, split in enumerate(SPLITS)
            }

    summary = {
        "scene": scene.path,
        "tile_size": size,
        "block_tiles": settings.block_tiles,
        "max_nodata_fraction": settings.max_nodata_fraction,
        "seed": seed,
        "n_tiles_grid": n_grid,
        "n_tiles_dropped_nodata": n_grid - len(origins),
        "band_names": scene.band_names,
        "train_mean": mean.tolist(),
        "train_std": std.tolist(),
        "splits": splits,
    }
    write_json(summary_path, summary)
    return summary


def _check_standard_form(scene: RasterInfo, labels: RasterInfo) -> None:
    """The tiler relies on the nodata values that :mod:`atmo.riskseg.scene` writes."""
    if scene.nodata is not None and scene.nodata != SCENE_NODATA:
        raise InputError(scene.path, f"nodata {scene.nodata}, expected {SCENE_NODATA} (riskseg_scene's standard form)")
    if labels.nodata is not None and labels.nodata != LABEL_NODATA:
        raise InputError(
            labels.path, f"nodata {labels.nodata}, expected {LABEL_NODATA} (riskseg_scene's standard form)"
        )


def _write_attrs(
    handle: h5py.File, scene: RasterInfo, settings: TilingSettings, seed: int, mean: np.ndarray, std: np.ndarray
) -> None:
    handle.attrs.update(
        {
            "band_names": np.array(scene.band_names, dtype=h5py.string_dtype()),
            "mean": mean,
            "std": std,
            "tile_size": settings.tile_size,
            "block_tiles": settings.block_tiles,
            "label_nodata": LABEL_NODATA,
            "scene_height": scene.height,
            "scene_width": scene.width,
            "crs_wkt": scene.crs.to_wkt(),
            "transform": np.array(scene.transform.to_gdal()),
            "seed": seed,
        }
    )


def _write_split(
    group: h5py.Group,
    reader: GeoTiffWindows,
    labels: np.ndarray,
    origins: np.ndarray,
    blocks: np.ndarray,
    size: int,
    mean: np.ndarray,
    std: np.ndarray,
) -> dict[str, Any]:
    """Write one split's normalised tiles, one HDF5 chunk per tile; return its summary entry."""
    n, n_bands = len(origins), len(mean)
    image = group.create_dataset("image", (n, n_bands, size, size), dtype="f4", chunks=(1, n_bands, size, size))
    label = group.create_dataset("label", (n, size, size), dtype="u1", chunks=(1, size, size), compression="gzip")
    group.create_dataset("row", data=origins[:, 0])
    group.create_dataset("col", data=origins[:, 1])
    group.create_dataset("block", data=blocks)
    counts = np.zeros(len(CLASSES), dtype=np.int64)
    for i, (row, col) in enumerate(origins):
        raw = reader.read(row, col, size, size).astype(np.float64)
        tile_label = labels[row : row + size, col : col + size].copy()
        invalid = invalid_mask(raw, tile_label)
        normalised = (raw - mean[:, None, None]) / std[:, None, None]
        normalised[:, invalid] = 0.0
        tile_label[invalid] = LABEL_NODATA
        image[i] = normalised.astype(np.float32)
        label[i] = tile_label
        counts += label_counts(tile_label)
    return {
        "n_tiles": n,
        "n_blocks": len(np.unique(blocks)),
        "valid_pixels": int(counts.sum()),
        "class_fractions": {str(c): float(counts[c] / max(counts.sum(), 1)) for c in CLASSES},
    }
