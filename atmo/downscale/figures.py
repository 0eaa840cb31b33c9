"""The downscale report's four figures: one extreme test case, value distributions, RAPSD curves, rank histograms.

Each is drawn from every product's first training seed: the score values, and for the case and the
distributions the ensemble files of each variant's latest sampled epoch (checked to be the product
their name says, :func:`atmo.downscale.report_inputs.checked_samples`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from atmo.downscale.products import Product
from atmo.downscale.report_inputs import PathLike, checked_samples, read_case
from atmo.downscale.sample_files import iter_batches, read_truth
from atmo.errors import InputError
from atmo.publish import Row, as_float, panel_grid, plot_rows

#: Line style per kind in the RAPSD figure (the shared styles know no ``reference``).
STYLES: Mapping[str, str] = {"model": "-", "reference": "-.", "baseline": "--", "oracle": ":"}
# Bar colour per kind in the rank figure: prior (model), posterior (reference), baseline.
_KIND_COLOURS = {"model": "C0", "reference": "C1", "baseline": "C7", "oracle": "C2"}
# Bins of the exceedance curves: log-spaced from the dry threshold to the largest value drawn.
_N_DISTRIBUTION_BINS = 400
# Lower end of the log colour scale and of the distributions when the dry threshold is 0.
_FLOOR_MM = 0.01


def _ax_text(ax: Axes, text: str) -> None:
    """A message in the middle of an empty panel (a product that was not sampled)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def _cmap():
    """Dry (below the colour scale) and masked cells white, as on a rain map."""
    return colormaps["viridis"].with_extremes(under="white", bad="white")


def extreme_case_index(truth_mm: np.ndarray) -> int:
    """The test case ``truth_mm (N, H, W)`` with the largest maximum (the first one on a tie)."""
    return int(np.argmax(np.asarray(truth_mm).reshape(len(truth_mm), -1).max(axis=1)))


def case_figure(
    coarse_mm: np.ndarray,
    truth_mm: np.ndarray,
    members_mm: Mapping[str, Mapping[str, np.ndarray | None]],
    *,
    epochs: Mapping[str, int],
    title: str,
    vmin_mm: float,
) -> Figure:
    """Coarse input ``(h, w)`` and truth ``(H, W)``, then per variant one posterior and one prior member.

    ``members_mm`` is variant -> mode -> field ``(H, W)`` (``None``: not sampled). One log colour scale
    from ``vmin_mm`` (white below) to the largest value shown, so intensities compare across panels.
    """
    fields = [coarse_mm, truth_mm, *(f for modes in members_mm.values() for f in modes.values() if f is not None)]
    vmax = max(float(np.max(f)) for f in fields)
    norm = LogNorm(vmin=vmin_mm, vmax=max(vmax, 10 * vmin_mm))
    fig, axes = panel_grid(2 + 2 * len(members_mm), max_columns=2, panel_size=(3.4, 3.0))
    panels: list[tuple[str, np.ndarray | None]] = [
        (f"coarse input {coarse_mm.shape[0]}x{coarse_mm.shape[1]}, max {np.max(coarse_mm):.1f} mm", coarse_mm),
        (f"truth {truth_mm.shape[0]}x{truth_mm.shape[1]}, max {np.max(truth_mm):.1f} mm", truth_mm),
    ]
    for variant, modes in members_mm.items():
        for mode in ("posterior", "prior"):
            field = modes.get(mode)
            label = f"{variant} {mode}, epoch {epochs[variant]}"
            panels.append((f"{label}, max {np.max(field):.1f} mm" if field is not None else label, field))
    image = None
    for ax, (label, field) in zip(axes.flat, panels, strict=False):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(label, fontsize="small")
        if field is None:
            _ax_text(ax, "not sampled")
            continue
        image = ax.imshow(np.where(field < vmin_mm, 0.0, field), norm=norm, cmap=_cmap(), interpolation="nearest")
    fig.colorbar(image, ax=axes, shrink=0.5, extend="min", label="precipitation (mm, log scale)")
    fig.suptitle(title)
    return fig


def distribution_edges(vmin_mm: float, vmax_mm: float) -> np.ndarray:
    """Log-spaced bin edges from ``vmin_mm`` to just above ``vmax_mm`` (so the maximum is counted)."""
    top = max(vmax_mm, 10 * vmin_mm) * (1 + 1e-6)
    return np.geomspace(vmin_mm, top, _N_DISTRIBUTION_BINS + 1)


def exceedance(counts: np.ndarray, total: int) -> np.ndarray:
    """``P(value >= edge_i)`` at the lower edge of each bin from per-bin ``counts`` out of ``total`` values.

    ``total`` includes the dry values below the first edge, so the first point is the wet fraction.
    Zero probabilities are NaN (a gap on the log axis rather than a drop to the floor).
    """
    tail = np.cumsum(np.asarray(counts, dtype=np.float64)[::-1])[::-1] / total
    return np.where(tail > 0, tail, np.nan)


def _histograms(path: PathLike, edges: np.ndarray, dry_mm: float) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Counts per bin of the truth and of all members of one ensemble file, streamed by case batches."""
    truth_counts, sample_counts = np.zeros(len(edges) - 1, np.int64), np.zeros(len(edges) - 1, np.int64)
    n_truth = n_samples = 0
    for truth, samples in iter_batches(path, 16):
        for values, counts in ((truth, truth_counts), (samples, sample_counts)):
            counts += np.histogram(np.where(values < dry_mm, 0.0, values), bins=edges)[0]
        n_truth, n_samples = n_truth + truth.size, n_samples + samples.size
    return truth_counts, n_truth, sample_counts, n_samples


def distributions_figure(
    curves: Mapping[str, Mapping[str, tuple[np.ndarray, float]]], edges: np.ndarray, *, epochs: Mapping[str, int]
) -> Figure:
    """One panel per variant: exceedance curves of ``truth`` and each mode, ``curves[variant][label] = (P, max)``."""
    fig, axes = panel_grid(max(len(curves), 1), sharex=True, sharey=True)
    colours = {"truth": "k", "prior": "C0", "posterior": "C1"}
    for ax, (variant, lines) in zip(axes.flat, curves.items(), strict=False):
        for label, (probability, maximum) in lines.items():
            ax.step(
                edges[:-1], probability, where="post", color=colours.get(label), label=f"{label} (max {maximum:.0f})"
            )
        ax.set_yscale("log")
        ax.set_title(f"{variant}, epoch {epochs[variant]}", fontsize="small")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("precipitation x (mm)")
    for ax in axes[:, 0]:
        ax.set_ylabel("P(value >= x)")
    return fig


def _spectrum(values: Mapping[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(wavenumber, power)`` of a score dict, NaN where either is not positive (the log axes cannot show it)."""
    k = np.array([as_float(v) for v in values["rapsd_wavenumber"]])
    power = np.array([as_float(v) for v in values[key]])
    keep = (k > 0) & (power > 0)
    return np.where(keep, k, np.nan), np.where(keep, power, np.nan)


def rapsd_figure(panels: Mapping[str, Sequence[Row]], *, epochs: Mapping[str, int]) -> Figure:
    """One panel per variant: the truth's RAPSD and that of each of ``panels[variant]``'s rows, log-log."""
    fig, axes = panel_grid(max(len(panels), 1), sharex=True, sharey=True)
    for ax, (variant, rows) in zip(axes.flat, panels.items(), strict=False):
        ax.plot(*_spectrum(rows[0].scores, "rapsd_truth"), "k-", linewidth=2, label="truth")
        plot_rows(ax, rows, lambda row: _spectrum(row.scores, "rapsd_samples"), styles=STYLES, marker="")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # the minor labels of a short decade overlap
        ax.set_title(f"{variant}, epoch {epochs[variant]}", fontsize="small")
        ax.legend(fontsize="x-small")
        ax.grid(alpha=0.3, which="both")
    for ax in axes[-1]:
        ax.set_xlabel("wavenumber (cycles per pixel)")
    for ax in axes[:, 0]:
        ax.set_ylabel("power (mm²)")
    return fig


def rank_figure(rows: Sequence[Row]) -> Figure:
    """One panel per ensemble product: its normalised rank histogram and the flat 1/(K+1) line."""
    fig, axes = panel_grid(max(len(rows), 1), max_columns=4, panel_size=(3.4, 2.8), sharey=True)
    if not rows:
        _ax_text(axes[0, 0], "no ensemble product")
    for ax, row in zip(axes.flat, rows, strict=False):
        counts = np.asarray(row.scores["rank_histogram"], dtype=np.float64)
        ax.bar(np.arange(counts.size), counts / counts.sum(), width=0.9, color=_KIND_COLOURS.get(row.kind, "C7"))
        ax.axhline(1.0 / counts.size, color="k", linestyle="--", linewidth=1)
        outliers, expected = as_float(row.scores.get("rank_outlier_fraction")), 2.0 / counts.size
        ax.set_title(f"{row.name}\noutliers {outliers:.3f} (flat {expected:.3f})", fontsize="small")
        ax.set_xlabel("rank of the truth among the K members")
    for ax in axes[:, 0]:
        ax.set_ylabel("frequency")
    return fig


def report_figures(
    values: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, PathLike],
    order: Sequence[str],
    epochs: Mapping[str, int],
    latest: Sequence[Product],
    drawn: Mapping[tuple[str, str], Product],
    rows: Sequence[Row],
    dry_mm: float,
) -> tuple[Figure, Figure, Figure, Figure]:
    """The extreme case, distribution, RAPSD and rank figures of each product's first training seed
    (inputs as :func:`write_report` prepared them)."""
    indices = {p.name: checked_samples(p, samples[p.name]) for p in drawn.values()}
    first = next(iter(indices), None)
    for name, index in indices.items():
        if not np.array_equal(index, indices[first]):
            raise InputError(samples[name], f"holds other test cases than the samples of {first!r}")
    floor = dry_mm if dry_mm > 0 else _FLOOR_MM
    baselines = [row for row in rows if row.kind in ("baseline", "oracle")]
    by_name = {row.name: row for row in rows}
    variants = [v for v in order if v in epochs]

    # the extreme case: one member of every drawn product, on the case with the largest truth max
    members: dict[str, dict[str, np.ndarray | None]] = {v: dict.fromkeys(("posterior", "prior")) for v in variants}
    if drawn:
        reference = samples[next(iter(drawn.values())).name]
        truth = read_truth(reference)
        case = extreme_case_index(truth)
        _, coarse, time_s = read_case(reference, case)
        for (variant, mode), product in drawn.items():
            members[variant][mode] = read_case(samples[product.name], case)[0]
        date = datetime.fromtimestamp(time_s, tz=UTC).strftime("%Y-%m-%d")
        title = f"test day {date}: largest truth maximum\nof the {len(truth)} test days (first member shown)"
        case_fig = case_figure(coarse, truth[case], members, epochs=epochs, title=title, vmin_mm=floor)
    else:
        case_fig, axes = panel_grid(1)
        _ax_text(axes[0, 0], "no prior or posterior samples")

    # value distributions, pooled over test cases and members
    top = max(
        [float(next(iter(values.values()))["truth_max_mm"])]
        + [as_float(values[p.name].get("samples_max_mm")) for p in drawn.values()]
    )
    edges = distribution_edges(floor, top)
    curves: dict[str, dict[str, tuple[np.ndarray, float]]] = {v: {} for v in variants}
    for (variant, mode), product in drawn.items():  # in table order: each panel's legend reads truth, prior, posterior
        truth_counts, n_truth, counts, n = _histograms(samples[product.name], edges, dry_mm)
        curves[variant].setdefault("truth", (exceedance(truth_counts, n_truth), values[product.name]["truth_max_mm"]))
        curves[variant][mode] = (exceedance(counts, n), values[product.name]["samples_max_mm"])
    distributions_fig = distributions_figure(curves, edges, epochs=epochs)

    panels = {v: [by_name[p.name] for p in latest if p.variant == v] + baselines for v in variants}
    rapsd_fig = rapsd_figure(panels, epochs=epochs)
    ensembles = [by_name[p.name] for p in drawn.values()] + baselines
    rank_fig = rank_figure([row for row in ensembles if row.scores.get("rank_histogram")])
    return case_fig, distributions_fig, rapsd_fig, rank_fig
