"""Dense-CRF refinement of a riskseg class-probability raster into a class raster, tile by tile.

A segmentation model scores each pixel from a limited receptive field, so its argmax map is noisy
along class boundaries and speckled inside homogeneous regions. A fully connected CRF (Krähenbühl &
Koltun 2011, through ``pydensecrf``) adds two pairwise terms on top of the unary ``-log p(class)``:

* a Gaussian kernel over pixel position (width ``spatial_weight`` px, weight ``compat_spatial``)
  that removes isolated pixels;
* a bilateral kernel over position (``bilateral_sxy`` px) and covariate values (``bilateral_schan``
  band standard deviations, weight ``compat_bilateral``) that lets labels spread between pixels
  that look alike and stop at covariate edges.

**Label compatibility** (``compat``, :func:`label_compatibility`): what a pair of nearby pixels
with labels ``i`` and ``j`` pays, times the kernel's weight.

* ``potts`` (the write-up's): 1 for any change, 0 for none. For ordered classes this is wrong in a way
  that matters: a low | medium | high transition pays two changes, a direct low | high jump one,
  so the CRF removes a medium band one or two pixels wide *by design*. A pixel on a one-pixel band
  between a low and a high side sees both sides: as medium it pays 1 + 1 per pair of neighbours,
  as low or high only 0 + 1.
* ``ordinal``: ``|i - j|``, a full ``(3, 3)`` matrix. A path through medium costs exactly what the
  direct jump costs (``|0 - 2| = |0 - 1| + |1 - 2|``), so on that band all three labels pay 2 per
  pair and the unary decides; steps of one class still cost what Potts charges.

``pydensecrf`` takes the matrix as the cost of each label pair (symmetrised); its scalar Potts
weight ``w`` is the matrix ``w (1 - I)`` up to a constant per pixel, which changes no marginal.

**More than three bands.** ``DenseCRF2D.addPairwiseBilateral`` only accepts a uint8 RGB image,
which would mean dropping bands and quantising the rest to 256 levels with an arbitrary range.
The bilateral features are built instead with ``pydensecrf.utils.create_pairwise_bilateral`` from
*all* ``C`` bands, each standardised with the per-band mean and std of the training tiles (the
statistics the model's inputs were normalised with, ``tiles.h5`` attrs ``mean``/``std``), and added
with ``addPairwiseEnergy``. One unit of every band is then one training standard deviation, so a
single ``bilateral_schan`` is meaningful for bands in metres, degrees and fractions alike, and every
band counts equally in the kernel. The lattice has ``2 + C`` dimensions; its cost grows with ``C``
(see ``tests/benchmarks/test_riskseg_crf_speed.py``).

**Nodata.** Pixels where the scene or the probabilities have no data get a uniform unary (no
opinion), standardised band values 0 (the training mean, so they form no artificial edge) and
class :data:`~atmo.riskseg.LABEL_NODATA` in the output. They still take part in message passing,
where their uniform unary only relays their neighbours' labels.

**Tiling.** ``pydensecrf`` holds several ``classes x pixels`` float matrices and a permutohedral
lattice of the whole image; one call fails around 30000² px. The raster is therefore cut into core
tiles of ``tile_size`` px, each run through the CRF with ``halo`` px of context on every side
(clipped at the raster edge), and only the core is kept. The kernels decay within a few widths, so
with a halo of about two bilateral widths a core pixel sees (almost) the same neighbourhood as in
one untiled call, and memory is that of one padded tile whatever the raster size.
:func:`refine_raster` reads and writes the GeoTIFFs window by window, so neither raster is ever held
in memory whole.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pydensecrf.densecrf as dcrf
import rasterio
from pydensecrf.utils import create_pairwise_bilateral, unary_from_softmax
from rasterio.windows import Window

from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.io.geotiff import CREATION_OPTIONS, GeoTiffWindows, build_overviews, check_same_grid, inspect_geotiff
from atmo.riskseg import CLASSES, LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.decision import Decision, decide
from atmo.settings import Check, settings_block

log = logging.getLogger(__name__)

COMPATS = ("potts", "ordinal")
#: Probabilities are clipped to this before the log, so a confident 0 from the model is a large but
#: finite energy the pairwise terms can still overcome.
PROB_FLOOR = 1e-6
#: GDAL block cache while :func:`refine_raster` runs. GDAL's default (5 % of RAM) keeps every block
#: read until that fills, so without a cap the resident set grows with the raster size up to
#: gigabytes on a large node. A smaller cache only means that some 256-px blocks at tile overlaps
#: are decoded twice, which the benchmark does not see next to the CRF's cost.
GDAL_CACHE_BYTES = 64 * 1024 * 1024

Box = tuple[int, int, int, int]  # (row, col, height, width), as atmo.io.geotiff windows


class CrfSettings(settings_block("riskseg", "crf.*")):
    """One ``riskseg.crf`` entry (see the schema). Defaults are the write-up's V2.5 settings.

    The write-up's V2 settings are ``iterations=5, spatial_weight=3.0, compat_spatial=3.0,
    compat_bilateral=10.0``; both of the write-up's are ``compat: potts``. A compat weight of 0
    switches its kernel off; both 0 gives the unary's classes.
    """

    def cross_checks(self) -> list[Check]:
        # Memory is set by the padded window alone, so for a given memory a larger core always
        # beats a larger halo; beyond half the core, most CRF work is thrown away.
        return [("halo", 2 * self.halo <= self.tile_size, f"expected <= tile_size / 2 ({self.tile_size // 2})")]


@dataclass(frozen=True)
class TileWindow:
    """A core tile of the raster and the padded window the CRF runs on, both as :data:`Box`."""

    core: Box
    padded: Box

    @property
    def core_in_padded(self) -> tuple[slice, slice]:
        """Row and column slices of the core inside an array of the padded window."""
        row, col, height, width = self.core
        top, left = row - self.padded[0], col - self.padded[1]
        return slice(top, top + height), slice(left, left + width)


def label_compatibility(compat: str, weight: float) -> float | np.ndarray:
    """What ``pydensecrf`` takes as ``compat`` for a kernel of ``weight`` (module docstring).

    ``potts``: the scalar ``weight``. ``ordinal``: the float32 ``(3, 3)`` matrix ``weight * |i - j|``.
    """
    if compat == "potts":
        return weight
    if compat == "ordinal":
        distance = np.abs(np.subtract.outer(np.arange(len(CLASSES)), np.arange(len(CLASSES))))
        return np.ascontiguousarray(weight * distance, dtype=np.float32)
    raise ValueError(f"compat {compat!r} is not one of {list(COMPATS)}")


def tile_windows(height: int, width: int, tile_size: int, halo: int) -> Iterator[TileWindow]:
    """Core tiles covering ``height x width`` exactly (row-major; the last row/column may be narrower),
    each with its window padded by ``halo`` px and clipped to the raster."""
    for row in range(0, height, tile_size):
        core_h = min(tile_size, height - row)
        top, bottom = max(0, row - halo), min(height, row + core_h + halo)
        for col in range(0, width, tile_size):
            core_w = min(tile_size, width - col)
            left, right = max(0, col - halo), min(width, col + core_w + halo)
            yield TileWindow((row, col, core_h, core_w), (top, left, bottom - top, right - left))


def standardise_bands(bands: np.ndarray, valid: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(bands - mean) / std`` per band as float32 ``(C, h, w)``, 0 where ``valid`` is False."""
    mean_arr, std_arr = _band_moments(mean, std, bands.shape[0])
    out = ((bands.astype(np.float64) - mean_arr[:, None, None]) / std_arr[:, None, None]).astype(np.float32)
    out[:, ~valid] = 0.0
    return out


def valid_pixels(probs: np.ndarray, bands: np.ndarray, probs_nodata: float | None = None) -> np.ndarray:
    """``(h, w)`` True where every band and every probability is finite and not nodata."""
    ok = np.isfinite(bands).all(axis=0) & (bands != SCENE_NODATA).all(axis=0) & np.isfinite(probs).all(axis=0)
    if probs_nodata is not None:
        ok &= (probs != probs_nodata).all(axis=0)
    return ok


def crf_tile(
    probs: np.ndarray, bands: np.ndarray, valid: np.ndarray, settings: CrfSettings, decision: Decision | str = "argmax"
) -> np.ndarray:
    """Classes ``(h, w)`` uint8 of one CRF call on the whole of ``probs`` ``(3, h, w)``.

    The CRF refines ``decision``'s view of the probabilities and decodes its marginals by that
    view's rule (:meth:`atmo.riskseg.decision.Decision.for_crf`): without pairwise terms the
    classes are ``decision``'s own.

    ``bands`` ``(C, h, w)`` are standardised (:func:`standardise_bands`); ``valid`` ``(h, w)`` marks
    pixels with data, the others come out as :data:`~atmo.riskseg.LABEL_NODATA`. No tiling here: the
    memory is that of the whole array (use :func:`dense_crf_tiled` for a raster).
    """
    n_classes, height, width = probs.shape
    if n_classes != len(CLASSES) or bands.shape[1:] != (height, width) or valid.shape != (height, width):
        raise ValueError(
            f"expected probs ({len(CLASSES)}, h, w), bands (C, h, w) and valid (h, w) of one size, got "
            f"{probs.shape}, {bands.shape}, {valid.shape}"
        )
    out = np.full((height, width), LABEL_NODATA, dtype=np.uint8)
    if not valid.any():
        return out
    # Uniform at nodata; the floor keeps the log finite (and equals unary_from_softmax's clip).
    uniform = np.float32(1.0 / n_classes)
    probs, rule = (Decision(decision) if isinstance(decision, str) else decision).for_crf(probs)
    probs = np.where(valid, probs, uniform).astype(np.float32)
    unary = np.ascontiguousarray(unary_from_softmax(probs, clip=PROB_FLOOR), dtype=np.float32)
    crf = dcrf.DenseCRF2D(width, height, n_classes)
    crf.setUnaryEnergy(unary)
    if settings.compat_spatial > 0:
        crf.addPairwiseGaussian(
            sxy=settings.spatial_weight, compat=label_compatibility(settings.compat, settings.compat_spatial)
        )
    if settings.compat_bilateral > 0:
        features = np.where(valid, bands, np.float32(0.0)).astype(np.float32)
        pairwise = create_pairwise_bilateral(
            sdims=(settings.bilateral_sxy, settings.bilateral_sxy),
            schan=(settings.bilateral_schan,) * features.shape[0],
            img=features,
            chdim=0,
        )
        crf.addPairwiseEnergy(
            np.ascontiguousarray(pairwise, dtype=np.float32),
            compat=label_compatibility(settings.compat, settings.compat_bilateral),
        )
    q = np.asarray(crf.inference(settings.iterations)).reshape(n_classes, height, width)
    out[valid] = decide(q, rule)[valid]
    return out


def dense_crf_tiled(
    probs: np.ndarray, bands: np.ndarray, valid: np.ndarray, settings: CrfSettings, decision: Decision | str = "argmax"
) -> np.ndarray:
    """Classes ``(H, W)`` uint8 of the CRF run tile by tile with a halo (see the module docstring).

    Arguments as :func:`crf_tile`. The CRF's own memory is that of one padded tile; the inputs are
    in memory whole (use :func:`refine_raster` for rasters that are not).
    """
    height, width = probs.shape[1:]
    out = np.empty((height, width), dtype=np.uint8)
    for window in tile_windows(height, width, settings.tile_size, settings.halo):
        rows, cols = _slices(window.padded)
        classes = crf_tile(probs[:, rows, cols], bands[:, rows, cols], valid[rows, cols], settings, decision)
        core_rows, core_cols = _slices(window.core)
        out[core_rows, core_cols] = classes[window.core_in_padded]
    return out


def refine_raster(
    probs_path: str | os.PathLike[str],
    scene_path: str | os.PathLike[str],
    mean: Sequence[float],
    std: Sequence[float],
    out_path: str | os.PathLike[str],
    settings: CrfSettings,
    decision: Decision | str = "argmax",
) -> Path:
    """Write the CRF classes of ``probs_path`` as a uint8 GeoTIFF at ``out_path``, one tile at a time.

    ``probs_path``: 3-band class probabilities on the grid of ``scene_path`` (the covariates the
    model saw); ``mean``/``std``: per-band statistics of the training tiles. Each padded window is
    read from both rasters, refined by :func:`crf_tile` and its core written, so memory stays that
    of one padded tile for any raster size. The output has the scene's CRS and transform, nodata
    :data:`~atmo.riskseg.LABEL_NODATA`, nearest-neighbour overviews (classes must not be averaged),
    and is written atomically.
    """
    scene_info = inspect_geotiff(scene_path)
    probs_info = inspect_geotiff(probs_path)
    check_same_grid(scene_info, probs_info)
    if probs_info.count != len(CLASSES):
        raise InputError(probs_path, f"has {probs_info.count} band(s), expected {len(CLASSES)} class probabilities")
    _band_moments(mean, std, scene_info.count)  # fail before any pixel is read
    profile = {
        "driver": "GTiff",
        "count": 1,
        "height": scene_info.height,
        "width": scene_info.width,
        "dtype": "uint8",
        "crs": scene_info.crs,
        "transform": scene_info.transform,
        "nodata": LABEL_NODATA,
        **CREATION_OPTIONS,
    }
    windows = list(tile_windows(scene_info.height, scene_info.width, settings.tile_size, settings.halo))
    with (
        rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES),
        GeoTiffWindows(scene_path) as scene,
        GeoTiffWindows(probs_path) as probabilities,
        atomic_path(out_path) as tmp,
        rasterio.open(tmp, "w", **profile) as dst,
    ):
        for window in windows:
            bands = scene.read(*window.padded)
            probs = probabilities.read(*window.padded)
            valid = valid_pixels(probs, bands, probs_info.nodata)
            classes = crf_tile(probs, standardise_bands(bands, valid, mean, std), valid, settings, decision)
            row, col, height, width = window.core
            dst.write(classes[window.core_in_padded], 1, window=Window(col, row, width, height))
        dst.set_band_description(1, "risk_class")
        dst.update_tags(
            source="atmo.riskseg.crf", classes="0=low 1=medium 2=high", crf_settings=json.dumps(asdict(settings))
        )
        build_overviews(dst, "nearest")
    log.info("wrote %s (CRF classes, %dx%d, %d tile(s))", out_path, scene_info.height, scene_info.width, len(windows))
    return Path(out_path)


def _slices(box: Box) -> tuple[slice, slice]:
    row, col, height, width = box
    return slice(row, row + height), slice(col, col + width)


def _band_moments(mean: Sequence[float], std: Sequence[float], n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """``mean`` and ``std`` as float64 ``(C,)``, checked against the band count and for ``std > 0``."""
    mean_arr, std_arr = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if mean_arr.shape != (n_bands,) or std_arr.shape != (n_bands,):
        raise ValueError(f"expected {n_bands} band means and stds, got {mean_arr.shape} and {std_arr.shape}")
    if not (np.isfinite(mean_arr).all() and np.isfinite(std_arr).all() and (std_arr > 0).all()):
        raise ValueError(f"band means must be finite and stds finite and > 0, got mean {mean} and std {std}")
    return mean_arr, std_arr
