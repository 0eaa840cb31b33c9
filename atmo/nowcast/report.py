"""Nowcast results side by side: ``scores.csv``, a markdown table and two figures.

Everything is built from the per-model score dicts of :func:`atmo.nowcast.scoring.score_forecasts`
alone, so the table can be regenerated without touching forecasts. Rows are ordered trained models,
then baselines, then ablations (each kept in the given order), so the main comparison reads at the
top and the ablations sit beneath it.

- ``scores.csv``: one row per model, columns ``model, kind`` then every score key (``csi_74_lead6``,
  ``csi_m``, ``mse`` ...), sorted by name.
- ``scores_long.csv``: tidy form, one row per (model, metric, threshold, lead) with empty cells where a
  key has no threshold or lead, for plotting and pivoting elsewhere.
- markdown: CSI-M, pooled CSI per threshold, MSE, MAE, LPIPS per model.
- ``plot_csi_by_lead``: one panel per threshold, CSI against lead time, one line per model.
- ``plot_event_panel``: one test event: input frames, truth, and every model's forecast.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from atmo.errors import InputError
from atmo.io.atomic import atomic_path, write_text
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.metrics.contingency import threshold_label
from atmo.nowcast.scoring import FORECAST_DATASET

Kind = Literal["model", "baseline", "ablation"]
KIND_ORDER: tuple[Kind, ...] = ("model", "baseline", "ablation")

_SCORE_KEY = re.compile(r"^(?P<metric>[a-z_]+?)(?:_(?P<threshold>\d+(?:\.\d+)?))?(?:_lead(?P<lead>\d+))?$")
_CODE_MAX = 255.0


@dataclass(frozen=True)
class ModelScores:
    """The score dict of one forecaster, with its display name and role in the comparison."""

    name: str
    kind: Kind
    scores: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in KIND_ORDER:
            raise ValueError(f"{self.name}: kind must be one of {KIND_ORDER}, got {self.kind!r}")


def ordered(entries: Sequence[ModelScores]) -> list[ModelScores]:
    """Models, then baselines, then ablations; stable within each kind. Names must be unique."""
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"model names must be unique, repeated: {duplicates}")
    return sorted(entries, key=lambda e: KIND_ORDER.index(e.kind))


def scores_frame(entries: Sequence[ModelScores]) -> pd.DataFrame:
    """Wide table: one row per model, ``model, kind`` then every scalar score key (sorted)."""
    rows = []
    for entry in ordered(entries):
        scalars = {k: v for k, v in entry.scores.items() if not isinstance(v, list | dict)}
        rows.append({"model": entry.name, "kind": entry.kind, **dict(sorted(scalars.items()))})
    frame = pd.DataFrame(rows)
    keys = sorted(set(frame.columns) - {"model", "kind"})
    return frame[["model", "kind", *keys]]


def scores_long(entries: Sequence[ModelScores]) -> pd.DataFrame:
    """Tidy table: ``model, kind, metric, threshold, lead, value`` for every numeric score key."""
    rows = []
    for entry in ordered(entries):
        for key, value in entry.scores.items():
            if isinstance(value, bool) or not isinstance(value, int | float | type(None)):
                continue
            match = _SCORE_KEY.match(key)
            if match is None:
                continue
            threshold, lead = match["threshold"], match["lead"]
            rows.append(
                {
                    "model": entry.name,
                    "kind": entry.kind,
                    "metric": match["metric"],
                    "threshold": float(threshold) if threshold else np.nan,
                    "lead": int(lead) if lead else pd.NA,
                    "value": np.nan if value is None else float(value),
                }
            )
    frame = pd.DataFrame(rows, columns=["model", "kind", "metric", "threshold", "lead", "value"])
    return frame.astype({"lead": "Int64"})


def markdown_table(entries: Sequence[ModelScores]) -> str:
    """Markdown comparison: CSI-M, pooled CSI per threshold, MSE and MAE (code units), LPIPS."""
    rows = ordered(entries)
    thresholds = _common_thresholds(rows)
    header = ["model", "kind", "CSI-M", *(f"CSI-{t}" for t in thresholds), "MSE", "MAE", "LPIPS"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([" --- "] * 2 + [" ---: "] * (len(header) - 2)) + "|"]
    for entry in rows:
        s = entry.scores
        cells = [
            entry.name,
            entry.kind,
            _fmt(s.get("csi_m"), 3),
            *(_fmt(s.get(f"csi_{t}"), 3) for t in thresholds),
            _fmt(s.get("mse"), 1),
            _fmt(s.get("mae"), 2),
            _fmt(s.get("lpips"), 3),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        "",
        "CSI pooled over all lead times and test pixels, events are VIL code >= threshold; "
        "MSE/MAE in VIL code units (0..255); n/a = undefined or not computed.",
    ]
    notes += [f"LPIPS n/a for {e.name}: {e.scores['lpips_reason']}" for e in rows if e.scores.get("lpips_reason")]
    return "\n".join(lines + notes) + "\n"


def write_tables(
    entries: Sequence[ModelScores],
    *,
    csv_path: str | os.PathLike[str],
    markdown_path: str | os.PathLike[str],
    long_csv_path: str | os.PathLike[str] | None = None,
) -> None:
    """Write ``scores.csv``, the markdown table and optionally the tidy CSV, each atomically."""
    write_text(csv_path, scores_frame(entries).to_csv(index=False))
    write_text(markdown_path, markdown_table(entries))
    if long_csv_path is not None:
        write_text(long_csv_path, scores_long(entries).to_csv(index=False))


def plot_csi_by_lead(
    path: str | os.PathLike[str], entries: Sequence[ModelScores], *, minutes_per_lead: float = 5.0
) -> None:
    """One panel per threshold, CSI against lead time (minutes), a line per model; written atomically."""
    rows = ordered(entries)
    thresholds = _common_thresholds(rows)
    n_cols = min(3, len(thresholds))
    n_rows = -(-len(thresholds) // n_cols)
    fig = Figure(figsize=(4.0 * n_cols, 3.2 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True, sharey=True)
    styles = {"model": "-", "baseline": "--", "ablation": ":"}
    for ax, threshold in zip(axes.flat, thresholds, strict=False):
        for entry in rows:
            n_leads = int(entry.scores["n_leads"])
            leads = np.arange(1, n_leads + 1)
            csi = [_as_float(entry.scores.get(f"csi_{threshold}_lead{k}")) for k in leads]
            ax.plot(leads * minutes_per_lead, csi, styles[entry.kind], marker=".", label=entry.name)
        ax.set_title(f"VIL >= {threshold}")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(thresholds) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("lead time (min)")
    for ax in axes[:, 0]:
        ax.set_ylabel("CSI")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    _save(fig, path)


def plot_event_panel(
    path: str | os.PathLike[str],
    inputs: np.ndarray,
    truth: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    *,
    n_columns: int = 6,
    minutes_per_lead: float = 5.0,
    title: str | None = None,
) -> None:
    """Rows: the last input frames, the truth, then each forecast; columns: evenly spaced lead times.

    ``inputs`` is the VIL history ``(T_in, H, W)``, ``truth`` and every forecast ``(T_out, H, W)``, all in
    code/255 scale; shown in VIL codes on one colour scale so the rows compare directly.
    """
    if truth.ndim != 3 or inputs.ndim != 3:
        raise ValueError(f"inputs {inputs.shape} and truth {truth.shape} must be (T, H, W)")
    for name, forecast in forecasts.items():
        if forecast.shape != truth.shape:
            raise ValueError(f"forecast '{name}' has shape {forecast.shape}, truth has {truth.shape}")
    n_leads = truth.shape[0]
    columns = np.unique(np.linspace(0, n_leads - 1, min(n_columns, n_leads)).round().astype(int))
    input_columns = np.arange(max(0, inputs.shape[0] - len(columns)), inputs.shape[0])
    panels = [("inputs", inputs, input_columns, -(inputs.shape[0] - 1 - input_columns) * minutes_per_lead)]
    panels.append(("truth", truth, columns, (columns + 1) * minutes_per_lead))
    panels += [(name, f, columns, (columns + 1) * minutes_per_lead) for name, f in forecasts.items()]

    fig = Figure(figsize=(1.8 * len(columns) + 1.2, 1.8 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), len(columns), squeeze=False)
    cmap = colormaps["turbo"].with_extremes(under="white")  # code 0 (no echo) white, as on radar maps
    image = None
    for row, (label, frames, frame_idx, minutes) in enumerate(panels):
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(frame_idx):
                ax.set_visible(False)
                continue
            codes = np.clip(frames[frame_idx[col]], 0, 1) * _CODE_MAX
            image = ax.imshow(codes, vmin=0.5, vmax=_CODE_MAX, cmap=cmap)
            ax.set_title(f"{minutes[col]:+.0f} min", fontsize="small")
        axes[row, 0].set_ylabel(label)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="VIL code", extend="min")
    if title:
        fig.suptitle(title)
    _save(fig, path)


def _common_thresholds(entries: Sequence[ModelScores]) -> list[str]:
    """Threshold labels shared by every entry (their ``thresholds`` lists must agree)."""
    lists = {tuple(e.scores["thresholds"]) for e in entries}
    if len(lists) != 1:
        raise ValueError(f"models were scored on different thresholds: {sorted(lists)}")
    return [threshold_label(t) for t in lists.pop()]


def _as_float(value: Any) -> float:
    """``None`` (undefined score) -> NaN, so plots leave a gap instead of a false zero."""
    return np.nan if value is None else float(value)


def _fmt(value: Any, digits: int) -> str:
    """Fixed-point cell, ``n/a`` for missing or undefined values."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return f"{float(value):.{digits}f}"


def _save(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Save a figure atomically; the format follows the path's suffix."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, metadata={"Software": None})


def read_scores(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The score dict of one model from its JSON file; :class:`InputError` if missing or not a score file."""
    try:
        scores = json.loads(Path(path).read_text())
    except FileNotFoundError as err:
        raise InputError(path, "score file does not exist") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not valid JSON ({err})") from err
    absent = [key for key in ("thresholds", "n_leads") if not isinstance(scores, dict) or key not in scores]
    if absent:
        raise InputError(path, f"not a nowcast score file: key(s) {absent} missing")
    return scores


def write_report(
    score_paths: Mapping[str, str | os.PathLike[str]],
    kinds: Mapping[str, Kind],
    forecast_paths: Mapping[str, str | os.PathLike[str]],
    test_cache: str | os.PathLike[str],
    *,
    csv_path: str | os.PathLike[str],
    markdown_path: str | os.PathLike[str],
    csi_figure: str | os.PathLike[str],
    event_figure: str | os.PathLike[str],
    event_index: int = 0,
    minutes_per_lead: float = 5.0,
) -> str:
    """Everything the nowcast table job writes, from the per-model score JSON and forecast files.

    The event panel shows test sample ``event_index`` (clipped to the test set) so every model's
    forecast of the same storm can be compared by eye. Every input is read and checked before the
    first output is written, so a bad score or forecast file (:class:`InputError`) leaves no outputs.
    Returns the markdown table.
    """
    unknown = sorted(set(score_paths) - set(kinds) | set(score_paths) - set(forecast_paths))
    if unknown:
        raise ValueError(f"models without a kind or a forecast file: {unknown}")
    entries = ordered([ModelScores(name, kinds[name], read_scores(path)) for name, path in score_paths.items()])
    table = markdown_table(entries)  # also checks that all models share one set of thresholds
    with open_hdf5(test_cache) as cache:
        truth_data = require_dataset(cache, "y", kinds="f", ndim=4)
        index = min(max(event_index, 0), truth_data.shape[0] - 1)
        inputs, truth = cache["x"][index, :, 0].astype(np.float32), truth_data[index].astype(np.float32)
        event = cache["event_id"][index].decode()
        truth_shape = truth_data.shape
    forecasts = {}
    for entry in entries:
        with open_hdf5(forecast_paths[entry.name]) as handle:
            forecasts[entry.name] = require_dataset(handle, FORECAST_DATASET, kinds="f", shape=truth_shape)[index]
    write_tables(entries, csv_path=csv_path, markdown_path=markdown_path)
    plot_csi_by_lead(csi_figure, entries, minutes_per_lead=minutes_per_lead)
    plot_event_panel(
        event_figure, inputs, truth, forecasts, minutes_per_lead=minutes_per_lead, title=f"test event {event}"
    )
    return table
