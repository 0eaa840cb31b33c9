"""Oversample the rare class 1 (medium risk) in the training tiles: duplication, then SMOTE.

Class 1 covers only a few per cent of the valid pixels, so a segmentation model trained on the tiles
as cut learns to skip it. Two steps raise its share in the *training* split only; validation and
test are never read or written here, so every score is still measured on the scene's real class
balance.

1. **Duplication.** A tile is *class-1 rich* when at least ``class1_min_share`` of its valid pixels
   are class 1. Rich tiles are repeated round-robin (tile order, deterministic) until class 1 is
   ``duplicate_target_fraction`` of all valid training pixels; none is added if it already is.
2. **SMOTE** (``smote``). :class:`imblearn.over_sampling.SMOTE` is fitted on one small descriptor
   per tile (per-band mean and std over the valid pixels, then the three class shares; see
   :func:`tile_descriptor`), minority = the rich *original* tiles (duplicates would only weight
   SMOTE's choice of seeds towards tiles that are already repeated), majority = all other original
   tiles. It returns synthetic descriptors ``x_new = x_i + λ (x_j - x_i)`` between a rich tile ``i``
   and one of its ``k_neighbors`` nearest rich neighbours ``j``; :func:`smote_parents` recovers
   ``(i, j, λ)`` for each by projecting ``x_new`` onto every ``(i, neighbour)`` segment of SMOTE's
   fitted neighbour graph (``nn_k_``) and keeping the segment with the smallest residual (SMOTE's
   own arithmetic, so the residual of the true segment is at rounding level). The number of
   synthetic tiles is estimated from the mean class-1 and valid pixels per rich tile so that class 1
   reaches about ``target_fraction`` (within about one tile's worth of pixels).

**Label-valid rule.** The synthetic *tile* is not an interpolation of its parents: interpolating the
labels of a class-0 and a class-2 pixel and rounding would give class 1 where neither parent has it,
inventing exactly the class we want the model to learn honestly. Every pixel instead takes both its
label and all its band values from one parent, so each synthetic pixel is a real (pixel, label) pair.
Which parent is chosen is a smooth random mask (Gaussian-smoothed white noise with correlation
``mask_correlation_px``, seeded per synthetic tile) thresholded so that exactly ``round(λ h w)``
pixels come from parent ``j``: regions are contiguous, so the tile looks like a plausible patchwork
of two real tiles rather than salt-and-pepper noise. Nodata pixels (label 255, image 0) stay nodata
because they come with their parent.

**Bounded memory.** Tiles are streamed from HDF5 in chunks of at most ``_CHUNK_BYTES``; only the
per-tile class counts and descriptors (a few numbers per tile) are kept for the whole split, and the
output is written tile by tile. No dense (tiles x pixels) matrix is ever built.

Errors: a training split without any valid pixel, or without any class-1 pixel, is an
:class:`~atmo.errors.InputError` (the data cannot be oversampled). Settings that the data cannot
satisfy are a :class:`~atmo.errors.ConfigError` naming the key to change: no rich tile at all while
duplication or SMOTE is needed (``class1_min_share``), fewer than ``k_neighbors + 1`` rich tiles with
``smote`` on (always checked, whether or not synthetic tiles turn out to be needed), or a target
above the class-1 share of the rich tiles themselves, which adding copies or blends of rich tiles
can never exceed (``duplicate_target_fraction`` / ``target_fraction``).

HDF5 layout written (group ``train`` only; originals first, then duplicates, then synthetic)::

    train/image     (N, C, h, w) float32  one chunk per tile, as in atmo.riskseg.tiles
    train/label     (N, h, w)    uint8    one chunk per tile, gzip; 255 = nodata
    train/source    (N,)         int8     0 original, 1 duplicate, 2 synthetic
    train/parent_a  (N,)         int64    original train tile the data comes from (itself for an
                                          original, the copied tile for a duplicate, i for synthetic)
    train/parent_b  (N,)         int64    second parent j of a synthetic tile, -1 otherwise
    train/lambda    (N,)         float32  SMOTE's λ: share of the pixels taken from parent_b (0 if none)
    attrs: the tiles file's root attrs (band_names, mean, std, ...) and the train group's attrs,
           plus ``oversampling`` (the settings as JSON) on the group
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from typing import Any

import h5py
import numpy as np
from imblearn.over_sampling import SMOTE
from scipy.ndimage import gaussian_filter

from atmo.errors import ConfigError, InputError
from atmo.io.atomic import atomic_path, write_json
from atmo.riskseg import CLASSES, LABEL_NODATA
from atmo.settings import Check, settings_block

log = logging.getLogger(__name__)

SOURCE_ORIGINAL, SOURCE_DUPLICATE, SOURCE_SYNTHETIC = 0, 1, 2
_CHUNK_BYTES = 64 * 2**20  # image bytes read at once when streaming the training tiles
_PROJECTION_ELEMENTS = 2**22  # floats per block when matching synthetic descriptors to SMOTE segments


class OversamplingSettings(settings_block("riskseg", "oversampling.*")):
    """One ``riskseg.oversampling`` scheme, one field per key (see the module docstring)."""

    def cross_checks(self) -> list[Check]:
        return [
            (
                "target_fraction",
                not self.smote or self.target_fraction >= self.duplicate_target_fraction,
                f"expected >= duplicate_target_fraction ({self.duplicate_target_fraction}) when smote is on",
            )
        ]


def tile_counts(label: np.ndarray) -> np.ndarray:
    """Pixel counts of classes 0, 1, 2 per tile of ``label`` ``(n, h, w)``, nodata ignored: ``(n, 3)`` int64."""
    return np.stack([(label == c).sum(axis=(1, 2)) for c in CLASSES], axis=1).astype(np.int64)


def tile_descriptor(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """SMOTE's view of each tile: ``(n, 2 C + 3)`` float64 for ``image (n, C, h, w)``, ``label (n, h, w)``.

    Per-band mean and std over the valid pixels, then the shares of classes 0, 1, 2 among them. The
    images are already normalised per band, so the entries are on comparable scales and SMOTE's
    Euclidean neighbours are meaningful without further scaling. A tile without valid pixels gets
    zeros (it can only be a majority tile).
    """
    valid = label != LABEL_NODATA
    n_valid = valid.sum(axis=(1, 2)).astype(np.float64)
    denom = np.maximum(n_valid, 1.0)[:, None]
    pixels = np.where(valid[:, None], image.astype(np.float64), 0.0)
    mean = pixels.sum(axis=(2, 3)) / denom
    mean_sq = (pixels**2).sum(axis=(2, 3)) / denom
    std = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
    shares = tile_counts(label) / denom
    return np.concatenate([mean, std, shares], axis=1)


def rich_tiles(counts: np.ndarray, class1_min_share: float) -> np.ndarray:
    """``(n,)`` bool: tiles with valid pixels of which at least ``class1_min_share`` are class 1."""
    valid = counts.sum(axis=1)
    return (valid > 0) & (counts[:, 1] >= class1_min_share * valid)


def duplicate_schedule(counts: np.ndarray, rich: np.ndarray, target: float) -> np.ndarray:
    """Original tile indices to append, round-robin over the rich tiles, until class 1 is ``target``.

    Returns the shortest such prefix of ``rich, rich, ...`` (empty if the share is already there).
    Whole cycles that cannot reach the target are skipped arithmetically, so the cost does not grow
    with the number of duplicates. The caller guarantees that the rich tiles' own class-1 share is
    above ``target`` (otherwise no number of copies reaches it).
    """
    total = counts.sum(axis=0)
    slack = float(total[1]) - target * float(total.sum())  # >= 0 once the target is reached
    if slack >= 0:
        return np.zeros(0, dtype=np.int64)
    order = np.flatnonzero(rich)
    gain = counts[order, 1] - target * counts[order].sum(axis=1)  # slack added by one copy of each tile
    per_cycle = float(gain.sum())
    if len(order) == 0 or per_cycle <= 0:
        raise ValueError("the rich tiles cannot reach the target share; check reachability first")
    best_partial = max(float(np.cumsum(gain).max()), 0.0)
    skip = max(math.ceil((-slack - best_partial) / per_cycle) - 1, 0)
    reached = slack + skip * per_cycle + np.cumsum(np.tile(gain, 3))
    first = int(np.argmax(reached >= 0))
    if reached[first] < 0:  # pragma: no cover - excluded by the choice of skip
        raise RuntimeError("duplication schedule did not converge")
    n_duplicates = skip * len(order) + first + 1
    return order[np.arange(n_duplicates) % len(order)]


def synthetic_count(counts_after: np.ndarray, rich_counts: np.ndarray, target: float) -> int:
    """Synthetic tiles needed for class 1 to reach ``target`` of the valid pixels, estimated.

    ``counts_after`` ``(3,)``: the class counts after duplication; ``rich_counts`` ``(R, 3)``: those
    of the rich original tiles. A synthetic tile is a mix of two rich tiles, so it is expected to add
    the mean class-1 and valid pixels of a rich tile; the estimate solves
    ``(c1 + n m1) / (V + n mv) >= target`` for the smallest ``n``.
    """
    need = target * float(counts_after.sum()) - float(counts_after[1])
    if need <= 0:
        return 0
    per_tile = float(rich_counts[:, 1].mean()) - target * float(rich_counts.sum(axis=1).mean())
    if per_tile <= 0:
        raise ValueError("the rich tiles cannot reach the target share; check reachability first")
    return math.ceil(need / per_tile - 1e-9)


def smote_parents(
    descriptors: np.ndarray, rich: np.ndarray, n_synthetic: int, k_neighbors: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run SMOTE on the tile descriptors and recover each synthetic sample's two parents.

    ``descriptors`` ``(n, D)`` of the original tiles, ``rich`` ``(n,)`` bool marks the minority.
    Returns ``parent_a``, ``parent_b`` (indices into the original tiles), ``lam`` ``(n_synthetic,)``
    and SMOTE's synthetic descriptors ``(n_synthetic, D)``, with
    ``x_new ≈ x[parent_a] + lam (x[parent_b] - x[parent_a])``.

    SMOTE does not report which pair it interpolated. Each ``x_new`` lies on a segment from a rich
    tile to one of its neighbours in ``nn_k_`` (the neighbour graph SMOTE built and used), so it is
    projected onto every such segment (λ clipped to [0, 1]) and the segment with the smallest
    residual wins. Identical descriptors make the choice ambiguous but never wrong: any segment
    with zero residual gives a valid parent pair.
    """
    rich_index = np.flatnonzero(rich)
    y = rich.astype(np.int64)
    if not (y == 0).any():
        # imblearn needs two classes; a majority can only be absent when no oversampling is needed.
        raise ValueError("SMOTE needs at least one non-rich tile")
    smote = SMOTE(sampling_strategy={1: len(rich_index) + n_synthetic}, k_neighbors=k_neighbors, random_state=seed)
    x_res, _ = smote.fit_resample(descriptors.astype(np.float64), y)
    x_new = np.asarray(x_res[len(descriptors) :], dtype=np.float64)
    x_min = descriptors[rich_index].astype(np.float64)
    neighbours = smote.nn_k_.kneighbors(x_min, return_distance=False)[:, 1:]
    seg_from = np.repeat(np.arange(len(x_min)), neighbours.shape[1])
    seg_to = neighbours.ravel()
    start, direction = x_min[seg_from], x_min[seg_to] - x_min[seg_from]
    length_sq = (direction**2).sum(axis=1)
    block = max(1, _PROJECTION_ELEMENTS // max(start.size, 1))
    best = np.empty(len(x_new), dtype=np.int64)
    lam = np.empty(len(x_new), dtype=np.float64)
    for lo in range(0, len(x_new), block):
        offset = x_new[lo : lo + block, None, :] - start[None]  # (b, segments, D)
        along = np.einsum("bsd,sd->bs", offset, direction) / np.where(length_sq > 0, length_sq, 1.0)
        along = np.clip(np.where(length_sq > 0, along, 0.0), 0.0, 1.0)
        residual = ((offset - along[..., None] * direction[None]) ** 2).sum(axis=2)
        pick = residual.argmin(axis=1)
        best[lo : lo + block] = pick
        lam[lo : lo + block] = along[np.arange(len(pick)), pick]
    return rich_index[seg_from[best]], rich_index[seg_to[best]], lam, x_new


def parent_mask(shape: tuple[int, int], lam: float, correlation_px: float, rng: np.random.Generator) -> np.ndarray:
    """``(h, w)`` bool, True where the pixel comes from parent b: exactly ``round(lam h w)`` pixels.

    Gaussian-smoothed white noise (sigma ``correlation_px``, wrapped edges) ranked and thresholded,
    so the True pixels form contiguous regions and their share is λ (up to one pixel).
    """
    field = gaussian_filter(rng.standard_normal(shape), sigma=correlation_px, mode="wrap")
    n_b = round(float(lam) * field.size)
    mask = np.zeros(field.size, dtype=bool)
    if n_b:
        mask[np.argsort(field, axis=None, kind="stable")[-n_b:]] = True
    return mask.reshape(shape)


def blend_tiles(
    image_a: np.ndarray, label_a: np.ndarray, image_b: np.ndarray, label_b: np.ndarray, mask_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic tile: label and all bands of each pixel from parent b where ``mask_b``, else from a.

    Never interpolates, so every pixel is a real (bands, label) pair of one parent (see module docstring).
    """
    return np.where(mask_b[None], image_b, image_a), np.where(mask_b, label_b, label_a)


def oversample_tiles(
    tiles_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    summary_path: str | os.PathLike[str],
    settings: OversamplingSettings,
    *,
    where: str | None = None,
) -> dict[str, Any]:
    """Oversample class 1 in the ``train`` split of ``tiles_path``; write ``out_path`` and the JSON summary.

    Returns the summary (also written to ``summary_path``): tile counts per source, the number of
    rich tiles, the class fractions before, after duplication and after SMOTE, and the settings.
    ``where`` is the dotted config path of ``settings`` named in a :class:`ConfigError` (e.g.
    ``riskseg.oversampling.smote`` for a named scheme); default ``settings.WHERE``.
    """
    with h5py.File(tiles_path, "r") as src:
        if "train" not in src or "image" not in src["train"] or "label" not in src["train"]:
            raise InputError(tiles_path, "no train/image and train/label datasets (expected riskseg tiles)")
        image_ds, label_ds = src["train/image"], src["train/label"]
        if image_ds.ndim != 4 or label_ds.shape != (image_ds.shape[0], *image_ds.shape[2:]):
            raise InputError(tiles_path, f"train/image {image_ds.shape} and train/label {label_ds.shape} do not match")
        counts, descriptors = _scan(image_ds, label_ds)
        rich = rich_tiles(counts, settings.class1_min_share)
        _check_data(tiles_path, counts, rich, settings, where or settings.WHERE)

        duplicates = duplicate_schedule(counts, rich, settings.duplicate_target_fraction)
        counts_dup = counts.sum(axis=0) + counts[duplicates].sum(axis=0)
        n_synthetic = synthetic_count(counts_dup, counts[rich], settings.target_fraction) if settings.smote else 0
        if n_synthetic:
            parent_a, parent_b, lam, _ = smote_parents(
                descriptors, rich, n_synthetic, settings.k_neighbors, settings.seed
            )
        else:
            parent_a = parent_b = np.zeros(0, dtype=np.int64)
            lam = np.zeros(0)
        log.info(
            "%d training tiles, %d class-1 rich: +%d duplicates, +%d synthetic (SMOTE)",
            len(counts),
            int(rich.sum()),
            len(duplicates),
            n_synthetic,
        )
        with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as dst:
            counts_syn = _write(src, dst, duplicates, parent_a, parent_b, lam, settings)

    stages = {
        "before": counts.sum(axis=0),
        "after_duplication": counts_dup,
        "after_smote": counts_dup + counts_syn,
    }
    summary = {
        "tiles": str(tiles_path),
        "n_original": len(counts),
        "n_duplicated": len(duplicates),
        "n_synthetic": n_synthetic,
        "n_total": len(counts) + len(duplicates) + n_synthetic,
        "n_rich": int(rich.sum()),
        "valid_pixels": {stage: int(c.sum()) for stage, c in stages.items()},
        "class1_share": {stage: float(c[1] / c.sum()) for stage, c in stages.items()},
        "class_fractions": {stage: {str(k): float(c[k] / c.sum()) for k in CLASSES} for stage, c in stages.items()},
        "settings": dataclasses.asdict(settings),
    }
    log.info(
        "class-1 share %.4f -> %.4f (duplication) -> %.4f (SMOTE)",
        *(summary["class1_share"][stage] for stage in stages),
    )
    write_json(summary_path, summary)
    return summary


def _chunk_tiles(image_ds: h5py.Dataset) -> int:
    """Tiles per streamed chunk: as many as fit in ``_CHUNK_BYTES`` of image, at least one."""
    per_tile = int(np.prod(image_ds.shape[1:])) * image_ds.dtype.itemsize
    return max(1, _CHUNK_BYTES // max(per_tile, 1))


def _scan(image_ds: h5py.Dataset, label_ds: h5py.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Class counts ``(N, 3)`` and descriptors ``(N, 2 C + 3)`` of all tiles, streamed chunk by chunk."""
    n, n_bands = image_ds.shape[:2]
    counts = np.zeros((n, len(CLASSES)), dtype=np.int64)
    descriptors = np.zeros((n, 2 * n_bands + len(CLASSES)))
    step = _chunk_tiles(image_ds)
    for lo in range(0, n, step):
        label = label_ds[lo : lo + step]
        counts[lo : lo + step] = tile_counts(label)
        descriptors[lo : lo + step] = tile_descriptor(image_ds[lo : lo + step], label)
    return counts, descriptors


def _check_data(
    path: str | os.PathLike[str], counts: np.ndarray, rich: np.ndarray, settings: OversamplingSettings, where: str
) -> None:
    """Refuse data that cannot be oversampled and settings this data cannot satisfy (see module docstring)."""
    total = counts.sum(axis=0)
    if total.sum() == 0:
        raise InputError(
            path, f"the {len(counts)} training tiles have no valid pixel (all nodata): nothing to train on"
        )
    if total[1] == 0:
        raise InputError(path, "the training tiles have no class-1 pixel: there is nothing to oversample")
    share = float(total[1] / total.sum())
    min_share = f">= {100 * settings.class1_min_share:g} % class-1 pixels"
    n_rich = int(rich.sum())
    needs_tiles = share < settings.duplicate_target_fraction or (settings.smote and share < settings.target_fraction)
    if n_rich == 0 and needs_tiles:
        raise ConfigError(
            f"invalid config: key '{where}.class1_min_share': no training tile of {path} has {min_share}, so class 1"
            f" ({100 * share:.2f} % of valid pixels) cannot be oversampled: lower {where}.class1_min_share"
        )
    if settings.smote and n_rich < settings.k_neighbors + 1:
        raise ConfigError(
            f"invalid config: key '{where}.k_neighbors': SMOTE with k_neighbors={settings.k_neighbors} needs at least"
            f" {settings.k_neighbors + 1} training tiles with {min_share}; {path} has {n_rich}:"
            f" lower {where}.class1_min_share or k_neighbors"
        )
    rich_share = float(counts[rich, 1].sum() / max(counts[rich].sum(), 1))
    targets = [("duplicate_target_fraction", settings.duplicate_target_fraction)]
    if settings.smote:
        targets.append(("target_fraction", settings.target_fraction))
    for key, target in targets:
        if share < target and rich_share <= target:
            raise ConfigError(
                f"invalid config: key '{where}.{key}': {target} cannot be reached, the {n_rich} rich training tiles"
                f" of {path} are only {100 * rich_share:.2f} % class 1 themselves: lower {where}.{key}"
                f" or raise {where}.class1_min_share"
            )


def _write(
    src: h5py.File,
    dst: h5py.File,
    duplicates: np.ndarray,
    parent_a: np.ndarray,
    parent_b: np.ndarray,
    lam: np.ndarray,
    settings: OversamplingSettings,
) -> np.ndarray:
    """Write the oversampled ``train`` group; return the class counts ``(3,)`` of the synthetic tiles."""
    image_src, label_src = src["train/image"], src["train/label"]
    n_orig, n_bands, height, width = image_src.shape
    n_dup, n_syn = len(duplicates), len(parent_a)
    n = n_orig + n_dup + n_syn
    dst.attrs.update(dict(src.attrs))
    group = dst.create_group("train")
    group.attrs.update(dict(src["train"].attrs))
    group.attrs["oversampling"] = json.dumps(dataclasses.asdict(settings), sort_keys=True)
    image = group.create_dataset("image", (n, n_bands, height, width), dtype="f4", chunks=(1, n_bands, height, width))
    label = group.create_dataset("label", (n, height, width), dtype="u1", chunks=(1, height, width), compression="gzip")

    originals = np.arange(n_orig, dtype=np.int64)
    no_parent = np.full(n_orig + n_dup, -1, dtype=np.int64)
    group.create_dataset(
        "source",
        data=np.repeat(
            np.array([SOURCE_ORIGINAL, SOURCE_DUPLICATE, SOURCE_SYNTHETIC], np.int8), [n_orig, n_dup, n_syn]
        ),
    )
    group.create_dataset("parent_a", data=np.concatenate([originals, duplicates, parent_a]).astype(np.int64))
    group.create_dataset("parent_b", data=np.concatenate([no_parent, parent_b]).astype(np.int64))
    group.create_dataset("lambda", data=np.concatenate([np.zeros(n_orig + n_dup), lam]).astype(np.float32))

    step = _chunk_tiles(image_src)
    for lo in range(0, n_orig, step):
        hi = min(lo + step, n_orig)
        image[lo:hi] = image_src[lo:hi]
        label[lo:hi] = label_src[lo:hi]
    for offset, tile in enumerate(duplicates.tolist(), start=n_orig):
        image[offset] = image_src[tile]
        label[offset] = label_src[tile]
    counts = np.zeros(len(CLASSES), dtype=np.int64)
    for s, (a, b, share_b) in enumerate(zip(parent_a.tolist(), parent_b.tolist(), lam.tolist(), strict=True)):
        rng = np.random.default_rng([settings.seed, s])
        mask_b = parent_mask((height, width), share_b, settings.mask_correlation_px, rng)
        tile_image, tile_label = blend_tiles(image_src[a], label_src[a], image_src[b], label_src[b], mask_b)
        image[n_orig + n_dup + s] = tile_image
        label[n_orig + n_dup + s] = tile_label
        counts += tile_counts(tile_label[None])[0]
    return counts
