"""The CBH results: seed-format JSON per approach, one markdown comparison and two kinds of figure.

Everything is built from the fold table (:mod:`atmo.cbh.folds`) and the per-(approach, fold)
prediction files (:mod:`atmo.cbh.predictions`) alone, so the report is rebuilt without recomputing
any model. :func:`write_reports` reads and checks every input (each approach has a file for every
fold, each file holds exactly its fold's test flight, all approaches predict the same samples
with the same measured heights) before it writes anything; every output is written atomically.

Outputs of :func:`write_reports`:

- ``<json_dir>/<report_file_name(name, kind)>`` per approach, in the seed's format
  (:func:`seed_report`). File names: a WP-4 network (kind ``model``) writes
  ``WP4_Report_<name>.json`` as the seed does; the WP-3 trees (``gbdt``) write
  ``WP3_Report_gbdt.json``; every other baseline writes ``Baseline_Report_<name>.json``
  (``Baseline_Report_climatology.json``, ``Baseline_Report_geometry.json``). An approach given a
  pooled k-fold R² (``extra["<name>_pooled_r2"]``) has it as ``aggregate_metrics.pooled_kfold_r2``.
- ``all_json`` (the seed's ``WP4_Report_All.json``): every approach's report, keyed by name, with
  its kind and file name, the folds and the ``extra`` facts.
- ``markdown``: one table, one row per approach (WP-4 models first, then baselines), with
  R²/MAE/RMSE mean ± std over folds, the bootstrap 95 % intervals (:mod:`atmo.metrics.bootstrap`),
  the pooled k-fold R² where given, and R² and MAE per test flight; the ``extra`` facts as notes.
- ``figure_scatter``: predicted against measured height, one panel per approach (same axes),
  coloured by test flight, with the 1:1 line.
- ``figure_bars``: R² and MAE per test flight, one bar per approach (baselines hatched).

Metrics per fold are computed on the test flight's samples: R², MAE and RMSE in km. R² of a fold
whose measured heights are all equal is undefined: ``null`` in the JSON, ``n/a`` in the table, and
left out of the R² aggregates, which say over how many folds they are (``n_folds_r2``).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

import atmo.report as shared
from atmo.cbh.folds import Fold, read_fold_table
from atmo.cbh.predictions import Predictions, read_predictions
from atmo.cbh.report_files import report_file_name
from atmo.errors import InputError
from atmo.io.atomic import write_text
from atmo.metrics.bootstrap import bootstrap_fold_mean
from atmo.metrics.regression import mae, r2, rmse
from atmo.report import Column, Row

PROTOCOL = "Leave-One-Flight-Out Cross-Validation"
#: Roles in the table, in order: WP-4 networks, then the baselines they must beat (incl. WP-3).
KINDS = ("model", "baseline")
#: ``extra`` keys ``<approach>_pooled_r2`` give that approach's pooled k-fold R² (the WP-3 leakage check).
POOLED_SUFFIX = "_pooled_r2"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def fold_metrics(predictions: Predictions) -> dict[str, float | None]:
    """``{"r2", "mae_km", "rmse_km"}`` of one fold's predictions; R² ``None`` when undefined."""
    return {
        "r2": _finite_or_none(r2(predictions.pred_km, predictions.cbh_km)),
        "mae_km": mae(predictions.pred_km, predictions.cbh_km),
        "rmse_km": rmse(predictions.pred_km, predictions.cbh_km),
    }


def seed_report(
    approach: str,
    protocol: str,
    folds: Sequence[Fold],
    predictions: Mapping[int, Predictions],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """One approach's results in the seed's format, plus our additions.

    ``model_variant``, ``validation_protocol``, ``fold_results`` (``fold_id, test_flight, n_train,
    n_test, r2, mae_km, rmse_km`` per fold, ``n_train`` = samples trained on, validation excluded)
    and ``aggregate_metrics`` (``mean_r2, std_r2, mean_mae_km, std_mae_km, mean_rmse_km,
    std_rmse_km``; population std over folds) as the seed writes them. Added: ``n_folds``,
    ``n_folds_r2`` (folds with a defined R²), ``r2_undefined_folds`` (their ids), and the
    percentile-bootstrap 95 % intervals of the fold-mean ``r2_ci95`` and ``mae_km_ci95``
    (``[low, high]``; ``n_boot`` resamples, ``seed``). Undefined numbers are ``None``.
    """
    missing = [fold.fold_id for fold in folds if fold.fold_id not in predictions]
    if missing:
        raise ValueError(f"{approach}: no predictions for folds {missing}")
    results = []
    for fold in folds:
        results.append(
            {
                "fold_id": fold.fold_id,
                "test_flight": fold.test_flight,
                "n_train": fold.n_train,
                "n_test": len(predictions[fold.fold_id]),
                **fold_metrics(predictions[fold.fold_id]),
            }
        )
    pairs = [(predictions[fold.fold_id].cbh_km, predictions[fold.fold_id].pred_km) for fold in folds]
    aggregate: dict[str, Any] = {"n_folds": len(folds)}
    for key in ("r2", "mae_km", "rmse_km"):
        values = np.array([np.nan if r[key] is None else r[key] for r in results], dtype=np.float64)
        defined = values[np.isfinite(values)]
        aggregate[f"mean_{key}"] = _finite_or_none(defined.mean()) if len(defined) else None
        aggregate[f"std_{key}"] = _finite_or_none(defined.std()) if len(defined) else None
    aggregate["r2_undefined_folds"] = [r["fold_id"] for r in results if r["r2"] is None]
    aggregate["n_folds_r2"] = len(folds) - len(aggregate["r2_undefined_folds"])
    for key, metric in (("r2", r2), ("mae_km", mae)):
        _, low, high = bootstrap_fold_mean(pairs, metric, n_boot=n_boot, seed=seed, level=0.95)
        aggregate[f"{key}_ci95"] = [_finite_or_none(low), _finite_or_none(high)]
    return {
        "model_variant": approach,
        "validation_protocol": protocol,
        "fold_results": results,
        "aggregate_metrics": aggregate,
    }


def write_reports(
    approaches: Mapping[str, tuple[str, Mapping[int, str | os.PathLike[str]]]],
    fold_table_path: str | os.PathLike[str],
    *,
    json_dir: str | os.PathLike[str],
    all_json: str | os.PathLike[str],
    markdown: str | os.PathLike[str],
    figure_scatter: str | os.PathLike[str],
    figure_bars: str | os.PathLike[str],
    extra: Mapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> str:
    """Write every CBH report output (see the module doc); returns the markdown text.

    ``approaches`` maps a name to ``(kind, {fold_id: prediction file})`` with kind ``model`` (WP-4)
    or ``baseline``. ``extra`` holds facts for the notes and ``WP4_Report_All.json``, e.g.
    ``{"gbdt_pooled_r2": 0.91, "mae_pretraining": "strict", "validation_method": "fraction"}``;
    ``<name>_pooled_r2`` keys also fill that approach's pooled k-fold R² column. Raises
    :class:`InputError` (naming the file) or ``ValueError`` before any output is written.
    """
    extra = dict(extra or {})
    folds = read_fold_table(fold_table_path)
    predictions = _read_all(approaches, folds, fold_table_path)
    pooled = _pooled_r2(extra, approaches)
    reports = {}
    for name in approaches:
        report = seed_report(name, PROTOCOL, folds, predictions[name], n_boot=n_boot, seed=seed)
        if name in pooled:
            report["aggregate_metrics"]["pooled_kfold_r2"] = pooled[name]
        reports[name] = report
    rows = shared.ordered([Row(name, approaches[name][0], _scores(reports[name])) for name in reports], KINDS)
    text = markdown_table(rows, folds, reports, extra, n_boot=n_boot, seed=seed)
    combined = {
        "validation_protocol": PROTOCOL,
        "folds": [_fold_record(fold) for fold in folds],
        "approaches": {
            row.name: {"kind": row.kind, "report_file": report_file_name(row.name, row.kind), **reports[row.name]}
            for row in rows
        },
        "extra": {key: _finite_or_none(v) if isinstance(v, float) else v for key, v in extra.items()},
    }
    texts = {Path(json_dir) / report_file_name(row.name, row.kind): _json_text(reports[row.name]) for row in rows}
    texts[Path(all_json)] = _json_text(combined)
    texts[Path(markdown)] = text
    figures = {Path(figure_scatter): _scatter(rows, folds, predictions), Path(figure_bars): _bars(rows, folds, reports)}
    for path, fig in figures.items():
        shared.save_figure(fig, path)
    for path, content in texts.items():
        write_text(path, content)
    return text


def markdown_table(
    rows: Sequence[Row],
    folds: Sequence[Fold],
    reports: Mapping[str, Mapping[str, Any]],
    extra: Mapping[str, Any],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> str:
    """Every approach side by side: aggregates (mean ± std, bootstrap 95 % CI), then R² and MAE per fold."""
    has_pooled = any("pooled_kfold_r2" in reports[row.name]["aggregate_metrics"] for row in rows)
    columns = [
        Column("R² mean ± std", lambda row: _mean_std(row, "r2")),
        Column("R² 95% CI", lambda row: _interval(row, "r2_ci95")),
        *([Column("R² pooled k-fold", "pooled_kfold_r2", 3)] if has_pooled else []),
        Column("MAE km mean ± std", lambda row: _mean_std(row, "mae_km")),
        Column("MAE km 95% CI", lambda row: _interval(row, "mae_km_ci95")),
        Column("RMSE km mean ± std", lambda row: _mean_std(row, "rmse_km")),
        *(Column(f"R² {fold.test_flight}", f"r2_fold{fold.fold_id}", 3) for fold in folds),
        *(Column(f"MAE km {fold.test_flight}", f"mae_km_fold{fold.fold_id}", 3) for fold in folds),
    ]
    notes = [
        f"{PROTOCOL}: each column named after a flight scores the fold that tests on it "
        f"({', '.join(f'{f.test_flight} n={f.n_test}' for f in folds)}). Mean ± std over folds "
        f"(population std); 95% CI: percentile bootstrap of the fold-mean, test samples resampled "
        f"within each fold ({n_boot} resamples, seed {seed}). Heights in km; n/a = undefined.",
    ]
    for row in rows:
        undefined = reports[row.name]["aggregate_metrics"]["r2_undefined_folds"]
        if undefined:
            n_defined = reports[row.name]["aggregate_metrics"]["n_folds_r2"]
            notes.append(
                f"{row.name}: R² undefined (constant measured height) on fold(s) {undefined}; "
                f"its R² aggregates are over the other {n_defined} fold(s)."
            )
    if has_pooled:
        notes.append(
            "R² pooled k-fold: out-of-fold R² of a shuffled k-fold over all samples with flights mixed; "
            "its gap to the leave-one-flight-out mean R² is the within-flight leakage LOFO avoids."
        )
    in_columns = {f"{row.name}{POOLED_SUFFIX}" for row in rows}
    notes += [f"- {key}: {_note_value(value)}" for key, value in extra.items() if key not in in_columns]
    return shared.markdown_table(rows, columns, name_header="approach", notes=notes, kinds=KINDS)


def _read_all(
    approaches: Mapping[str, tuple[str, Mapping[int, str | os.PathLike[str]]]],
    folds: Sequence[Fold],
    fold_table_path: str | os.PathLike[str],
) -> dict[str, dict[int, Predictions]]:
    """Every prediction file, checked against its fold and against the other approaches."""
    if not approaches:
        raise ValueError("no approach to report")
    ids = [fold.fold_id for fold in folds]
    out: dict[str, dict[int, Predictions]] = {}
    reference: dict[int, tuple[str, Predictions]] = {}
    for name, (kind, files) in approaches.items():
        if not _NAME.fullmatch(name):
            raise ValueError(f"approach name {name!r} is not usable in a file name")
        if kind not in KINDS:
            raise ValueError(f"approach {name!r}: kind must be one of {list(KINDS)}, got {kind!r}")
        if sorted(files) != sorted(ids):
            raise InputError(
                fold_table_path, f"approach '{name}' has predictions for folds {sorted(files)}, the folds are {ids}"
            )
        out[name] = {}
        for fold in folds:
            path = files[fold.fold_id]
            predictions = read_predictions(path)
            _check_fold(path, predictions, fold)
            if fold.fold_id in reference:
                _check_same_samples(path, predictions, *reference[fold.fold_id])
            else:
                reference[fold.fold_id] = (name, _by_sample(predictions))
            out[name][fold.fold_id] = predictions
    return out


def _check_fold(path: str | os.PathLike[str], predictions: Predictions, fold: Fold) -> None:
    if (predictions.fold_id != fold.fold_id).any():
        raise InputError(path, f"fold_id {sorted(set(predictions.fold_id.tolist()))}, expected {fold.fold_id}")
    flights = sorted(set(predictions.flight.tolist()))
    if flights != [fold.test_flight]:
        raise InputError(
            path, f"flights {flights}, expected only fold {fold.fold_id}'s test flight '{fold.test_flight}'"
        )
    if len(predictions) != fold.n_test:
        raise InputError(path, f"{len(predictions)} predictions, fold {fold.fold_id} has n_test {fold.n_test}")


def _check_same_samples(path: str | os.PathLike[str], predictions: Predictions, name: str, ref: Predictions) -> None:
    mine = _by_sample(predictions)
    if not np.array_equal(mine.sample, ref.sample):
        raise InputError(path, f"predicts other samples than approach '{name}' for fold {predictions.fold_id[0]}")
    if not np.allclose(mine.cbh_km, ref.cbh_km, rtol=1e-6, atol=1e-6):
        raise InputError(path, f"measured cbh_km differs from approach '{name}'s for the same samples")


def _by_sample(predictions: Predictions) -> Predictions:
    order = np.argsort(predictions.sample, kind="stable")
    return Predictions(
        sample=predictions.sample[order],
        flight=predictions.flight[order],
        fold_id=predictions.fold_id[order],
        cbh_km=predictions.cbh_km[order],
        pred_km=predictions.pred_km[order],
    )


def _pooled_r2(extra: Mapping[str, Any], approaches: Mapping[str, Any]) -> dict[str, float | None]:
    pooled = {}
    for key, value in extra.items():
        if not isinstance(key, str):
            raise ValueError(f"extra keys must be strings, got {key!r}")
        name = key[: -len(POOLED_SUFFIX)] if key.endswith(POOLED_SUFFIX) else None
        if name in approaches:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"extra {key!r} must be a number or None, got {value!r}")
            pooled[name] = None if value is None else _finite_or_none(float(value))
    return pooled


def _scores(report: Mapping[str, Any]) -> dict[str, Any]:
    """A flat score dict of one report for the table: aggregates and ``<metric>_fold<k>``."""
    aggregate = report["aggregate_metrics"]
    scores = dict(aggregate)
    for result in report["fold_results"]:
        for key in ("r2", "mae_km", "rmse_km"):
            scores[f"{key}_fold{result['fold_id']}"] = result[key]
    return scores


def _mean_std(row: Row, key: str) -> str:
    mean, std = row.scores.get(f"mean_{key}"), row.scores.get(f"std_{key}")
    if mean is None or std is None:
        return shared.MISSING
    return f"{mean:.3f} ± {std:.3f}"


def _interval(row: Row, key: str) -> str:
    low, high = row.scores.get(key, [None, None])
    if low is None or high is None:
        return shared.MISSING
    return f"[{low:.3f}, {high:.3f}]"


def _note_value(value: Any) -> str:
    if isinstance(value, float):
        return shared.format_number(value, 3)
    return shared.format_text(value)


def _fold_record(fold: Fold) -> dict[str, Any]:
    return {
        "fold_id": fold.fold_id,
        "test_flight": fold.test_flight,
        "train_flights": list(fold.train_flights),
        "val_flights": list(fold.val_flights),
        "n_train": fold.n_train,
        "n_val": fold.n_val,
        "n_test": fold.n_test,
    }


def _json_text(obj: Any) -> str:
    """Indented JSON with sorted keys (reruns give identical bytes); NaN refused, so it is valid JSON."""
    try:
        return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise ValueError(f"report content is not JSON: {err}") from None


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _flight_colours(folds: Sequence[Fold]) -> dict[int, Any]:
    cmap = colormaps["tab10"]
    return {fold.fold_id: cmap(i % cmap.N) for i, fold in enumerate(folds)}


def _scatter(
    rows: Sequence[Row], folds: Sequence[Fold], predictions: Mapping[str, Mapping[int, Predictions]]
) -> Figure:
    """One panel per approach: predicted against measured height, a colour per test flight, the 1:1 line."""
    fig, axes = shared.panel_grid(len(rows), max_columns=3, panel_size=(3.8, 3.6))
    colours = _flight_colours(folds)
    joined = np.concatenate([np.r_[p.cbh_km, p.pred_km] for by_fold in predictions.values() for p in by_fold.values()])
    low, high = float(joined.min()), float(joined.max())
    pad = 0.05 * (high - low) or 0.1
    limits = (low - pad, high + pad)
    for ax, row in zip(axes.flat, rows, strict=False):
        for fold in folds:
            p = predictions[row.name][fold.fold_id]
            ax.scatter(p.cbh_km, p.pred_km, s=10, alpha=0.7, color=colours[fold.fold_id], label=fold.test_flight)
        ax.plot(limits, limits, "k--", lw=1, label="1:1")
        ax.set_xlim(*limits)
        ax.set_ylim(*limits)
        ax.set_aspect("equal")
        ax.set_xlabel("measured CBH (km)")
        ax.set_ylabel("predicted CBH (km)")
        r2_text = shared.format_number(row.scores.get("mean_r2"), 3)
        mae_text = shared.format_number(row.scores.get("mean_mae_km"), 3)
        ax.set_title(f"{row.name} ({row.kind})\nmean R² {r2_text}, MAE {mae_text} km", fontsize=9)
        ax.grid(alpha=0.3)
    shared.legend_outside(fig, axes.flat[0])
    return fig


def _bars(rows: Sequence[Row], folds: Sequence[Fold], reports: Mapping[str, Mapping[str, Any]]) -> Figure:
    """R² and MAE per test flight, one bar per approach (baselines hatched); R² axis clipped at -1."""
    fig, axes = shared.panel_grid(2, max_columns=2, panel_size=(max(4.0, 1.1 * len(folds) + 1.5), 3.4))
    cmap = colormaps["tab10"]
    x = np.arange(len(folds))
    width = 0.8 / len(rows)
    floor = -1.0
    for ax, key, label in ((axes[0, 0], "r2", "R²"), (axes[0, 1], "mae_km", "MAE (km)")):
        lowest = 0.0
        for i, row in enumerate(rows):
            by_fold = {r["fold_id"]: r[key] for r in reports[row.name]["fold_results"]}
            heights = np.array([shared.as_float(by_fold[fold.fold_id]) for fold in folds])
            offset = x - 0.4 + width * (i + 0.5)
            shown = np.maximum(heights, floor) if key == "r2" else heights
            ax.bar(
                offset,
                shown,
                width,
                color=cmap(i % cmap.N),
                hatch="//" if row.kind == "baseline" else None,
                edgecolor="white",
                label=row.name,
            )
            if key == "r2":
                for xi, value in zip(offset, heights, strict=True):
                    if np.isfinite(value) and value < floor:
                        ax.annotate(f"{value:.1f}", (xi, floor), ha="center", va="bottom", fontsize=6, rotation=90)
            finite = shown[np.isfinite(shown)]
            lowest = min(lowest, float(finite.min())) if len(finite) else lowest
        ax.set_xticks(x, [fold.test_flight for fold in folds])
        ax.set_ylabel(label)
        ax.set_xlabel("test flight")
        ax.grid(alpha=0.3, axis="y")
        if key == "r2":
            ax.axhline(0.0, color="k", lw=0.8)
            ax.set_ylim(bottom=min(lowest, 0.0) - 0.05, top=1.0)
    axes[0, 0].set_title("R² per test flight (clipped at -1)", fontsize=9)
    axes[0, 1].set_title("MAE per test flight", fontsize=9)
    shared.legend_outside(fig, axes[0, 0])
    return fig
