"""atmo.publish figures: atomic, reproducible saving; panel grids; one styled line per row."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from atmo.publish import KIND_STYLES, Row, as_float, legend_outside, panel_grid, plot_rows, save_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROWS = [
    Row("unet", "model", {"y": [0.5, 0.4, None]}),
    Row("persistence", "baseline", {"y": [0.3, 0.2, 0.1]}),
    Row("unet_small", "ablation", {"y": [0.45, 0.35, 0.3]}),
]


def line_figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 0.5])
    return fig


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg"])
def test_save_figure_reproducible(tmp_path: Path, suffix: str) -> None:
    first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
    save_figure(line_figure(), first)
    save_figure(line_figure(), second)
    assert first.read_bytes() == second.read_bytes()  # no timestamps, no random ids
    assert b"matplotlib.org" not in first.read_bytes()  # no software version either
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name, second.name]


def test_save_figure_png(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "figure.png"
    save_figure(line_figure(), path, dpi=50)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert matplotlib.image.imread(path).shape[:2] == (100, 150)  # 3 x 2 inches at 50 dpi


def test_failed_save_leaves_no_file(tmp_path: Path) -> None:
    """A save that raises half-way leaves neither the final file nor a temporary sibling; an old file stays."""
    fig = line_figure()

    def write_half_then_fail(path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(PNG_SIGNATURE)
        raise RuntimeError("renderer crashed")

    fig.savefig = write_half_then_fail  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(fig, tmp_path / "figure.png")
    assert list(tmp_path.iterdir()) == []

    previous = tmp_path / "old.png"
    save_figure(line_figure(), previous)
    before = previous.read_bytes()
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(fig, previous)
    assert previous.read_bytes() == before
    with pytest.raises(ValueError, match="not supported"):
        save_figure(line_figure(), tmp_path / "figure.xyz")
    assert [p.name for p in tmp_path.iterdir()] == ["old.png"]


@pytest.mark.parametrize(
    ("n_panels", "grid", "visible"), [(1, (1, 1), 1), (2, (1, 2), 2), (4, (2, 3), 4), (6, (2, 3), 6)]
)
def test_panel_grid(n_panels: int, grid: tuple[int, int], visible: int) -> None:
    fig, axes = panel_grid(n_panels, panel_size=(2.0, 1.5), sharey=True)
    assert axes.shape == grid
    assert [ax.get_visible() for ax in axes.flat] == [True] * visible + [False] * (axes.size - visible)
    assert tuple(fig.get_size_inches()) == pytest.approx((2.0 * grid[1], 1.5 * grid[0]))
    with pytest.raises(ValueError, match="n_panels"):
        panel_grid(0)


def test_plot_rows_styles_and_labels() -> None:
    fig = Figure()
    ax = fig.subplots()
    plot_rows(ax, ROWS, lambda row: (np.arange(3), [as_float(v) for v in row.scores["y"]]))
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["unet", "persistence", "unet_small"]
    assert [line.get_linestyle() for line in lines] == ["-", "--", ":"]
    assert [line.get_marker() for line in lines] == ["."] * 3
    np.testing.assert_array_equal(lines[0].get_ydata(), [0.5, 0.4, np.nan])  # None -> gap, not 0
    np.testing.assert_array_equal(lines[1].get_xdata(), [0, 1, 2])
    assert KIND_STYLES["baseline"] == "--"

    legend_outside(fig, ax)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["unet", "persistence", "unet_small"]

    ax2 = fig.add_subplot()
    plot_rows(ax2, [Row("oracle", "oracle", {})], lambda row: ([0, 1], [1, 1]), styles={}, marker="o")
    assert ax2.get_lines()[0].get_linestyle() == "-" and ax2.get_lines()[0].get_marker() == "o"


def test_as_float() -> None:
    assert np.isnan(as_float(None))
    assert as_float(3) == 3.0 and isinstance(as_float(np.float32(0.5)), float)
