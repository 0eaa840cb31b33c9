"""The write-up's question with intervals: do the decoder options (V3 against V2) raise the prior
maximum and the diversity, and at what CRPS?

The write-up moved the coarse field out of the later decoder blocks (V3) so that z, not the coarse field,
has to carry the intensity; it hoped for a larger prior maximum and more diversity. Its table gives one
number per variant; here every write-up pair of ``downscale.comparison.pairs`` (each variant's compared
product: prior mode at the configured epoch) is compared on three per-test-day statistics of
:func:`atmo.downscale.scoring.day_statistics`, with the same paired moving-block bootstrap over test
days and training seeds as the CRPS comparisons (:mod:`atmo.downscale.comparison`):

- **maximum**: the mean over test days of the day's largest value over every member and cell (mm);
  the truth's mean daily maximum is given beside it, since larger is closer to the truth only while
  it stays below;
- **diversity**: the mean across-member standard deviation (mm), the write-up's diversity;
- **CRPS**: per pixel (mm), lower is better.

For maximum and diversity the verdict words mean "higher" / "lower" (what the write-up asks), not
"better"; the shared layer's "beats" is read as "higher" there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from atmo.downscale.comparison import CRPS, UNIT_NAME, resolve
from atmo.io.atomic import write_json, write_text
from atmo.metrics.paired import LOSES, NO_SEPARATION, BootstrapSettings, Resampling
from atmo.metrics.pooled import PooledMetric, ratio
from atmo.metrics.unit_stats import read_unit_stats
from atmo.publish.comparisons import Entry, Plan, compare, difference_text

MAXIMUM = ratio("max_mm", "mean daily maximum (mm)", "samples_max_mm", "n_cases", higher_is_better=True)
DIVERSITY = ratio("diversity_mm", "diversity (mm)", "diversity_sum_mm", "n_pixels", higher_is_better=True)
#: The write-up's statistics, in the order of its table.
METRICS: tuple[PooledMetric, ...] = (MAXIMUM, DIVERSITY, CRPS)


def pair_products(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The compared products of each write-up pair (``downscale.comparison.pairs``)."""
    resolved = resolve(settings)
    return [(resolved.product(a), resolved.product(b)) for a, b in resolved.pairs]


def compare_pairs(
    unit_stats: Mapping[str, Mapping[str, str | os.PathLike[str]]],
    settings: Mapping[str, Any],
    bootstrap: BootstrapSettings,
) -> dict[str, Any]:
    """Every write-up pair on every statistic of :data:`METRICS`; ``unit_stats`` is ``{product: {seed: file}}``.

    Returns ``{"pairs": [[a, b], ...], "truth_max_mm": ..., "metrics": {name: comparisons record}}``.
    """
    pairs = pair_products(settings)
    entries = [
        Entry(name, "model", {str(seed): read_unit_stats(path) for seed, path in unit_stats[name].items()})
        for name in dict.fromkeys(product for pair in pairs for product in pair)
    ]
    first = next(iter(entries[0].seeds.values())) if entries else None
    truth_max = None if first is None else float(np.mean(first["truth_max_mm"]))
    records = {}
    for metric in METRICS:
        plan = Plan(metric, Resampling("moving_block", bootstrap), UNIT_NAME, write_up=tuple(pairs))
        records[metric.name] = compare(entries, plan)
    return {"pairs": [list(pair) for pair in pairs], "truth_max_mm": truth_max, "metrics": records}


def _word(result: Mapping[str, Any], metric: Mapping[str, Any]) -> str:
    """The verdict as the write-up reads it: "higher" / "lower" for maximum and diversity."""
    if metric["metric"] == CRPS.name:
        return str(result["verdict"])
    if result["verdict"] == NO_SEPARATION:
        return "does not separate"
    return "lower" if result["verdict"] == LOSES else "higher"


def write_up_markdown(record: Mapping[str, Any], digits: int = 3) -> str:
    """One row per (pair, statistic): both means, the difference [95 % interval] and the verdict."""
    lines = [
        "| pair | statistic | first | second | difference [95 % interval] | units | seeds | verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for metric in record["metrics"].values():
        entries = metric["entries"]
        for r in metric["comparisons"]:
            means = [entries[name]["mean"] for name in (r["a"], r["b"])]
            shown = ["n/a" if m is None else f"{m:.{digits}f}" for m in means]
            lines.append(
                f"| {r['a']} − {r['b']} | {metric['label']} | {shown[0]} | {shown[1]} | {difference_text(r, digits)} | "
                f"{r['n_units']} | {r['n_seeds_a']} vs {r['n_seeds_b']} | {_word(r, metric)} |"
            )
    truth = record["truth_max_mm"]
    scheme = next(iter(record["metrics"].values()))["scheme"] if record["metrics"] else ""
    lines += [
        "",
        "The write-up's question (V3 injects the coarse field at the first decoder block only, so that z must "
        "carry the intensity): each pair's prior-mode products at the configured epoch, on held-out test days. "
        "mean daily maximum: the day's largest value over every member and cell, averaged over test days"
        + ("" if truth is None else f" (the truth's: {truth:.1f} mm)")
        + "; diversity: the mean across-member standard deviation (the write-up's diversity). For these two the "
        "verdict says higher or lower, which is what the write-up asks, not better; for CRPS (lower is better) it "
        f"says beats or loses. Interval: {scheme}.",
    ]
    return "\n".join(lines) + "\n"


def write_write_up(
    record: Mapping[str, Any], json_path: str | os.PathLike[str], md_path: str | os.PathLike[str]
) -> None:
    """``write_up.json`` and ``write_up.md``, both rendered before either is written."""
    text = write_up_markdown(record)
    write_json(json_path, record)
    write_text(md_path, text)
