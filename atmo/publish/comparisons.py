"""An experiment's comparisons: which pairs, their paired intervals and verdicts, and the files they go to.

Every experiment names the same kinds of comparison, so they are built here once:

- **vs best baseline**: every ``model`` entry against the best ``baseline`` (the baseline with the
  best seed-mean test score: the strongest opponent, which makes a "beats" harder, not easier);
- **ablation**: every ``ablation`` entry against the full model it switches a part off in;
- **write-up**: the pairs the experiment's write-up asks about (e.g. SGT vs UNet);
- the **headline**: the experiment's main model against the best baseline, which the summary shows.

``oracle`` entries (what the data generator knows) are scored and shown with their mean, but never
compared or ranked: they say how far the data allow a model to go.

:func:`compare` runs :func:`atmo.metrics.paired.paired_difference` for every pair;
:func:`write_comparisons` writes ``comparisons.json`` (what the summary and the README read) and
``comparisons.md``. :func:`seed_rows` and :func:`mean_sd_column` give the score tables their
mean ± sd over seeds, and :func:`interval_columns` their interval and verdict columns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from atmo.io.atomic import write_json, write_text
from atmo.io.metrics_json import read_json_object
from atmo.metrics.paired import LOSES, NO_SEPARATION, Resampling, paired_difference, seed_scores
from atmo.metrics.pooled import PooledMetric
from atmo.metrics.unit_stats import read_unit_stats
from atmo.publish.rows import Row
from atmo.publish.tables import MISSING, Column, format_number

VS_BEST_BASELINE = "vs best baseline"
ABLATION = "ablation"
WRITE_UP = "write-up"
COMPARED_KINDS = ("model", "baseline", "ablation")


@dataclass(frozen=True)
class Entry:
    """One entry of a comparison: its name, kind and the unit statistics of each of its seeds."""

    name: str
    kind: str
    seeds: Mapping[str, pd.DataFrame]

    def tables(self) -> list[pd.DataFrame]:
        return list(self.seeds.values())


@dataclass(frozen=True)
class Plan:
    """What an experiment compares: the metric, how units are resampled, and the named pairs."""

    metric: PooledMetric
    resampling: Resampling
    unit_name: str
    headline: str | None = None
    ablations: Mapping[str, str] = field(default_factory=dict)
    write_up: Sequence[tuple[str, str]] = ()


def read_entries(paths: Mapping[str, Mapping[str, str | os.PathLike[str]]], kinds: Mapping[str, str]) -> list[Entry]:
    """Entries from unit statistics files: ``paths[name][seed]`` -> file, ``kinds[name]`` -> role."""
    return [
        Entry(name, kinds[name], {str(seed): read_unit_stats(path) for seed, path in by_seed.items()})
        for name, by_seed in paths.items()
    ]


def _better(metric: PooledMetric, a: float, b: float) -> bool:
    return a > b if metric.higher_is_better else a < b


def entry_scores(entries: Sequence[Entry], metric: PooledMetric) -> dict[str, dict[str, Any]]:
    """Per entry: kind, seeds, per-seed metric on the original units, mean and sd over seeds."""
    scores = {}
    for entry in entries:
        values = seed_scores(entry.tables(), metric)
        finite = values[np.isfinite(values)]
        scores[entry.name] = {
            "kind": entry.kind,
            "seeds": list(entry.seeds),
            "per_seed": {seed: _num(v) for seed, v in zip(entry.seeds, values, strict=True)},
            "mean": _num(finite.mean()) if finite.size else None,
            "sd": _num(finite.std(ddof=1)) if finite.size > 1 else None,
        }
    return scores


def best_baseline(scores: Mapping[str, Mapping[str, Any]], metric: PooledMetric) -> str | None:
    """The baseline with the best seed-mean score (``None`` when no baseline has one)."""
    best = None
    for name, score in scores.items():
        if score["kind"] != "baseline" or score["mean"] is None:
            continue
        if best is None or _better(metric, score["mean"], scores[best]["mean"]):
            best = name
    return best


def pairs(entries: Sequence[Entry], plan: Plan, baseline: str | None) -> list[tuple[str, str, str]]:
    """``(a, b, role)`` of every comparison the plan names, each pair once, models first."""
    names = {entry.name: entry.kind for entry in entries}
    wanted: list[tuple[str, str, str]] = []
    if baseline is not None:
        wanted += [(e.name, baseline, VS_BEST_BASELINE) for e in entries if e.kind == "model"]
    for ablation, full in plan.ablations.items():
        if ablation in names and full in names:
            wanted.append((ablation, full, ABLATION))
    for a, b in plan.write_up:
        if a in names and b in names:
            wanted.append((a, b, WRITE_UP))
    seen, unique = set(), []
    for a, b, role in wanted:
        if (a, b) not in seen and a != b:
            seen.add((a, b))
            unique.append((a, b, role))
    return unique


def compare(entries: Sequence[Entry], plan: Plan) -> dict[str, Any]:
    """Every comparison of the plan with its interval and verdict, and every entry's mean ± sd (JSON-ready)."""
    unknown = [e.name for e in entries if e.kind not in (*COMPARED_KINDS, "oracle")]
    if unknown:
        raise ValueError(f"kind must be model, baseline, ablation or oracle: {unknown}")
    scores = entry_scores(entries, plan.metric)
    baseline = best_baseline(scores, plan.metric)
    by_name = {entry.name: entry for entry in entries}
    results = []
    for a, b, role in pairs(entries, plan, baseline):
        difference = paired_difference((a, by_name[a].tables()), (b, by_name[b].tables()), plan.metric, plan.resampling)
        results.append({**asdict(difference), "role": role})
    headline = next((r for r in results if r["a"] == plan.headline and r["role"] == VS_BEST_BASELINE), None)
    return {
        "metric": plan.metric.name,
        "label": plan.metric.label,
        "higher_is_better": plan.metric.higher_is_better,
        "units": plan.unit_name,
        "n_units": results[0]["n_units"] if results else None,
        "scheme": plan.resampling.describe(plan.unit_name),
        "best_baseline": baseline,
        "entries": scores,
        "comparisons": results,
        "headline": headline,
    }


def signed(value: float | None, digits: int) -> str:
    """``+0.020`` / ``-0.003``; ``n/a`` when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:+.{digits}f}"


def difference_text(result: Mapping[str, Any], digits: int) -> str:
    """``+0.020 [+0.005, +0.034]``: the difference and its interval."""
    return f"{signed(result['estimate'], digits)} [{signed(result['low'], digits)}, {signed(result['high'], digits)}]"


def sentence(result: Mapping[str, Any], label: str, units: str, digits: int) -> str:
    """The verdict line, e.g. ``sgt beats optical_flow on CSI-M: sgt − optical_flow = +0.020 [+0.005, +0.034] ...``.

    The verb reads "beats", "loses to" or "does not separate from", from the interval's verdict.
    """
    phrase = {LOSES: "loses to", NO_SEPARATION: "does not separate from"}.get(result["verdict"], result["verdict"])
    return (
        f"`{result['a']}` {phrase} `{result['b']}` on {label}: {result['a']} − {result['b']} = "
        f"{difference_text(result, digits)}, 95 % paired bootstrap interval over {result['n_units']} {units} "
        f"({result['n_seeds_a']} vs {result['n_seeds_b']} seeds)."
    )


def comparisons_markdown(record: Mapping[str, Any], digits: int = 3) -> str:
    """The comparisons as a markdown table, the scheme beneath."""
    lines = [
        f"| comparison | role | {record['label']} difference [95 % interval] | units | seeds | verdict |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in record["comparisons"]:
        lines.append(
            f"| {r['a']} − {r['b']} | {r['role']} | {difference_text(r, digits)} | {r['n_units']} | "
            f"{r['n_seeds_a']} vs {r['n_seeds_b']} | {r['verdict']} |"
        )
    direction = "higher" if record["higher_is_better"] else "lower"
    lines += [
        "",
        f"{record['label']}: {direction} is better. Units: {record['units']}. {record['scheme'].capitalize()}. "
        '"beats" / "loses": the interval excludes 0 for / against the first entry; otherwise "does not separate". '
        "Oracle rows are never compared (atmo/metrics/paired.py documents the scheme).",
    ]
    return "\n".join(lines) + "\n"


def write_comparisons(
    record: Mapping[str, Any], json_path: str | os.PathLike[str], markdown_path: str | os.PathLike[str], digits: int = 3
) -> None:
    """``comparisons.json`` and ``comparisons.md``, both rendered before either is written."""
    text = comparisons_markdown(record, digits)
    write_json(json_path, record)
    write_text(markdown_path, text)


def read_comparisons(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``comparisons.json``, checked for the keys the tables and the summary read."""
    return read_json_object(
        path, "comparisons JSON", required=("metric", "label", "entries", "comparisons", "headline", "units")
    )


# -- seeds in score tables ---------------------------------------------------------------------------------------


def seed_rows(name: str, kind: str, per_seed: Mapping[str, Mapping[str, Any]]) -> Row:
    """One row for an entry's seeds: every numeric score's mean, ``<key>_sd`` (ddof 1) and ``n_seeds``.

    Non-numeric scores are kept when every seed has the same value. A single seed gives its own
    scores, with ``_sd`` undefined.
    """
    seeds = list(per_seed.values())
    keys = dict.fromkeys(key for scores in seeds for key in scores)
    merged: dict[str, Any] = {"n_seeds": len(seeds)}
    for key in keys:
        values = [scores.get(key) for scores in seeds]
        if all((isinstance(v, int | float) and not isinstance(v, bool)) or v is None for v in values):
            numbers = np.array([np.nan if v is None else float(v) for v in values])
            finite = numbers[np.isfinite(numbers)]
            merged[key] = float(finite.mean()) if finite.size else None
            merged[f"{key}_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else None
        elif all(v == values[0] for v in values):
            merged[key] = values[0]
    return Row(name, kind, merged)


def mean_sd_column(header: str, key: str, digits: int) -> Column:
    """A column showing ``mean ± sd`` over seeds (just the mean for a single seed or a seedless entry)."""

    def cell(row: Row) -> str:
        mean = format_number(row.scores.get(key), digits)
        sd = row.scores.get(f"{key}_sd")
        if mean == MISSING or sd is None or (isinstance(sd, float) and math.isnan(sd)):
            return mean
        return f"{mean} ± {float(sd):.{digits}f}"

    return Column(header, cell)


def interval_columns(record: Mapping[str, Any], digits: int = 3) -> list[Column]:
    """Two text columns from a comparisons record: each row's difference [95 % interval] against its
    opponent (the best baseline for a model, the full model for an ablation) and the verdict word."""
    own = {}
    for r in record["comparisons"]:
        if r["role"] in (VS_BEST_BASELINE, ABLATION):
            own.setdefault(r["a"], r)

    def difference(row: Row) -> str:
        r = own.get(row.name)
        return MISSING if r is None else f"{difference_text(r, digits)} vs {r['b']}"

    def word(row: Row) -> str:
        r = own.get(row.name)
        return MISSING if r is None else r["verdict"]

    return [Column(f"{record['label']} Δ [95 % interval]", difference), Column("verdict", word)]


def _num(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number
