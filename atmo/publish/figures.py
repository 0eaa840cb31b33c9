"""Figure helpers shared by the experiments: atomic saving, panel grids and one line per entry.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot, so no global figure state and
no display backend). :func:`save_figure` writes through a temporary sibling, so a failed save leaves
no file, and strips the timestamp/version metadata so reruns give identical bytes (PNG, PDF, SVG).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from atmo.io.atomic import atomic_path
from atmo.publish.rows import Row

#: Line style per kind: models solid, baselines dashed, ablations dotted.
KIND_STYLES: Mapping[str, str] = {"model": "-", "baseline": "--", "ablation": ":"}

# Metadata that would change from run to run (software version, creation date), per format.
_NO_VOLATILE_METADATA: Mapping[str, Mapping[str, None]] = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 100) -> None:
    """Save ``fig`` atomically; the format follows the suffix of ``path``."""
    metadata = _NO_VOLATILE_METADATA.get(Path(path).suffix.lower().lstrip("."))
    extra = {} if metadata is None else {"metadata": dict(metadata)}
    # a fixed salt makes the SVG element ids the same on every run
    with atomic_path(path) as tmp, matplotlib.rc_context({"svg.hashsalt": "atmo"}):
        fig.savefig(tmp, dpi=dpi, **extra)


def panel_grid(
    n_panels: int, *, max_columns: int = 3, panel_size: tuple[float, float] = (4.0, 3.2), **subplots: Any
) -> tuple[Figure, np.ndarray]:
    """A figure with ``n_panels`` axes in rows of at most ``max_columns``; returns it and the axes ``(rows, cols)``.

    Axes beyond ``n_panels`` (the end of a short last row) are hidden; ``subplots`` go to
    :meth:`~matplotlib.figure.Figure.subplots` (``sharex``, ``sharey``...).
    """
    if n_panels < 1:
        raise ValueError(f"n_panels must be >= 1, got {n_panels}")
    n_cols = min(max_columns, n_panels)
    n_rows = -(-n_panels // n_cols)
    fig = Figure(figsize=(panel_size[0] * n_cols, panel_size[1] * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, **subplots)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def plot_rows(
    ax: Axes,
    rows: Sequence[Row],
    xy: Callable[[Row], tuple[ArrayLike, ArrayLike]],
    *,
    styles: Mapping[str, str] = KIND_STYLES,
    marker: str = ".",
) -> None:
    """One line per row on ``ax``: ``x, y = xy(row)``, styled by kind, labelled with the row's name."""
    for row in rows:
        x, y = xy(row)
        ax.plot(x, y, styles.get(row.kind, "-"), marker=marker, label=row.name)


def legend_outside(fig: Figure, ax: Axes) -> None:
    """One legend for the figure, right of the panels, from the lines of ``ax``."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")


def as_float(value: Any) -> float:
    """A score as a float for plotting: ``None`` (undefined) becomes NaN, a gap rather than a false zero."""
    return np.nan if value is None else float(value)
