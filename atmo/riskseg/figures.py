"""Riskseg figures: the test blocks side by side (scene, labels, ensemble, uncertainty, CRF) and the confusion matrix.

The map panels crop the scene to the bounding box of the test tiles and grey out every pixel that
is not in a test tile, so what is shown is exactly what was scored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from atmo.io.geotiff import read_geotiff
from atmo.publish import panel_grid
from atmo.riskseg import CLASS_NAMES, LABEL_NODATA, SCENE_NODATA

CLASS_COLOURS = ("#4daf4a", "#ffbf00", "#e41a1c")


def test_extent(
    windows: Sequence[tuple[int, int, int, int]], shape: tuple[int, int]
) -> tuple[slice, slice, np.ndarray]:
    """Row and column slices of the test tiles' bounding box, and the test-tile mask inside it."""
    mask = np.zeros(shape, dtype=bool)
    for row, col, height, width in windows:
        mask[row : row + height, col : col + width] = True
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    return box[0], box[1], mask[box]


def _composite(bands: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` colour composite of the first three bands, each stretched between its 2nd and 98th percentile."""
    rgb = np.zeros((*bands.shape[1:], 3))
    for channel in range(min(3, bands.shape[0])):
        band = bands[channel]
        valid = band != SCENE_NODATA
        if valid.any():
            low, high = np.percentile(band[valid], [2, 98])
            rgb[..., channel] = np.clip((band - low) / max(high - low, 1e-12), 0, 1)
    return rgb


def test_block_figure(
    *,
    scene: str | os.PathLike[str],
    labels: str | os.PathLike[str],
    ensemble: str | os.PathLike[str],
    uncertainty: str | os.PathLike[str],
    crf: str | os.PathLike[str],
    windows: Sequence[tuple[int, int, int, int]],
    band_names: Sequence[str],
) -> Figure:
    """Five panels over the test blocks: scene composite, labels, ensemble classes, uncertainty, CRF classes."""
    truth = read_geotiff(labels)[0]
    rows, cols, mask = test_extent(windows, truth.shape)
    fig, axes = panel_grid(5, max_columns=5, panel_size=(3.2, 3.2))
    cmap = ListedColormap(CLASS_COLOURS)
    cmap.set_bad("#d9d9d9")
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5], cmap.N)

    def classes(path: str | os.PathLike[str]) -> np.ma.MaskedArray:
        data = read_geotiff(path)[0][rows, cols]
        return np.ma.masked_where(~mask | (data == LABEL_NODATA), data)

    scene_rgb = _composite(read_geotiff(scene)[:, rows, cols])
    scene_rgb[~mask] = 0.85
    entropy = read_geotiff(uncertainty)[0][rows, cols]
    panels = [
        (f"scene ({', '.join(band_names[:3])})", scene_rgb, {}),
        ("labels", classes(labels), {"cmap": cmap, "norm": norm}),
        ("ensemble classes", classes(ensemble), {"cmap": cmap, "norm": norm}),
        (
            "uncertainty (entropy, nats)",
            np.ma.masked_where(~mask | ~np.isfinite(entropy) | (entropy < 0), entropy),
            {"cmap": "magma", "vmin": 0, "vmax": float(np.log(3))},
        ),
        ("after dense CRF", classes(crf), {"cmap": cmap, "norm": norm}),
    ]
    for ax, (title, image, style) in zip(axes.flat, panels, strict=False):
        shown = ax.imshow(image, interpolation="nearest", **style)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if title.startswith("uncertainty"):
            fig.colorbar(shown, ax=ax, shrink=0.7)
    handles = [ax.bar(0, 0, color=c, label=n) for c, n in zip(CLASS_COLOURS, CLASS_NAMES, strict=True)]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    return fig


def confusion_figure(matrix: np.ndarray, title: str) -> Figure:
    """Row-normalised confusion matrix with the pixel counts written in each cell."""
    fig, axes = panel_grid(1, panel_size=(4.2, 3.6))
    ax = axes[0, 0]
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if shares[i, j] > 0.5 else "black"
        ax.text(j, i, f"{shares[i, j]:.2f}\n({count})", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES)
    ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title} (test blocks; row shares)", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig
