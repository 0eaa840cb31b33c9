"""Nowcast results side by side: ``scores.csv``, ``scores_long.csv``, a markdown table and two figures.

Only the nowcast specifics live here (columns, the score-key pattern, the two plots, reading score
files); rows, tables, number formatting and atomic saving are the shared :mod:`atmo.publish`.
Everything is built from the per-(model, seed) score dicts of
:func:`atmo.nowcast.scoring.score_forecasts` and the comparisons record
(:mod:`atmo.publish.comparisons`), so the table can be regenerated without touching forecasts. Rows
are ordered trained models, then baselines, then ablations (each kept in the given order), so the main
comparison reads at the top and the ablations sit beneath it.

- ``scores.csv``: one row per (model, seed), columns ``model, kind, seed`` then every score key
  (``csi_74_lead6``, ``csi_m``, ``mse`` ...), sorted by name.
- ``scores_long.csv``: tidy form, one row per (model, seed, metric, threshold, lead) with empty cells
  where a key has no threshold or lead, for plotting and pivoting elsewhere.
- markdown, one row per model over its seeds: CSI-M as mean ± sd over seeds with its difference
  [95 % paired interval] against its opponent (the best baseline for a model, the full model for an
  ablation) and the verdict word, the number of seeds, then the seed means of CSI per threshold,
  HSS-M, MSE, MAE, LPIPS, the frequency bias at VIP 74 at 60 minutes (``bias74_60min``) and the dry
  mean (mean forecast code where the truth is 0), each with a caption line; then a second table of
  the max-pooled CSI-M and CSI at the two highest thresholds (P4, P16 as CasCast and SimCast report
  them); then CSI-M (mean ± sd, interval, verdict) and CSI per threshold at the last lead (60 minutes
  for SEVIR's 12 frames of 5 minutes), where an extrapolation's skill is lowest and a learned model
  has most to add.
- ``plot_csi_by_lead``: one panel per threshold, CSI against lead time, one line per model (seed mean).
- ``plot_event_panel``: one test event: input frames, truth, and every model's forecast (first seed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

import atmo.publish as shared
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.io.metrics_json import read_json_object
from atmo.metrics.contingency import threshold_label
from atmo.nowcast.scoring import BIAS_MINUTES, BIAS_THRESHOLD, FORECAST_DATASET, MINUTES_PER_LEAD, bias_lead
from atmo.publish import Column, Row
from atmo.publish.comparisons import interval_columns, mean_sd_column, seed_rows

#: The role of a forecaster in the tables (:data:`atmo.publish.KINDS_WITH_ORACLE`: the oracle last).
Kind = Literal["model", "baseline", "ablation", "oracle"]
KINDS = shared.KINDS_WITH_ORACLE

#: ``csi_74_lead6`` -> metric ``csi``, threshold 74.0, lead 6; ``csi_m``, ``mse_lead2``, ``hits_16`` likewise.
#: ``csi_pool4_181`` -> metric ``csi_pool4``, threshold 181.0 (the max-pooled scores keep their block size).
parse_score_key = shared.regex_key_parser(
    r"(?P<metric>[a-z_]+?(?:_pool\d+)?)(?:_(?P<threshold>\d+(?:\.\d+)?))?(?:_lead(?P<lead>\d+))?",
    threshold=float,
    lead=int,
)
LONG_DIMENSIONS = {"threshold": "float64", "lead": "Int64"}
NAME_COLUMN = "model"
_CODE_MAX = 255.0
_NOTE = (
    "Hits, misses and false alarms summed over all test pixels and lead times per threshold before any "
    "score is formed (as Earthformer's evaluation does); events are VIL code >= threshold; "
    "MSE/MAE in VIL code units (0..255); n/a = undefined or not computed."
)
_SEEDS_NOTE = (
    "One row per forecaster over its seeds (`seeds`): CSI-M is mean ± sd over seeds, every other number the seed mean."
)
_INTERVAL_NOTE = (
    "Δ: the difference of CSI-M means against the best baseline (models) or the full model (ablations) with "
    'its 95 % paired bootstrap interval; "beats" / "loses" only when the interval excludes 0, otherwise "does '
    'not separate" (results/nowcast/comparisons.md lists every comparison). Units: {units}; {scheme}.'
)
_POOLED_NOTE = (
    "Max-pooled over non-overlapping s x s blocks of the forecast and the truth before the counts (P{s}); "
    "P1 is the unpooled table above."
)


@dataclass(frozen=True)
class Forecaster:
    """One forecaster's score dicts, one per seed label (a deterministic baseline has one)."""

    name: str
    kind: str
    seeds: Mapping[str, Mapping[str, Any]]

    def row(self) -> Row:
        """The table row over seeds: every numeric score's seed mean, ``<key>_sd`` and ``n_seeds``."""
        return seed_rows(self.name, self.kind, self.seeds)


def _ordered(entries: Sequence[Forecaster]) -> list[Forecaster]:
    by_name = {e.name: e for e in entries}
    return [by_name[row.name] for row in shared.ordered([e.row() for e in entries], KINDS)]


def _per_seed(entries: Sequence[Forecaster], frame: Callable[[list[Row]], pd.DataFrame]) -> pd.DataFrame:
    """``frame`` of every (forecaster, seed), stacked in table order, with a ``seed`` column after ``kind``."""
    parts = []
    for entry in _ordered(entries):
        for seed, scores in entry.seeds.items():
            part = frame([Row(entry.name, entry.kind, scores)])
            part.insert(2, "seed", seed)
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def scores_frame(entries: Sequence[Forecaster]) -> pd.DataFrame:
    """Wide table: one row per (model, seed), ``model, kind, seed`` then every scalar score key (sorted)."""
    frame = _per_seed(entries, lambda rows: shared.wide_frame(rows, name_column=NAME_COLUMN, kinds=KINDS))
    keys = sorted(set(frame.columns) - {NAME_COLUMN, "kind", "seed"})
    return frame[[NAME_COLUMN, "kind", "seed", *keys]]


def scores_long(entries: Sequence[Forecaster]) -> pd.DataFrame:
    """Tidy table: ``model, kind, seed, metric, threshold, lead, value`` for every numeric score key."""
    return _per_seed(
        entries,
        lambda rows: shared.long_frame(
            rows, parse_score_key, dimensions=LONG_DIMENSIONS, name_column=NAME_COLUMN, kinds=KINDS
        ),
    ).astype(LONG_DIMENSIONS)


def markdown_columns(
    thresholds: Sequence[str], record: Mapping[str, Any] | None = None, n_leads: int | None = None
) -> list[Column]:
    """CSI-M (mean ± sd, and its interval and verdict when ``record`` is given), seeds, CSI per threshold
    label, HSS-M, MSE and MAE (code units), LPIPS, the bias at VIP 74 near 60 minutes (its header names
    the lead time of :func:`atmo.nowcast.scoring.bias_lead` for ``n_leads``) and the dry mean."""
    return [
        mean_sd_column("CSI-M", "csi_m", 3),
        *(interval_columns(record) if record is not None else []),
        Column("seeds", "n_seeds", 0),
        *(Column(f"CSI-{t}", f"csi_{t}", 3) for t in thresholds),
        Column("HSS-M", "hss_m", 3),
        Column("MSE", "mse", 1),
        Column("MAE", "mae", 2),
        Column("LPIPS", "lpips", 3),
        Column(f"bias-{BIAS_THRESHOLD} {_bias_minutes(n_leads):g} min", "bias74_60min", 2),
        Column("dry mean", "dry_mean", 2),
    ]


def _bias_minutes(n_leads: int | None) -> float:
    """Lead time of ``bias74_60min`` for forecasts of ``n_leads`` frames (60 min when unknown)."""
    return BIAS_MINUTES if n_leads is None else bias_lead(n_leads) * MINUTES_PER_LEAD


def _bias_and_dry_notes(n_leads: int | None) -> list[str]:
    """What the last two columns are, naming the lead the bias is taken at."""
    header = f"bias-{BIAS_THRESHOLD} {_bias_minutes(n_leads):g} min"
    if n_leads is None:
        at = f"at each entry's lead closest to {BIAS_MINUTES:g} min after the last input frame"
    else:
        lead = bias_lead(n_leads)
        at = f"at lead {lead}, {_bias_minutes(n_leads):g} min after the last input frame"
        if lead * MINUTES_PER_LEAD < BIAS_MINUTES:
            at += f", the last lead (the forecasts stop short of {BIAS_MINUTES:g} min)"
    return [
        f"{header}: frequency bias (H + F) / (H + M) at VIL code >= {BIAS_THRESHOLD} {at}; 1 is unbiased, above 1 "
        "storms too large or too many, below 1 storms fading. Seed mean; `bias74_60min` in scores.csv.",
        "dry mean: mean forecast VIL code (0..255) over the test pixels whose truth code is 0, summed over all "
        "leads before dividing; 0 when dry areas stay dry, raised by a weak haze below VIP 16 (which no CSI "
        "sees) or by displaced storms. Seed mean.",
    ]


def pooled_columns(thresholds: Sequence[str], pool_sizes: Sequence[int]) -> list[Column]:
    """CSI-M, then CSI at the two highest threshold labels, each at P1 and every pool size."""
    columns = []
    for header, key in (("CSI-M", "csi_m"), *((f"CSI-{t}", f"csi_{t}") for t in thresholds[-2:])):
        columns.append(Column(f"{header} P1", key, 3))
        columns += [Column(f"{header} P{s}", _pooled_key(key, s), 3) for s in pool_sizes]
    return columns


def last_lead_columns(
    thresholds: Sequence[str],
    lead: int,
    minutes_per_lead: float = MINUTES_PER_LEAD,
    record: Mapping[str, Any] | None = None,
) -> list[Column]:
    """CSI-M (mean ± sd, interval and verdict from ``record``) and CSI per threshold label at lead ``lead``."""
    at = f"{lead * minutes_per_lead:g} min"
    return [
        mean_sd_column(f"CSI-M {at}", f"csi_m_lead{lead}", 3),
        *(interval_columns(record) if record is not None else []),
        *(Column(f"CSI-{t} {at}", f"csi_{t}_lead{lead}", 3) for t in thresholds),
    ]


def _last_lead(entries: Sequence[Row]) -> int | None:
    """The number of leads every entry was scored at, or ``None`` when they differ or none says."""
    leads = {e.scores.get("n_leads") for e in entries}
    return int(leads.pop()) if len(leads) == 1 and None not in leads else None


def _pooled_key(key: str, size: int) -> str:
    """``csi_m`` -> ``csi_m_pool4``; ``csi_181`` -> ``csi_pool4_181`` (the keys of :mod:`atmo.nowcast.scoring`)."""
    return f"{key}_pool{size}" if key == "csi_m" else key.replace("csi_", f"csi_pool{size}_", 1)


def _pool_sizes(entries: Sequence[Row]) -> list[int]:
    """Block sizes every entry was scored at (from its ``csi_m_pool{s}`` keys)."""
    sizes = [
        {int(k.removeprefix("csi_m_pool")) for k in e.scores if k.startswith("csi_m_pool") and not k.endswith("_sd")}
        for e in entries
    ]
    return sorted(set.intersection(*sizes)) if sizes else []


def _unreached_rule(entries: Sequence[Row]) -> str:
    """The CSI-M rule every entry was scored with (``skip`` for score files written before it was a setting)."""
    rules = {e.scores.get("unreached_threshold", "skip") for e in entries}
    if len(rules) != 1:
        raise ValueError(f"models were scored with different unreached_threshold rules {sorted(rules)}")
    return rules.pop()


def _csi_m_note(entries: Sequence[Row], thresholds: Sequence[str]) -> str | None:
    """Which thresholds CSI-M averages, and what happened to those no test pixel reaches (left out or 0).

    ``None`` for score files written before ``csi_m_thresholds`` existed (their CSI-M used every threshold).
    """
    if not any("csi_m_thresholds" in e.scores for e in entries):
        return None
    rule = _unreached_rule(entries)
    defined = {tuple(e.scores.get("csi_m_thresholds", ())) for e in entries}
    if len(defined) != 1:
        raise ValueError(f"models were scored on different test truths (CSI-M thresholds {sorted(defined)})")
    used = [threshold_label(t) for t in defined.pop()]
    if rule == "zero":
        scores = entries[0].scores  # one test truth: every entry's hits + misses are the same
        unreached = [t for t in thresholds if scores.get(f"hits_{t}", 1) + scores.get(f"misses_{t}", 1) == 0]
        note = (
            f"CSI-M and HSS-M: mean over VIP {', '.join(used)}, a threshold no test pixel reaches counted as 0 "
            "(Earthformer's rule, as the SEVIR leaderboard reports CSI-M)"
        )
        return f"{note}; unreached here: {', '.join(unreached)}." if unreached else note + "."
    left_out = [t for t in thresholds if t not in used]
    note = f"CSI-M and HSS-M: mean over VIP {', '.join(used) or 'none'}, the thresholds the test truth reaches"
    if not left_out:
        return note + "."
    return f"{note}; left out for every model: {', '.join(left_out)} (no test pixel reaches them)."


def markdown_table(
    entries: Sequence[Row],
    record: Mapping[str, Any] | None = None,
    last_record: Mapping[str, Any] | None = None,
) -> str:
    """The unpooled comparison (CSI-M, CSI per threshold, HSS-M, MSE, MAE, LPIPS), the max-pooled one, the last lead.

    ``entries`` are rows over seeds (:meth:`Forecaster.row`); ``record`` and ``last_record`` are the
    comparisons of CSI-M over all leads and at the last lead, whose intervals and verdicts the tables show.
    """
    rows = shared.ordered(entries, KINDS)
    thresholds = _common_thresholds(rows)
    last = _last_lead(rows)
    notes = [_NOTE, _SEEDS_NOTE, *filter(None, [_csi_m_note(rows, thresholds)])]
    if record is not None:
        notes.append(_INTERVAL_NOTE.format(units=record["units"], scheme=record["scheme"]))
    notes += _bias_and_dry_notes(last)
    notes += [f"LPIPS n/a for {e.name}: {e.scores['lpips_reason']}" for e in rows if e.scores.get("lpips_reason")]
    columns = markdown_columns(thresholds, record, last)
    text = shared.markdown_table(rows, columns, name_header=NAME_COLUMN, notes=notes, kinds=KINDS)
    tables = [text]
    pool_sizes = _pool_sizes(rows)
    if pool_sizes:
        columns = pooled_columns(thresholds, pool_sizes)
        tables.append(shared.markdown_table(rows, columns, name_header=NAME_COLUMN, notes=[_POOLED_NOTE], kinds=KINDS))
    if last is not None:
        zero = _unreached_rule(rows) == "zero"
        reached = "every threshold, one its truth does not reach as 0" if zero else "the thresholds its truth reaches"
        note = f"At lead {last} only: the counts of that lead, the CSI-M over {reached}."
        columns = last_lead_columns(thresholds, last, record=last_record)
        tables.append(shared.markdown_table(rows, columns, name_header=NAME_COLUMN, notes=[note], kinds=KINDS))
    return "\n".join(tables)


def write_tables(
    entries: Sequence[Forecaster],
    *,
    csv_path: str | os.PathLike[str],
    markdown_path: str | os.PathLike[str],
    long_csv_path: str | os.PathLike[str] | None = None,
    record: Mapping[str, Any] | None = None,
    last_record: Mapping[str, Any] | None = None,
) -> None:
    """Write ``scores.csv``, the markdown table and optionally the tidy CSV, each atomically."""
    shared.write_tables(
        wide=scores_frame(entries),
        markdown=markdown_table([e.row() for e in entries], record, last_record),
        long=None if long_csv_path is None else scores_long(entries),
        csv_path=csv_path,
        markdown_path=markdown_path,
        long_csv_path=long_csv_path,
    )


def plot_csi_by_lead(
    path: str | os.PathLike[str], entries: Sequence[Row], *, minutes_per_lead: float = MINUTES_PER_LEAD
) -> None:
    """One panel per threshold, CSI against lead time (minutes), a line per model; written atomically."""
    rows = shared.ordered(entries, KINDS)
    thresholds = _common_thresholds(rows)
    fig, axes = shared.panel_grid(len(thresholds), sharex=True, sharey=True)
    for ax, threshold in zip(axes.flat, thresholds, strict=False):
        shared.plot_rows(ax, rows, _csi_curve(threshold, minutes_per_lead))
        ax.set_title(f"VIL >= {threshold}")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("lead time (min)")
    for ax in axes[:, 0]:
        ax.set_ylabel("CSI")
    shared.legend_outside(fig, axes.flat[0])
    shared.save_figure(fig, path)


def plot_event_panel(
    path: str | os.PathLike[str],
    inputs: np.ndarray,
    truth: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    *,
    n_columns: int = 6,
    minutes_per_lead: float = MINUTES_PER_LEAD,
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
    shared.save_figure(fig, path)


def _csi_curve(threshold: str, minutes_per_lead: float) -> Callable[[Row], tuple[np.ndarray, list[float]]]:
    """``row -> (lead time in minutes, CSI per lead)`` at one threshold label; undefined CSI is NaN (a gap)."""

    def curve(row: Row) -> tuple[np.ndarray, list[float]]:
        leads = np.arange(1, int(row.scores["n_leads"]) + 1)
        return leads * minutes_per_lead, [shared.as_float(row.scores.get(f"csi_{threshold}_lead{k}")) for k in leads]

    return curve


def _common_thresholds(entries: Sequence[Row]) -> list[str]:
    """Threshold labels shared by every entry (their ``thresholds`` lists must agree)."""
    lists = {tuple(e.scores["thresholds"]) for e in entries}
    if len(lists) != 1:
        raise ValueError(f"models were scored on different thresholds: {sorted(lists)}")
    return [threshold_label(t) for t in lists.pop()]


def read_scores(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The score dict of one model from its JSON file; :class:`InputError` if missing or not a score file."""
    return read_json_object(path, "nowcast score file", required=("thresholds", "n_leads"))


def write_report(
    score_paths: Mapping[str, Mapping[str, str | os.PathLike[str]]],
    kinds: Mapping[str, Kind],
    forecast_paths: Mapping[str, Mapping[str, str | os.PathLike[str]]],
    test_cache: str | os.PathLike[str],
    *,
    csv_path: str | os.PathLike[str],
    markdown_path: str | os.PathLike[str],
    csi_figure: str | os.PathLike[str],
    event_figure: str | os.PathLike[str],
    long_csv_path: str | os.PathLike[str] | None = None,
    event_index: int = 0,
    minutes_per_lead: float = MINUTES_PER_LEAD,
    record: Mapping[str, Any] | None = None,
    last_record: Mapping[str, Any] | None = None,
) -> str:
    """Everything the nowcast table job writes, from the per-(model, seed) score JSON and forecast files.

    ``score_paths[name][seed]`` and ``forecast_paths[name][seed]`` name each forecaster's files per seed
    label. The event panel shows test sample ``event_index`` (clipped to the test set) forecast by every
    model's first seed, so every model's forecast of the same storm can be compared by eye. Every input
    is read and checked before the first output is written, so a bad score or forecast file
    (:class:`InputError`) leaves no outputs. ``long_csv_path``, when given, also gets the tidy
    ``scores_long.csv``. Returns the markdown table.
    """
    unknown = sorted(set(score_paths) - set(kinds) | set(score_paths) - set(forecast_paths))
    if unknown:
        raise ValueError(f"models without a kind or a forecast file: {unknown}")
    entries = _ordered(
        [
            Forecaster(name, kinds[name], {str(seed): read_scores(path) for seed, path in by_seed.items()})
            for name, by_seed in score_paths.items()
        ]
    )
    rows = [entry.row() for entry in entries]
    table = markdown_table(rows, record, last_record)  # also checks that all models share one set of thresholds
    with open_hdf5(test_cache) as cache:
        truth_data = require_dataset(cache, "y", kinds="f", ndim=4)
        index = min(max(event_index, 0), truth_data.shape[0] - 1)
        inputs, truth = cache["x"][index, :, 0].astype(np.float32), truth_data[index].astype(np.float32)
        event = cache["event_id"][index].decode()
        truth_shape = truth_data.shape
    forecasts = {}
    for entry in entries:
        first = forecast_paths[entry.name][next(iter(entry.seeds))]
        with open_hdf5(first) as handle:
            forecasts[entry.name] = require_dataset(handle, FORECAST_DATASET, kinds="f", shape=truth_shape)[index]
    write_tables(
        entries,
        csv_path=csv_path,
        markdown_path=markdown_path,
        long_csv_path=long_csv_path,
        record=record,
        last_record=last_record,
    )
    plot_csi_by_lead(csi_figure, rows, minutes_per_lead=minutes_per_lead)
    plot_event_panel(
        event_figure, inputs, truth, forecasts, minutes_per_lead=minutes_per_lead, title=f"test event {event}"
    )
    return table
