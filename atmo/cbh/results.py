"""The CBH results: write-up-format JSON per approach, the score tables and two kinds of figure.

Everything is built from the fold table (:mod:`atmo.cbh.folds`), the per-(approach, seed, fold)
prediction files (:mod:`atmo.cbh.predictions`) and the comparisons (``comparisons.json``,
:mod:`atmo.cbh.comparison`) alone, so the report is rebuilt without recomputing any model.
:func:`write_reports` reads and checks every input (each approach has a file for every seed and
fold, each file holds exactly its fold's test flight, all approaches predict the same samples with
the same measured heights, the comparisons were computed from the same predictions) before it
writes anything; every output is written atomically.

Outputs of :func:`write_reports`:

- ``<json_dir>/<report_file_name(name, kind)>`` per approach, in the write-up's format
  (:func:`approach_report`): ``fold_results`` and ``aggregate_metrics`` over the approach's seeds
  (each fold's metric averaged over seeds; a single seed gives exactly that seed's report), plus
  ``seeds`` and ``per_seed`` (every seed's own report, :func:`seed_report`). File names: a network
  network (kind ``model``) writes ``WP4_Report_<name>.json`` as the write-up does; the gradient-boosted trees
  (``gbdt``) write ``WP3_Report_gbdt.json``; the oracle ``Oracle_Report_oracle.json``; every other
  baseline ``Baseline_Report_<name>.json``. An approach given a pooled k-fold R²
  (``extra["<name>_pooled_r2"]``) has it as ``aggregate_metrics.pooled_kfold_r2``.
- ``all_json`` (the write-up's ``WP4_Report_All.json``): every approach's report, keyed by name, with
  its kind and file name, the folds and the ``extra`` facts.
- ``markdown``: the main table, one row per approach (network models, then baselines, the oracle
  last): the scores over all flights as mean ± sd over seeds (fold-mean MAE, the paired
  difference in it against the best baseline with its 95 % interval and verdict from
  ``comparisons.json``, R² three ways, the flights' mean absolute bias, fold-mean RMSE, the pooled
  k-fold R² where given); then three tables of each test flight's MAE, bias and R² (mean over
  seeds); the write-up's comparisons and the ``extra`` facts as notes. The per-flight scores have
  tables of their own because five flights times three scores beside the main scores make a row
  nobody reads; the main table keeps what ranks the approaches.
- ``long_csv``: one row per (approach, seed, fold) with that fold's R², MAE, RMSE and bias, and the
  seed's pooled and within-flight R² (over all folds, repeated on each of its fold rows).
- ``figure_scatter``: predicted against measured height, one panel per approach (same axes, every
  seed's predictions), coloured by test flight, with the 1:1 line.
- ``figure_bars``: R², MAE and bias per test flight, one bar per approach (mean over seeds, the sd
  over seeds as an error bar; baselines hatched, the oracle dotted).

Metrics per fold are computed on the test flight's samples: R², MAE, RMSE and bias
(mean predicted − measured) in km. R² of a fold whose measured heights are all equal is undefined:
``null`` in the JSON, ``n/a`` in the table, and left out of the R² aggregates, which say over how
many folds they are (``n_folds_r2``). The scores over all folds at once (:mod:`atmo.cbh.scores`:
``r2_pooled``, ``r2_within_flight``) and ``mean_abs_bias_km`` are computed per seed and averaged
over seeds.
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
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

import atmo.publish as shared
from atmo.cbh.comparison import METRIC
from atmo.cbh.folds import Fold, read_fold_table
from atmo.cbh.predictions import Predictions, by_sample, check_fold, read_predictions
from atmo.cbh.products import pooled_r2_approach, pooled_r2_key, report_file_name
from atmo.cbh.scores import bias, pooled_r2, within_flight_r2
from atmo.errors import InputError
from atmo.io.atomic import write_text
from atmo.metrics.regression import mae, r2, rmse
from atmo.publish import Column, Row
from atmo.publish.comparisons import (
    WRITE_UP,
    interval_columns,
    mean_sd_column,
    read_comparisons,
    seed_rows,
    sentence,
)

PROTOCOL = "Leave-One-Flight-Out Cross-Validation"
#: Roles in the table, in order: networks, the baselines they must beat (incl. the trees), the oracle
#: (:data:`atmo.publish.KINDS_WITH_ORACLE` without ablations, which cbh has none of).
KINDS = ("model", "baseline", "oracle")
METRICS = ("r2", "mae_km", "rmse_km", "bias_km")
#: Scores of one seed over all its folds at once, averaged over seeds (not recomputed from seed-mean folds).
SEED_SCORES = ("r2_pooled", "r2_within_flight", "mean_abs_bias_km")
#: The per-flight tables under the main one: (title, fold metric).
PER_FLIGHT = (("MAE km", "mae_km"), ("Bias km (predicted − measured)", "bias_km"), ("R²", "r2"))
#: What each baseline is, for the table's notes (the ones the report is given).
BASELINE_NOTES = {
    "climatology": "the training flights' mean height",
    "lcl": "the ERA5 lifting condensation level, 125 m/K × (t2m − d2m), no fitting",
    "geometry": "the shadow-geometry estimate",
    "geometry_calibrated": "the shadow-geometry estimate plus the training flights' mean (measured − estimate)",
    "ridge": "ridge regression on the ERA5 + geometry features, its penalty chosen by inner cross-validation "
    "over the training flights",
    "gbdt": "gradient-boosted trees on the ERA5 + geometry features",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

#: ``{approach: (kind, {seed label: {fold_id: prediction file}})}``
ApproachFiles = Mapping[str, tuple[str, Mapping[str, Mapping[int, str | os.PathLike[str]]]]]


def fold_metrics(predictions: Predictions) -> dict[str, float | None]:
    """``{"r2", "mae_km", "rmse_km", "bias_km"}`` of one fold's predictions; R² ``None`` when undefined."""
    return {
        "r2": _finite_or_none(r2(predictions.pred_km, predictions.cbh_km)),
        "mae_km": mae(predictions.pred_km, predictions.cbh_km),
        "rmse_km": rmse(predictions.pred_km, predictions.cbh_km),
        "bias_km": bias(predictions.pred_km, predictions.cbh_km),
    }


def overall_metrics(folds: Sequence[Fold], predictions: Mapping[int, Predictions]) -> dict[str, float | None]:
    """``{"r2_pooled", "r2_within_flight"}`` over every fold's test samples together (``None``: undefined)."""
    joined = [predictions[fold.fold_id] for fold in folds]
    pred = np.concatenate([p.pred_km for p in joined])
    truth = np.concatenate([p.cbh_km for p in joined])
    flight = np.concatenate([p.flight for p in joined])
    return {
        "r2_pooled": _finite_or_none(pooled_r2(pred, truth)),
        "r2_within_flight": _finite_or_none(within_flight_r2(pred, truth, flight)),
    }


def seed_report(
    approach: str, protocol: str, folds: Sequence[Fold], predictions: Mapping[int, Predictions]
) -> dict[str, Any]:
    """One seed of one approach in the write-up's format, plus our additions.

    ``model_variant``, ``validation_protocol``, ``fold_results`` (``fold_id, test_flight, n_train,
    n_test, r2, mae_km, rmse_km`` per fold, ``n_train`` = samples trained on, validation excluded)
    and ``aggregate_metrics`` (``mean_r2, std_r2, mean_mae_km, std_mae_km, mean_rmse_km,
    std_rmse_km``; population std over folds) as the write-up writes them. Added: ``bias_km`` per
    fold with its ``mean_bias_km, std_bias_km`` and ``mean_abs_bias_km`` (the mean over folds of
    its absolute value), ``r2_pooled`` and ``r2_within_flight`` (:func:`overall_metrics`),
    ``n_folds``, ``n_folds_r2`` (folds with a defined R²) and ``r2_undefined_folds`` (their ids).
    Undefined numbers are ``None``.
    """
    missing = [fold.fold_id for fold in folds if fold.fold_id not in predictions]
    if missing:
        raise ValueError(f"{approach}: no predictions for folds {missing}")
    results = [
        {
            "fold_id": fold.fold_id,
            "test_flight": fold.test_flight,
            "n_train": fold.n_train,
            "n_test": len(predictions[fold.fold_id]),
            **fold_metrics(predictions[fold.fold_id]),
        }
        for fold in folds
    ]
    return {
        "model_variant": approach,
        "validation_protocol": protocol,
        "fold_results": results,
        "aggregate_metrics": {**_aggregate(results), **overall_metrics(folds, predictions)},
    }


def approach_report(
    approach: str, protocol: str, folds: Sequence[Fold], predictions: Mapping[str, Mapping[int, Predictions]]
) -> dict[str, Any]:
    """One approach over its seeds (``predictions[seed][fold_id]``), in the write-up's format.

    ``fold_results`` holds each fold's R², MAE and RMSE averaged over the seeds, and
    ``aggregate_metrics`` their mean and population std over folds (so ``mean_mae_km`` is the
    seed-mean of every seed's fold-mean MAE), plus ``n_seeds`` and ``sd_seeds_mean_<metric>``: the
    sample sd (ddof 1) over seeds of each seed's fold-mean (``None`` for one seed). The scores that
    are not means over folds (:data:`SEED_SCORES`) are each seed's, averaged over seeds, with
    ``sd_seeds_<score>``. ``seeds`` lists the seed labels and ``per_seed`` holds every seed's
    :func:`seed_report`. With one seed, the write-up format's keys are exactly that seed's.
    """
    if not predictions:
        raise ValueError(f"{approach}: no seed to report")
    per_seed = {seed: seed_report(approach, protocol, folds, by_fold) for seed, by_fold in predictions.items()}
    first = next(iter(per_seed.values()))
    results = []
    for i, fold_result in enumerate(first["fold_results"]):
        merged = dict(fold_result)
        for key in METRICS:
            values = [report["fold_results"][i][key] for report in per_seed.values()]
            merged[key] = None if any(v is None for v in values) else float(np.mean(values))
        results.append(merged)
    aggregate = _aggregate(results)
    aggregate["n_seeds"] = len(per_seed)
    for key in METRICS:
        means = [report["aggregate_metrics"][f"mean_{key}"] for report in per_seed.values()]
        defined = [m for m in means if m is not None]
        sd = float(np.std(defined, ddof=1)) if len(defined) > 1 else None
        aggregate[f"sd_seeds_mean_{key}"] = sd
    for key in SEED_SCORES:
        defined = [v for v in (report["aggregate_metrics"][key] for report in per_seed.values()) if v is not None]
        aggregate[key] = float(np.mean(defined)) if defined else None
        aggregate[f"sd_seeds_{key}"] = float(np.std(defined, ddof=1)) if len(defined) > 1 else None
    return {
        "model_variant": approach,
        "validation_protocol": protocol,
        "fold_results": results,
        "aggregate_metrics": aggregate,
        "seeds": list(per_seed),
        "per_seed": per_seed,
    }


def write_reports(
    approaches: ApproachFiles,
    fold_table_path: str | os.PathLike[str],
    comparisons_path: str | os.PathLike[str],
    *,
    json_dir: str | os.PathLike[str],
    all_json: str | os.PathLike[str],
    markdown: str | os.PathLike[str],
    long_csv: str | os.PathLike[str],
    figure_scatter: str | os.PathLike[str],
    figure_bars: str | os.PathLike[str],
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Write every CBH report output (see the module doc); returns the markdown text.

    ``approaches`` maps a name to ``(kind, {seed: {fold_id: prediction file}})`` with kind ``model``
    (networks) or ``baseline``. ``comparisons_path`` is the experiment's ``comparisons.json``, which
    must hold every approach with the same seeds and fold-mean MAE as these files give. ``extra``
    holds facts for the notes and ``WP4_Report_All.json``, e.g. ``{"gbdt_pooled_r2": 0.91,
    "mae_pretraining": "strict"}``; a pooled R² key (:func:`atmo.cbh.products.pooled_r2_key`) also fills
    its approach's pooled k-fold R² column. Raises :class:`InputError` (naming the file) or ``ValueError`` before any
    output is written.
    """
    extra = dict(extra or {})
    folds = read_fold_table(fold_table_path)
    predictions = _read_all(approaches, folds, fold_table_path)
    pooled = _pooled_r2(extra, approaches)
    reports = {}
    for name in approaches:
        report = approach_report(name, PROTOCOL, folds, predictions[name])
        if name in pooled:
            report["aggregate_metrics"]["pooled_kfold_r2"] = pooled[name]
        reports[name] = report
    record = read_comparisons(comparisons_path)
    _check_comparisons(comparisons_path, record, reports)
    rows = shared.ordered([_row(name, approaches[name][0], reports[name]) for name in reports], KINDS)
    text = markdown_table(rows, folds, reports, record, extra)
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
    texts[Path(long_csv)] = long_frame(rows, reports).to_csv(index=False)
    figures = {Path(figure_scatter): _scatter(rows, folds, predictions), Path(figure_bars): _bars(rows, folds, reports)}
    for path, fig in figures.items():
        shared.save_figure(fig, path)
    for path, content in texts.items():
        write_text(path, content)
    return text


def long_frame(rows: Sequence[Row], reports: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Every (approach, seed, fold): ``approach, kind, seed, fold_id, test_flight, n_test``, the fold's
    ``r2, mae_km, rmse_km, bias_km`` and the seed's ``r2_pooled, r2_within_flight`` (over all its folds)."""
    records = [
        {"approach": row.name, "kind": row.kind, "seed": seed}
        | {key: r[key] for key in ("fold_id", "test_flight", "n_test", *METRICS)}
        | {key: report["aggregate_metrics"][key] for key in ("r2_pooled", "r2_within_flight")}
        for row in rows
        for seed, report in reports[row.name]["per_seed"].items()
        for r in report["fold_results"]
    ]
    return pd.DataFrame.from_records(records)


def markdown_table(
    rows: Sequence[Row],
    folds: Sequence[Fold],
    reports: Mapping[str, Mapping[str, Any]],
    record: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> str:
    """The main table (scores over all flights, mean ± sd over seeds, the paired interval and verdict)
    with its notes, then one table per score of each test flight (see the module doc)."""
    has_pooled = any("pooled_kfold_r2" in reports[row.name]["aggregate_metrics"] for row in rows)
    columns = [
        Column("seeds", "n_seeds", 0),
        mean_sd_column("MAE km", "mean_mae_km", 3),
        *interval_columns(record),
        mean_sd_column("R² flight-mean", "mean_r2", 3),
        mean_sd_column("R² pooled LOFO", "r2_pooled", 3),
        mean_sd_column("R² within-flight", "r2_within_flight", 3),
        mean_sd_column("abs bias km", "mean_abs_bias_km", 3),
        mean_sd_column("RMSE km", "mean_rmse_km", 3),
        *([Column("R² pooled k-fold", "pooled_kfold_r2", 3)] if has_pooled else []),
    ]
    notes = [
        f"{PROTOCOL}: every test flight counts once ({', '.join(f'{f.test_flight} n={f.n_test}' for f in folds)}). "
        "MAE, R² flight-mean, abs bias and RMSE are each fold's score averaged over the folds; R² pooled LOFO and "
        "R² within-flight are computed over every fold's test samples together. Each is shown as mean ± sd over "
        "training seeds (sd with ddof 1; one seed: the mean alone). Heights in km; n/a = undefined.",
        "R² flight-mean: each test flight's R² (the write-up's), which divides by that flight's own spread of "
        "heights. R² pooled LOFO: R² over all test samples, between flights and within them. R² within-flight: "
        "the same after removing each flight's mean from the measured and from the predicted heights; 0 for one "
        "value per flight (climatology), 1 for an approach right up to one offset per flight. Abs bias: each "
        "flight's mean (predicted − measured), its absolute value averaged over flights (signed per flight below).",
        f"{record['label']} Δ: the difference in fold-mean MAE against the best baseline "
        f"(`{record['best_baseline']}`, the baseline with the lowest fold-mean MAE; negative = lower error), with "
        f'its 95 % interval: {record["scheme"]}. Verdict: "beats" / "loses" when the interval excludes 0 for / '
        'against the row; otherwise "does not separate".',
    ]
    described = [f"`{row.name}`: {BASELINE_NOTES[row.name]}" for row in rows if row.name in BASELINE_NOTES]
    if described:
        notes.append(f"Baselines, fitted on the training flights only: {'; '.join(described)}.")
    if any(row.kind == "oracle" for row in rows):
        notes.append(
            "Oracle: the synthetic generator's noiseless cloud base, without the lidar's noise: how far the labels "
            "let any approach go. Shown, never compared or ranked."
        )
    for result in record["comparisons"]:
        if result["role"] == WRITE_UP:
            notes.append(f"- write-up: {sentence(result, record['label'], record['units'], 3)}")
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
            "its gap to R² pooled LOFO (the same pooling, each flight held out) is the within-flight leakage "
            "LOFO avoids."
        )
    in_columns = {pooled_r2_key(row.name) for row in rows}
    notes += [f"- {key}: {_note_value(value)}" for key, value in extra.items() if key not in in_columns]
    tables = [shared.markdown_table(rows, columns, name_header="approach", notes=notes, kinds=KINDS)]
    for title, key in PER_FLIGHT:
        flight_columns = [
            Column(f"{fold.test_flight} n={fold.n_test}", f"{key}_fold{fold.fold_id}", 3) for fold in folds
        ]
        table = shared.markdown_table(rows, flight_columns, name_header="approach", kinds=KINDS)
        tables.append(f"{title} per test flight, mean over seeds:\n\n{table}")
    return "\n".join(tables)


def fold_facts(baselines: Sequence[Mapping[str, Any]], ridge: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The per-fold facts of the baselines and ridge (their jobs' JSON, in fold order) as ``extra`` notes.

    What share of each baseline is climatology (its filled fraction), the calibration each fold
    fitted, and the ridge penalty each fold chose and on what.
    """

    def joined(values: Sequence[Any], spec: str) -> str:
        return ", ".join(shared.MISSING if v is None else format(v, spec) for v in values)

    return {
        "geometry_no_shadow_share_per_fold": joined([f["geometry_filled_fraction"] for f in baselines], ".2f"),
        "geometry_calibration_bias_km_per_fold": joined([f["geometry_bias_km"] for f in baselines], "+.3f"),
        "lcl_missing_share_per_fold": joined([f["lcl_filled_fraction"] for f in baselines], ".2f"),
        "ridge_alpha_per_fold": joined([f["alpha"] for f in ridge], "g"),
        "ridge_alpha_chosen_on": joined([f["inner"] for f in ridge], "s"),
    }


def pretraining_facts(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``extra`` notes of what each masked autoencoder trained on, from its job's ``metrics.json``.

    ``metrics`` maps a pretraining fold (``"0"`` ... or ``"all"``) to one of its jobs' metrics (the
    frame counts are the same for every seed and encoder of a fold): the frames it trained on and how
    many of them no label could have used, which is what makes self-supervised pretraining worth it.
    """
    return {
        "mae_pretraining_frames_per_fold": ", ".join(
            f"{fold}: {m['n_train_samples']} ({m['n_train_unlabelled']} unlabelled, {m['n_val_samples']} validate)"
            for fold, m in metrics.items()
        )
    }


def _aggregate(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and population std over folds of each metric (undefined folds left out), the write-up's keys."""
    aggregate: dict[str, Any] = {"n_folds": len(results)}
    for key in METRICS:
        values = np.array([np.nan if r[key] is None else r[key] for r in results], dtype=np.float64)
        defined = values[np.isfinite(values)]
        aggregate[f"mean_{key}"] = _finite_or_none(defined.mean()) if len(defined) else None
        aggregate[f"std_{key}"] = _finite_or_none(defined.std()) if len(defined) else None
    aggregate["mean_abs_bias_km"] = float(np.mean([abs(r["bias_km"]) for r in results]))
    aggregate["r2_undefined_folds"] = [r["fold_id"] for r in results if r["r2"] is None]
    aggregate["n_folds_r2"] = len(results) - len(aggregate["r2_undefined_folds"])
    return aggregate


def _row(name: str, kind: str, report: Mapping[str, Any]) -> Row:
    """The table row of one approach: every seed's flat scores merged into mean, ``_sd`` and ``n_seeds``."""
    row = seed_rows(name, kind, {seed: _scores(seed_report) for seed, seed_report in report["per_seed"].items()})
    pooled = report["aggregate_metrics"].get("pooled_kfold_r2")
    return Row(row.name, row.kind, {**row.scores, "pooled_kfold_r2": pooled} if pooled is not None else row.scores)


def _check_comparisons(
    path: str | os.PathLike[str], record: Mapping[str, Any], reports: Mapping[str, Mapping[str, Any]]
) -> None:
    """The comparisons must be of these predictions: same metric, approaches, seeds and fold-mean MAE."""
    if record["metric"] != METRIC.name:
        raise InputError(path, f"compares {record['metric']!r}, the cbh report needs {METRIC.name!r}")
    entries = record["entries"]
    for name, report in reports.items():
        entry = entries.get(name)
        if entry is None or [str(s) for s in entry["seeds"]] != report["seeds"]:
            seeds = None if entry is None else entry["seeds"]
            raise InputError(path, f"approach '{name}': seeds {seeds}, the predictions have {report['seeds']}")
        mine = report["aggregate_metrics"]["mean_mae_km"]
        if entry["mean"] is None or not math.isclose(entry["mean"], mine, rel_tol=1e-9, abs_tol=1e-12):
            raise InputError(
                path, f"approach '{name}': fold-mean MAE {entry['mean']}, its predictions give {mine} (stale file?)"
            )


def _read_all(
    approaches: ApproachFiles, folds: Sequence[Fold], fold_table_path: str | os.PathLike[str]
) -> dict[str, dict[str, dict[int, Predictions]]]:
    """Every prediction file, checked against its fold and against the other approaches and seeds."""
    if not approaches:
        raise ValueError("no approach to report")
    ids = [fold.fold_id for fold in folds]
    out: dict[str, dict[str, dict[int, Predictions]]] = {}
    reference: dict[int, tuple[str, Predictions]] = {}
    for name, (kind, by_seed) in approaches.items():
        if not _NAME.fullmatch(name):
            raise ValueError(f"approach name {name!r} is not usable in a file name")
        if kind not in KINDS:
            raise ValueError(f"approach {name!r}: kind must be one of {list(KINDS)}, got {kind!r}")
        if not by_seed:
            raise ValueError(f"approach {name!r} has no seed")
        out[name] = {}
        for seed, files in by_seed.items():
            if sorted(files) != sorted(ids):
                raise InputError(
                    fold_table_path,
                    f"approach '{name}' seed {seed} has predictions for folds {sorted(files)}, the folds are {ids}",
                )
            out[name][str(seed)] = {}
            for fold in folds:
                path = files[fold.fold_id]
                predictions = read_predictions(path)
                check_fold(path, predictions, fold)
                if fold.fold_id in reference:
                    _check_same_samples(path, predictions, *reference[fold.fold_id])
                else:
                    reference[fold.fold_id] = (f"{name} seed {seed}", by_sample(predictions))
                out[name][str(seed)][fold.fold_id] = predictions
    return out


def _check_same_samples(path: str | os.PathLike[str], predictions: Predictions, name: str, ref: Predictions) -> None:
    mine = by_sample(predictions)
    if not np.array_equal(mine.sample, ref.sample):
        raise InputError(path, f"predicts other samples than approach '{name}' for fold {predictions.fold_id[0]}")
    if not np.allclose(mine.cbh_km, ref.cbh_km, rtol=1e-6, atol=1e-6):
        raise InputError(path, f"measured cbh_km differs from approach '{name}'s for the same samples")


def _pooled_r2(extra: Mapping[str, Any], approaches: Mapping[str, Any]) -> dict[str, float | None]:
    pooled = {}
    for key, value in extra.items():
        if not isinstance(key, str):
            raise ValueError(f"extra keys must be strings, got {key!r}")
        name = pooled_r2_approach(key)
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
        for key in METRICS:
            scores[f"{key}_fold{result['fold_id']}"] = result[key]
    return scores


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


#: Bar hatching by kind: a baseline's bars hatched, the oracle's dotted, a model's plain.
_HATCHES = {"baseline": "//", "oracle": ".."}


def _flight_colours(folds: Sequence[Fold]) -> dict[int, Any]:
    cmap = colormaps["tab10"]
    return {fold.fold_id: cmap(i % cmap.N) for i, fold in enumerate(folds)}


def _scatter(
    rows: Sequence[Row], folds: Sequence[Fold], predictions: Mapping[str, Mapping[str, Mapping[int, Predictions]]]
) -> Figure:
    """One panel per approach: predicted against measured height (every seed), a colour per test flight, 1:1."""
    fig, axes = shared.panel_grid(len(rows), max_columns=3, panel_size=(3.8, 3.6))
    colours = _flight_colours(folds)
    joined = np.concatenate(
        [np.r_[p.cbh_km, p.pred_km] for by_seed in predictions.values() for f in by_seed.values() for p in f.values()]
    )
    low, high = float(joined.min()), float(joined.max())
    pad = 0.05 * (high - low) or 0.1
    limits = (low - pad, high + pad)
    for ax, row in zip(axes.flat, rows, strict=False):
        seeds = predictions[row.name]
        for fold in folds:
            truth = np.concatenate([by_fold[fold.fold_id].cbh_km for by_fold in seeds.values()])
            pred = np.concatenate([by_fold[fold.fold_id].pred_km for by_fold in seeds.values()])
            alpha = 0.7 / math.sqrt(len(seeds))
            ax.scatter(truth, pred, s=10, alpha=alpha, color=colours[fold.fold_id], label=fold.test_flight)
        ax.plot(limits, limits, "k--", lw=1, label="1:1")
        ax.set_xlim(*limits)
        ax.set_ylim(*limits)
        ax.set_aspect("equal")
        ax.set_xlabel("measured CBH (km)")
        ax.set_ylabel("predicted CBH (km)")
        r2_text = shared.format_number(row.scores.get("mean_r2"), 3)
        mae_text = shared.format_number(row.scores.get("mean_mae_km"), 3)
        n_seeds = len(seeds)
        ax.set_title(
            f"{row.name} ({row.kind}, {n_seeds} seed{'s' if n_seeds > 1 else ''})\n"
            f"mean R² {r2_text}, MAE {mae_text} km",
            fontsize=9,
        )
        ax.grid(alpha=0.3)
    shared.legend_outside(fig, axes.flat[0])
    return fig


def _bars(rows: Sequence[Row], folds: Sequence[Fold], reports: Mapping[str, Mapping[str, Any]]) -> Figure:
    """R², MAE and bias per test flight, one bar per approach (mean over seeds, sd as error bar; baselines
    hatched, the oracle dotted).

    The R² axis is clipped at -1.
    """
    fig, axes = shared.panel_grid(3, max_columns=3, panel_size=(max(4.0, 1.1 * len(folds) + 1.5), 3.4))
    cmap = colormaps["tab10"]
    x = np.arange(len(folds))
    width = 0.8 / len(rows)
    floor = -1.0
    panels = (
        (axes[0, 0], "r2", "R²", "R² per test flight (clipped at -1)"),
        (axes[0, 1], "mae_km", "MAE (km)", "MAE per test flight"),
        (axes[0, 2], "bias_km", "bias (km)", "bias (predicted − measured) per test flight"),
    )
    for ax, key, label, title in panels:
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
                yerr=_seed_sd(reports[row.name], key, folds) if key != "r2" else None,
                error_kw={"elinewidth": 0.8, "capsize": 1.5},
                color=cmap(i % cmap.N),
                hatch=_HATCHES.get(row.kind),
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
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
        if key != "mae_km":
            ax.axhline(0.0, color="k", lw=0.8)
        if key == "r2":
            ax.set_ylim(bottom=min(lowest, 0.0) - 0.05, top=1.0)
    shared.legend_outside(fig, axes[0, 0])
    return fig


def _seed_sd(report: Mapping[str, Any], key: str, folds: Sequence[Fold]) -> np.ndarray | None:
    """Per fold, the sd over seeds (ddof 1) of the metric ``key``; ``None`` for a single seed (no error bar)."""
    per_seed = report["per_seed"].values()
    if len(per_seed) < 2:
        return None
    values = np.array([[shared.as_float(r[key]) for r in seed["fold_results"]] for seed in per_seed], dtype=np.float64)
    return np.nanstd(values, axis=0, ddof=1)[: len(folds)]
