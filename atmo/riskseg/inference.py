"""Whole-scene inference of a riskseg model: blended sliding windows, test-time augmentation, seed ensembles.

A scene is far larger than a training tile, and a fully convolutional network run window by window
gives worse predictions near each window's edge, where its receptive field runs into padding.
Windows of ``window`` px are therefore placed with stride ``window - overlap`` (the last one in each
direction aligned to the raster's edge, so every pixel is covered and no window sticks out), and
their class probabilities are blended with a weight that is 1 in a window's middle and small at its
edge (:func:`window_weights`)::

    p(x) = sum_w weight_w(x) * p_w(x) / sum_w weight_w(x)

The weights are positive everywhere, so the division is defined at every pixel, including the
raster's border that only one window covers. With ``overlap`` at least the model's effective
receptive field, a pixel that is wrong in one window (too close to its edge) is interior to a
neighbour, whose much larger weight dominates; a per-pixel model (1x1 convolutions) gives exactly
the whole-raster result. A raster (or raster side) smaller than a window is padded by reflection.

Test-time augmentation (``tta``) averages the class probabilities over the 8 symmetries of the
square (identity, 3 rotations by 90°, and the 4 of these after a horizontal flip), each prediction
mapped back to the original orientation before averaging; risk does not depend on the map's
orientation at window scale, and the training augmentation drew from the same group
(:mod:`atmo.train.dihedral`, whose operations both use).

Memory: the scene is read window by window, and the blend accumulators only span one strip of
``strip_rows`` (the output's 256-px block height) plus one window of rows, full raster width:
about ``16 * width * (strip_rows + 2 * window)`` bytes, e.g. 25 MB for a 5000-px-wide scene.
Finished strips are written block-aligned to the output GeoTIFF.

Seed ensembles (:func:`ensemble_probabilities`) average the probability rasters of several
trained seeds and report the predictive entropy of the mean in nats, ``H = -sum_k p_k ln p_k``
(``0 ln 0 = 0``): 0 when all mass is on one class, at most ``ln 3 = 1.0986`` for a uniform
prediction. It is not normalised (divide by ``ln 3`` for a 0..1 scale), so values stay
comparable with entropies reported elsewhere in nats. Being the entropy of the *mean*, it counts
both the members' own uncertainty and their disagreement.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import numpy as np
import rasterio
import torch
from rasterio.windows import Window
from torch import nn

from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.io.geotiff import (
    CREATION_OPTIONS,
    GeoTiffWindows,
    RasterInfo,
    build_overviews,
    check_same_grid,
    inspect_geotiff,
)
from atmo.riskseg import CLASS_NAMES, CLASSES, LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.decision import Decision, decide
from atmo.riskseg.heads import HEADS, head_probabilities
from atmo.settings import Check, settings_block
from atmo.train.dihedral import SYMMETRIES, transform_field, untransform_field

log = logging.getLogger(__name__)

BLENDS = ("spline", "pyramid")
PROB_DESCRIPTIONS = tuple(f"p_{name}" for name in CLASS_NAMES)
#: Nodata of the probability and uncertainty rasters: the scene's standard nodata value.
PROB_NODATA = SCENE_NODATA
STRIP_ROWS = CREATION_OPTIONS["blockysize"]

#: ``read(row, col, height, width) -> (image (C, h, w) float32 normalised, valid (h, w) bool)``.
WindowReader = Callable[[int, int, int, int], tuple[np.ndarray, np.ndarray]]


class InferenceSettings(settings_block("riskseg", "inference")):
    """The ``riskseg.inference`` config block.

    ``window`` must suit the model (a U-Net of depth 5 needs multiples of 32); ``overlap`` should
    cover the model's effective receptive field (a few tens of pixels for the riskseg U-Nets, far
    less than their theoretical one) and trades compute, ``(window / (window - overlap))**2`` times
    the pixels, for seam-free maps.
    """

    def cross_checks(self) -> list[Check]:
        return [("overlap", self.overlap < self.window, f"expected < window ({self.window})")]

    @property
    def stride(self) -> int:
        """Pixels between the origins of neighbouring windows."""
        return self.window - self.overlap


# -- blending ---------------------------------------------------------------------------------------------------


def _edge_position(size: int) -> np.ndarray:
    """``(size,)`` distance of each pixel centre to the nearer window edge, as a fraction of half the window.

    ``0 < u <= 1``: ``1 / size`` at the outermost pixels, 1 (or nearly) in the middle.
    """
    centre = (np.arange(size) + 0.5) / size
    return 2.0 * np.minimum(centre, 1.0 - centre)


def window_weights(size: int, blend: str) -> np.ndarray:
    """Blending weight ``(size, size)`` float32 of a square window: 1 in the middle, small and > 0 at the edge.

    ``spline``: the outer product of a smooth 1-D step built from two squared-parabola (second-order
    spline) pieces of the edge distance ``u`` (:func:`_edge_position`), ``2 u^2`` up to ``u = 1/2``
    and ``1 - 2 (1 - u)^2`` beyond. Its slope is 0 at both ends, so weights rise gently from the
    edge and flatten in the middle: neighbouring windows cross-fade smoothly and the interior,
    where the prediction is best, counts fully.

    ``pyramid``: ``min(u_row, u_col)``, linear in the distance to the nearest window edge.
    """
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {list(BLENDS)}, got {blend!r}")
    u = _edge_position(size)
    if blend == "pyramid":
        weights = np.minimum.outer(u, u)
    else:
        profile = np.where(u <= 0.5, 2.0 * u**2, 1.0 - 2.0 * (1.0 - u) ** 2)
        weights = np.outer(profile, profile)
    return (weights / weights.max()).astype(np.float32)


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Origins of the windows along one axis of ``length`` px: ``0, stride, ...`` and a last one at ``length - window``.

    A single origin 0 when the axis is no longer than a window (the window is then padded).
    """
    if length <= window:
        return [0]
    starts = list(range(0, length - window, stride))
    return [*starts, length - window]


# -- test-time augmentation -------------------------------------------------------------------------------------


def predict_batch(model: nn.Module, batch: torch.Tensor, tta: bool, head: str = "softmax") -> torch.Tensor:
    """Class probabilities ``(B, 3, n, n)`` of normalised windows ``(B, C, n, n)``; TTA averages 8 symmetries.

    ``head`` picks the probabilities (:mod:`atmo.riskseg.heads`). Probabilities (not logits) are
    averaged, so the result is a mixture of the 8 predictions, whichever head gave them.
    """

    def probabilities(x: torch.Tensor) -> torch.Tensor:
        probs = head_probabilities(model, x, head)
        if probs.shape != (x.shape[0], len(CLASSES), *x.shape[-2:]):
            raise ValueError(f"model output {tuple(probs.shape)} for input {tuple(x.shape)}; expected (B, 3, h, w)")
        return probs

    if not tta:
        return probabilities(batch)
    total = torch.zeros((batch.shape[0], len(CLASSES), *batch.shape[-2:]), device=batch.device)
    for op in SYMMETRIES:
        total += untransform_field(probabilities(transform_field(batch, op)), op)
    return total / len(SYMMETRIES)


# -- sliding windows --------------------------------------------------------------------------------------------


class _StripBuffer:
    """Blend accumulators for raster rows ``top .. top + rows``, full width, grown downwards as windows arrive."""

    def __init__(self, width: int) -> None:
        self.top = 0
        self.weighted = np.zeros((len(CLASSES), 0, width), dtype=np.float32)
        self.weight = np.zeros((0, width), dtype=np.float32)
        self.valid = np.zeros((0, width), dtype=bool)

    def add(self, row: int, col: int, probs: np.ndarray, weights: np.ndarray, valid: np.ndarray) -> None:
        """Add one window's ``probs`` ``(3, h, w)`` with ``weights`` ``(h, w)`` at raster ``(row, col)``."""
        h, w = valid.shape
        grow = row + h - self.top - self.weight.shape[0]
        if grow > 0:
            width = self.weight.shape[1]
            self.weighted = np.concatenate([self.weighted, np.zeros((len(CLASSES), grow, width), np.float32)], axis=1)
            self.weight = np.concatenate([self.weight, np.zeros((grow, width), np.float32)])
            self.valid = np.concatenate([self.valid, np.zeros((grow, width), bool)])
        r = row - self.top
        self.weighted[:, r : r + h, col : col + w] += weights * probs
        self.weight[r : r + h, col : col + w] += weights
        self.valid[r : r + h, col : col + w] = valid

    def pop(self, rows: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Blended probabilities ``(3, rows, W)`` and valid mask ``(rows, W)`` of the top ``rows``; drop them."""
        top = self.top
        probs = self.weighted[:, :rows] / self.weight[:rows]
        valid = self.valid[:rows].copy()
        self.weighted, self.weight, self.valid = self.weighted[:, rows:], self.weight[rows:], self.valid[rows:]
        self.top += rows
        return top, probs, valid


def iter_probability_strips(
    model: nn.Module,
    read: WindowReader,
    height: int,
    width: int,
    settings: InferenceSettings,
    device: torch.device | str = "cpu",
    strip_rows: int = STRIP_ROWS,
    head: str = "softmax",
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Blended probabilities of a ``height x width`` raster, top to bottom, in finished strips.

    Yields ``(row, probs (3, rows, width) float32, valid (rows, width) bool)``; ``rows`` is a multiple
    of ``strip_rows`` except for the last strip. ``read`` supplies normalised windows (see
    :data:`WindowReader`); windows are predicted ``settings.batch_size`` at a time in row-major order,
    and a strip is finished once no later window reaches into it. ``head`` picks the probabilities
    (:mod:`atmo.riskseg.heads`). The model must be in eval mode.
    """
    n = settings.window
    weights = window_weights(n, settings.blend)
    row_starts, col_starts = window_starts(height, n, settings.stride), window_starts(width, n, settings.stride)
    origins = [(r, c) for r in row_starts for c in col_starts]
    per_row = len(col_starts)
    buffer = _StripBuffer(width)
    for first in range(0, len(origins), settings.batch_size):
        chunk = origins[first : first + settings.batch_size]
        images, valids = zip(*(read(r, c, min(n, height - r), min(n, width - c)) for r, c in chunk), strict=True)
        batch = torch.from_numpy(np.stack([_pad_to(image, n) for image in images])).to(device)
        with torch.inference_mode():
            probs = predict_batch(model, batch, settings.tta, head).cpu().numpy()
        for (r, c), p, valid in zip(chunk, probs, valids, strict=True):
            h, w = valid.shape
            buffer.add(r, c, p[:, :h, :w], weights[:h, :w], valid)
        done_rows = (first + len(chunk)) // per_row
        finished = row_starts[done_rows] if done_rows < len(row_starts) else height
        ready = finished - buffer.top
        if finished < height:
            ready -= ready % strip_rows
        if ready > 0:
            yield buffer.pop(ready)


def _pad_to(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` ``(C, h, w)`` padded by reflection at the bottom and right to ``(C, size, size)``."""
    _, h, w = image.shape
    if h == size and w == size:
        return image
    return np.pad(image, ((0, 0), (0, size - h), (0, size - w)), mode="reflect")


def predict_array(
    model: nn.Module,
    image: np.ndarray,
    settings: InferenceSettings,
    device: torch.device | str = "cpu",
    head: str = "softmax",
) -> np.ndarray:
    """Blended probabilities ``(3, H, W)`` float32 of an in-memory normalised image ``(C, H, W)``.

    The same windows, blending and TTA as :func:`predict_probabilities`, without files; for tests and
    notebooks on rasters that fit in memory.
    """
    _, height, width = image.shape
    valid = np.ones((height, width), dtype=bool)
    image = np.ascontiguousarray(image, dtype=np.float32)

    def read(row: int, col: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        return image[:, row : row + h, col : col + w], valid[row : row + h, col : col + w]

    model.to(device).eval()
    strips = iter_probability_strips(model, read, height, width, settings, device, head=head)
    return np.concatenate([probs for _, probs, _ in strips], axis=1)


def normalise(
    raw: np.ndarray, mean: np.ndarray, std: np.ndarray, nodata: float | None = SCENE_NODATA
) -> tuple[np.ndarray, np.ndarray]:
    """``((raw - mean) / std`` float32 ``(C, h, w)`` with 0 at invalid pixels, valid mask ``(h, w)``).

    A pixel is invalid where any band is ``nodata``, the standard :data:`SCENE_NODATA` or not finite;
    it becomes 0 in every band, exactly as the training tiles were made (:mod:`atmo.riskseg.tiles`).
    """
    values = raw.astype(np.float64)
    invalid = ~np.isfinite(values).all(axis=0) | (values == SCENE_NODATA).any(axis=0)
    if nodata is not None:
        invalid |= (values == nodata).any(axis=0)
    image = (values - mean[:, None, None]) / std[:, None, None]
    image[:, invalid] = 0.0
    return image.astype(np.float32), ~invalid


# -- scene inference --------------------------------------------------------------------------------------------


def check_scene_bands(
    scene: RasterInfo, expected_bands: int, band_names: Sequence[str] | None = None, source: str = "the training tiles"
) -> None:
    """Raise :class:`InputError` naming the scene unless its bands are what the model was trained on.

    The count must equal ``expected_bands``; the names (band descriptions) must equal ``band_names``
    in order when both are known, since a reordered stack would be silently normalised wrongly.
    """
    if scene.count != expected_bands:
        names = f" ({', '.join(band_names)})" if band_names is not None else ""
        raise InputError(
            scene.path, f"has {scene.count} bands, the model expects {expected_bands}{names} from {source}"
        )
    named = band_names is not None and all(d is not None for d in scene.descriptions)
    if named and list(scene.descriptions) != list(band_names):
        raise InputError(
            scene.path, f"bands {list(scene.descriptions)} differ from {list(band_names)} of {source} (name and order)"
        )


def predict_probabilities(
    model: nn.Module,
    scene_path: str | os.PathLike[str],
    mean: Sequence[float] | np.ndarray,
    std: Sequence[float] | np.ndarray,
    out_path: str | os.PathLike[str],
    settings: InferenceSettings,
    device: torch.device | str = "cpu",
    *,
    expected_bands: int | None = None,
    band_names: Sequence[str] | None = None,
    head: str = "softmax",
) -> dict[str, Any]:
    """Write the scene's class probabilities (from ``head``) as a 3-band float32 GeoTIFF; return a summary.

    ``mean`` and ``std`` ``(C,)`` are the training tiles' ``mean`` / ``std`` attributes;
    ``expected_bands`` (default ``len(mean)``) and ``band_names`` (the tiles' ``band_names``) are
    checked against the scene before any compute. The output has the scene's grid, bands
    ``p_low, p_medium, p_high`` (summing to 1), :data:`PROB_NODATA` where the scene has no data,
    256-px tiles, DEFLATE and average-resampled overviews, and appears atomically.
    """
    if head not in HEADS:
        raise ValueError(f"head {head!r} is not one of {list(HEADS)}")
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if mean.ndim != 1 or mean.shape != std.shape:
        raise ValueError(f"mean and std must be (C,) of one length, got shapes {mean.shape} and {std.shape}")
    expected = len(mean) if expected_bands is None else expected_bands
    if expected != len(mean):
        raise ValueError(f"{len(mean)} band means for a model of {expected} bands")
    scene = inspect_geotiff(scene_path)
    check_scene_bands(scene, expected, band_names)

    model.to(device).eval()
    started = time.perf_counter()
    profile = _profile(scene, count=len(CLASSES), dtype="float32", nodata=PROB_NODATA)
    counts = np.zeros(len(CLASSES), dtype=np.int64)
    with (
        GeoTiffWindows(scene.path) as reader,
        atomic_path(out_path) as tmp,
        rasterio.open(tmp, "w", **profile) as dst,
    ):

        def read(row: int, col: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
            return normalise(reader.read(row, col, h, w), mean, std, scene.nodata)

        strips = iter_probability_strips(model, read, scene.height, scene.width, settings, device, head=head)
        for row, probs, valid in strips:
            counts += np.bincount(probs.argmax(axis=0)[valid], minlength=len(CLASSES))
            out = np.where(valid, probs, np.float32(PROB_NODATA)).astype(np.float32)
            dst.write(out, window=Window(0, row, scene.width, valid.shape[0]))
        _describe(dst, PROB_DESCRIPTIONS)
        dst.update_tags(
            source_scene=scene.path,
            window=str(settings.window),
            overlap=str(settings.overlap),
            blend=settings.blend,
            tta=str(settings.tta),
            head=head,
        )
        build_overviews(dst, "average")
    seconds = time.perf_counter() - started
    n_valid = int(counts.sum())
    log.info("wrote %s: %dx%d px in %.1f s (tta=%s, head=%s)", out_path, *scene.shape, seconds, settings.tta, head)
    return {
        "scene": scene.path,
        "output": os.fspath(out_path),
        "height": scene.height,
        "width": scene.width,
        "window": settings.window,
        "overlap": settings.overlap,
        "blend": settings.blend,
        "tta": settings.tta,
        "head": head,
        "n_valid_pixels": n_valid,
        "argmax_fractions": {name: float(c / max(n_valid, 1)) for name, c in zip(CLASS_NAMES, counts, strict=True)},
        "seconds": seconds,
        "megapixels_per_s": scene.height * scene.width / 1e6 / seconds if seconds > 0 else float("nan"),
    }


def _profile(scene: RasterInfo, *, count: int, dtype: str, nodata: float) -> dict[str, Any]:
    return {
        "driver": "GTiff",
        "count": count,
        "height": scene.height,
        "width": scene.width,
        "dtype": dtype,
        "crs": scene.crs,
        "transform": scene.transform,
        "nodata": nodata,
        **CREATION_OPTIONS,
    }


def _open_output(
    stack: ExitStack, path: str | os.PathLike[str], grid: RasterInfo, count: int, dtype: str, nodata: float
) -> rasterio.io.DatasetWriter:
    """A GeoTIFF on ``grid`` open for writing in ``stack``; it replaces ``path`` when the stack closes cleanly."""
    tmp = stack.enter_context(atomic_path(path))
    return stack.enter_context(rasterio.open(tmp, "w", **_profile(grid, count=count, dtype=dtype, nodata=nodata)))


def _describe(dst: rasterio.io.DatasetWriter, descriptions: Sequence[str]) -> None:
    for index, description in enumerate(descriptions, start=1):
        dst.set_band_description(index, description)


# -- seed ensembles ---------------------------------------------------------------------------------------------


def predictive_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy in nats ``(h, w)`` float32 of class probabilities ``(3, h, w)``: ``-sum p ln p``, ``0 ln 0 = 0``."""
    p = probs.astype(np.float64)
    terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.maximum(-terms.sum(axis=0), 0.0).astype(np.float32)


def ensemble_probabilities(
    prob_paths: Sequence[str | os.PathLike[str]],
    out_probs: str | os.PathLike[str],
    out_uncertainty: str | os.PathLike[str],
    out_classes: str | os.PathLike[str],
    *,
    decision: Decision | str = "argmax",
    strip_rows: int = STRIP_ROWS,
) -> dict[str, Any]:
    """Average seeds' probability rasters; write the mean, its entropy (nats) and the classes by ``decision``.

    Inputs are :func:`predict_probabilities` outputs on one grid (an :class:`InputError` names the
    first that is not, or that does not have 3 bands). Outputs, on that grid, atomically, with
    overviews: ``out_probs`` 3-band float32 mean (nodata :data:`PROB_NODATA`), ``out_uncertainty``
    1-band float32 predictive entropy of the mean in nats, 0 .. ln 3 (module docstring), and
    ``out_classes`` uint8 classes by ``decision`` (nodata :data:`~atmo.riskseg.LABEL_NODATA`). A pixel is nodata
    wherever any member has no data. Read and written ``strip_rows`` rows at a time.
    """
    if not prob_paths:
        raise ValueError("ensemble_probabilities needs at least one probability raster")
    infos = [inspect_geotiff(path) for path in prob_paths]
    for info in infos:
        if info.count != len(CLASSES):
            raise InputError(
                info.path, f"has {info.count} bands, expected {len(CLASSES)} ({', '.join(PROB_DESCRIPTIONS)})"
            )
    reference = infos[0]
    for info in infos[1:]:
        check_same_grid(reference, info)

    counts = np.zeros(len(CLASSES), dtype=np.int64)
    entropy_sum = 0.0
    with ExitStack() as stack:
        readers = [stack.enter_context(GeoTiffWindows(info.path)) for info in infos]
        dst_probs = _open_output(stack, out_probs, reference, len(CLASSES), "float32", PROB_NODATA)
        dst_entropy = _open_output(stack, out_uncertainty, reference, 1, "float32", PROB_NODATA)
        dst_classes = _open_output(stack, out_classes, reference, 1, "uint8", LABEL_NODATA)

        for row in range(0, reference.height, strip_rows):
            rows = min(strip_rows, reference.height - row)
            total = np.zeros((len(CLASSES), rows, reference.width), dtype=np.float64)
            valid = np.ones((rows, reference.width), dtype=bool)
            for reader, info in zip(readers, infos, strict=True):
                member = reader.read(row, 0, rows, reference.width).astype(np.float64)
                valid &= np.isfinite(member).all(axis=0)
                if info.nodata is not None:
                    valid &= ~(member == info.nodata).any(axis=0)
                total += member
            mean = total / len(readers)
            entropy = predictive_entropy(np.where(valid, mean, 1.0 / len(CLASSES)))
            classes = decide(mean, decision)
            counts += np.bincount(classes[valid], minlength=len(CLASSES))
            entropy_sum += float(entropy[valid].sum(dtype=np.float64))
            window = Window(0, row, reference.width, rows)
            dst_probs.write(np.where(valid, mean, PROB_NODATA).astype(np.float32), window=window)
            dst_entropy.write(np.where(valid, entropy, np.float32(PROB_NODATA))[np.newaxis], window=window)
            dst_classes.write(np.where(valid, classes, np.uint8(LABEL_NODATA))[np.newaxis], window=window)

        _describe(dst_probs, PROB_DESCRIPTIONS)
        _describe(dst_entropy, ["predictive_entropy"])
        _describe(dst_classes, ["class"])
        members = ";".join(info.path for info in infos)
        dst_probs.update_tags(members=members)
        dst_entropy.update_tags(members=members, units="nats", maximum=f"ln 3 = {math.log(len(CLASSES)):.6f}")
        dst_classes.update_tags(
            members=members, classes=", ".join(f"{c} {n}" for c, n in zip(CLASSES, CLASS_NAMES, strict=True))
        )
        build_overviews(dst_probs, "average")
        build_overviews(dst_entropy, "average")
        build_overviews(dst_classes, "mode")

    n_valid = int(counts.sum())
    log.info("ensembled %d probability rasters into %s", len(infos), out_probs)
    return {
        "members": [info.path for info in infos],
        "n_members": len(infos),
        "n_valid_pixels": n_valid,
        "class_fractions": {name: float(c / max(n_valid, 1)) for name, c in zip(CLASS_NAMES, counts, strict=True)},
        "mean_entropy_nats": entropy_sum / n_valid if n_valid else float("nan"),
    }
