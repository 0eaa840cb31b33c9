"""What each loss term weighs at the end of training: the ``weighted_<term>`` columns of the histories.

A loss with four terms says little until one knows how much of it each term is: a physics term whose
weighted value is 0.2 % of the loss cannot shape the forecast, however sound its form. The training
history logs each term times its weight per epoch (:class:`atmo.nowcast.losses.NowcastLoss`); the
share of a term is its weighted value over their sum, at the last epoch run, averaged over seeds.
Untrained controls (``epochs: 0``) have no training loss and no row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from atmo.errors import InputError
from atmo.publish.rows import Row
from atmo.publish.tables import Column, markdown_table, write_tables

TERMS = ("mse", "extreme", "soft_csi", "physics")
WEIGHTED_PREFIX = "train_weighted_"


def last_epoch_shares(history_path: str | os.PathLike[str]) -> dict[str, float] | None:
    """``{term: share}`` of the weighted training loss at the last epoch of one history (``None`` untrained).

    A term missing from the loss (weight 0 and not computed, e.g. no soft CSI) has share 0.
    """
    history = pd.read_csv(history_path)
    weighted = [column for column in history.columns if column.startswith(WEIGHTED_PREFIX)]
    if "train_loss" not in history.columns:
        return None
    if not weighted:
        raise InputError(history_path, f"has a training loss but no {WEIGHTED_PREFIX}* columns (an older run?)")
    last = history.iloc[-1]
    values = {column.removeprefix(WEIGHTED_PREFIX): float(last[column]) for column in weighted}
    unknown = sorted(set(values) - set(TERMS))
    if unknown:
        raise InputError(history_path, f"unknown loss terms {unknown}; known: {list(TERMS)}")
    total = sum(values.values())
    if total <= 0:
        raise InputError(history_path, f"the weighted loss terms sum to {total} at the last epoch")
    return {term: values.get(term, 0.0) / total for term in TERMS}


Histories = Mapping[str, Mapping[str, str | os.PathLike[str]]]  # {entry: {seed: history.csv}}


def loss_share_rows(histories: Histories, kinds: Mapping[str, str]) -> list[Row]:
    """One row per trained entry: each term's share (mean over seeds) and the number of seeds."""
    rows = []
    for name, by_seed in histories.items():
        shares = [s for s in (last_epoch_shares(path) for path in by_seed.values()) if s is not None]
        if not shares:
            continue
        means = {f"share_{term}": sum(s[term] for s in shares) / len(shares) for term in TERMS}
        rows.append(Row(name, kinds[name], {**means, "seeds": len(shares)}))
    return rows


def write_loss_shares(
    histories: Histories,
    kinds: Mapping[str, str],
    csv_path: str | os.PathLike[str],
    markdown_path: str | os.PathLike[str],
) -> list[Row]:
    """The shares table as CSV and markdown (percentages in the markdown)."""
    rows = loss_share_rows(histories, kinds)
    frame = pd.DataFrame([{"name": r.name, "kind": r.kind, **r.scores} for r in rows])
    columns = [Column(f"{term} %", lambda row, term=term: 100 * row.scores[f"share_{term}"], 1) for term in TERMS] + [
        Column("seeds", "seeds", 0)
    ]
    notes = [
        "Share of each term in the weighted training loss at the last epoch (term x weight / their sum), "
        "mean over seeds; physics = advection residual + motion smoothness (atmo/nowcast/losses.py)."
    ]
    write_tables(
        wide=frame,
        markdown=markdown_table(rows, columns, notes=notes),
        csv_path=csv_path,
        markdown_path=markdown_path,
    )
    return rows
