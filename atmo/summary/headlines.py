"""Each experiment's headline from its own metrics files: a small table and one line naming the winner.

A :class:`Headline` holds rows (learned models first, then what they must beat), the columns to
show (the metric the seed cares about first) and a verdict computed from the same numbers. When a
learned model loses to a baseline the verdict says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from atmo.io.metrics_json import read_json_object
from atmo.report import Column, Row, markdown_table


@dataclass(frozen=True)
class Headline:
    """One experiment's part of the summary."""

    module: str
    title: str
    rows: list[Row]
    columns: list[Column]
    verdict: str
    sources: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        kinds = tuple(dict.fromkeys(row.kind for row in self.rows))
        return markdown_table(self.rows, self.columns, name_header="entry", kinds=kinds)


def _best(rows: list[Row], kind: str, key: str, better: Callable[[float, float], bool]) -> Row | None:
    best = None
    for row in rows:
        value = _num(row.scores.get(key))
        if row.kind == kind and not math.isnan(value) and (best is None or better(value, _num(best.scores[key]))):
            best = row
    return best


def _versus(rows: list[Row], key: str, label: str, lower_is_better: bool, digits: int = 3) -> str:
    """``best model X (a) vs best baseline Y (b): model better/worse by d``, from the rows' values."""
    better = (lambda a, b: a < b) if lower_is_better else (lambda a, b: a > b)
    model, baseline = _best(rows, "model", key, better), _best(rows, "baseline", key, better)
    if model is None or baseline is None:
        return f"No {label} comparison: a model or a baseline has no defined {label}."
    a, b = _num(model.scores[key]), _num(baseline.scores[key])
    wins = better(a, b)
    outcome = "beats" if wins else ("ties with" if a == b else "loses to")
    return (
        f"Best model `{model.name}` ({label} {a:.{digits}f}) {outcome} the best baseline `{baseline.name}` "
        f"({b:.{digits}f}) by {abs(a - b):.{digits}f} on held-out data."
    )


def nowcast(scores_csv: str | os.PathLike[str]) -> Headline:
    """SEVIR nowcasting from ``results/nowcast/scores.csv``: CSI-M first (the seed's CSI at VIP thresholds)."""
    frame = pd.read_csv(scores_csv)
    thresholds = sorted(int(c.removeprefix("csi_")) for c in frame.columns if c.removeprefix("csi_").isdigit())
    top = f"csi_{thresholds[-1]}" if thresholds else None
    name = frame.columns[0]  # the entry column ("model")
    rows = [Row(r[name], r["kind"], r) for r in frame.to_dict("records") if r["kind"] in ("model", "baseline")]
    columns = [Column("CSI-M", "csi_m", 3), *([Column(f"CSI-{thresholds[-1]}", top, 3)] if top else [])]
    columns.append(Column("MSE", "mse", 1))
    verdict = _versus(rows, "csi_m", "CSI-M", lower_is_better=False)
    return Headline("nowcast", "SEVIR nowcasting (seed 001)", rows, columns, verdict, [os.fspath(scores_csv)])


def cbh(report_json: str | os.PathLike[str]) -> Headline:
    """Cloud-base height from ``WP4_Report_All.json``: leave-one-flight-out MAE first."""
    approaches = read_json_object(report_json, "cbh report JSON")["approaches"]
    rows = [
        Row(name, entry["kind"], entry["aggregate_metrics"])
        for name, entry in approaches.items()
        if entry["kind"] in ("model", "baseline")
    ]
    columns = [Column("MAE km", "mean_mae_km", 3), Column("RMSE km", "mean_rmse_km", 3), Column("R²", "mean_r2", 2)]
    verdict = _versus(rows, "mean_mae_km", "MAE (km)", lower_is_better=True)
    return Headline(
        "cbh", "cloud-base height, leave-one-flight-out (seed 000)", rows, columns, verdict, [os.fspath(report_json)]
    )


def riskseg(scores_json: str | os.PathLike[str], comparison: Mapping[str, Any], crf: Mapping[str, str]) -> Headline:
    """Ordinal risk segmentation from ``scores.json``: class-1 precision first, V2.5 against the seed's V2."""
    scores = read_json_object(scores_json, "riskseg scores JSON")
    full, v2 = comparison["full"], comparison.get("v2")
    picks = [(f"{full}/crf_{crf[full]}", "model"), (f"{full}/ensemble", "model")]
    if v2 is not None:
        picks += [(f"{v2}/crf_{crf[v2]}", "baseline"), (f"{v2}/ensemble", "baseline")]
    rows = [Row(name, kind, scores[name]) for name, kind in picks if name in scores]
    columns = [
        Column("class-1 precision", "precision_medium", 3),
        Column("kappa", "kappa_unweighted", 3),
        Column("class-2 recall", "recall_high", 3),
        Column("Spearman rho", "spearman_rho", 3),
    ]
    verdict = _versus(rows, "kappa_unweighted", "kappa", lower_is_better=False)
    if all(math.isnan(_num(row.scores.get("precision_medium"))) for row in rows if row.kind == "model"):
        verdict += " No V2.5 product above predicts the medium class (class-1 precision undefined)."
    return Headline(
        "riskseg", "ordinal risk segmentation, test blocks (seed 002)", rows, columns, verdict, [os.fspath(scores_json)]
    )


def downscale(scores: Mapping[str, str | os.PathLike[str]]) -> Headline:
    """cVAE downscaling from the score JSONs: per-pixel CRPS first, prior-mode models against the baselines."""
    from atmo.downscale.report import claim, headline

    loaded = {name: read_json_object(path, "downscale score JSON") for name, path in scores.items()}
    facts = headline(loaded)
    rows = []
    for kind, key in (("model", "best_model"), ("reference", "best_reference")):
        if facts[key] is not None:
            rows.append(Row(facts[key]["product"], kind, loaded[facts[key]["product"]]))
    rows += [Row(name, "baseline", values) for name, values in loaded.items() if name.startswith("baseline/")]
    columns = [
        Column("CRPS mm", "crps_mm", 3),
        Column("P99 ratio", "ratio_p99", 2),
        Column("max mm", "samples_max_mm", 1),
        Column("diversity mm", "diversity_mm", 3),
    ]
    return Headline(
        "downscale",
        "conditional-VAE precipitation downscaling (seed 004)",
        rows,
        columns,
        claim(facts),
        [f"{Path(next(iter(scores.values()))).parents[1]}/"],
    )


def _num(value: Any) -> float:
    try:
        return float("nan") if value is None else float(value)
    except (TypeError, ValueError):
        return float("nan")
