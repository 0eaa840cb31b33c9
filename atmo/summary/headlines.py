"""Each experiment's headline from its ``comparisons.json``: the verdict from an interval, and a small table.

A :class:`Headline` holds the entries (models first, then baselines, ablations and oracle rows)
with their seed-mean score ± sd, each model's difference from the best baseline with its paired
95 % interval, and the verdict line of the experiment's headline comparison. The verdict word
("beats", "does not separate", "loses") comes from the interval alone
(:func:`atmo.metrics.paired.verdict`), never from the point estimates.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from atmo.publish import KINDS_WITH_ORACLE, Column, Row, markdown_table
from atmo.publish.comparisons import interval_columns, mean_sd_column, read_comparisons, sentence
from atmo.summary.declared import title


@dataclass(frozen=True)
class Headline:
    """One experiment's part of the summary; ``units`` are what its comparisons resample (``test blocks``)."""

    module: str
    title: str
    rows: list[Row]
    columns: list[Column]
    verdict: str
    comparisons: list[dict[str, Any]]
    units: str
    sources: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        kinds = tuple(kind for kind in KINDS_WITH_ORACLE if any(row.kind == kind for row in self.rows))
        return markdown_table(self.rows, self.columns, name_header="entry", kinds=kinds)


def headline_verdict(record: Mapping[str, Any], digits: int = 3) -> str:
    """The verdict line of the headline comparison, or why there is none."""
    result = record["headline"]
    if result is None:
        return (
            f"No headline comparison: the headline model or a baseline has no {record['label']} "
            f"on the test {record['units']}."
        )
    return sentence(result, record["label"], record["units"], digits)


def from_comparisons(module: str, path: str | os.PathLike[str], digits: int = 3) -> Headline:
    """The headline of ``module`` from its ``comparisons.json``, under the title the experiment declares."""
    record = read_comparisons(path)
    rows = [
        Row(name, entry["kind"], {"score": entry["mean"], "score_sd": entry["sd"], "n_seeds": len(entry["seeds"])})
        for name, entry in record["entries"].items()
    ]
    columns = [
        mean_sd_column(f"{record['label']} (mean ± sd)", "score", digits),
        Column("seeds", "n_seeds", 0),
        *interval_columns(record, digits),
    ]
    return Headline(
        module,
        title(module),
        rows,
        columns,
        headline_verdict(record, digits),
        list(record["comparisons"]),
        record["units"],
        [os.fspath(path)],
    )
