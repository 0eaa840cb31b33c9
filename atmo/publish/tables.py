"""Results tables from :class:`~atmo.publish.rows.Row` lists: wide and tidy frames, markdown, files.

- :func:`wide_frame`: one row per entry, ``name, kind`` then every scalar score key, sorted (the
  ``scores.csv`` of each experiment). Lists and dicts in a score dict are left out.
- :func:`long_frame`: tidy form, one row per (entry, metric, dimensions...) with the key parsed by
  the experiment's own ``parse_key`` (e.g. ``csi_74_lead6`` -> metric ``csi``, threshold 74, lead 6).
- :func:`markdown_table`: entry name and kind, then the experiment's :class:`Column` specs; every
  number is fixed-point with the column's digits and ``n/a`` when missing, ``None`` or NaN.
- :func:`write_tables`: the CSV, markdown and optional tidy CSV, each written atomically.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from atmo.io.atomic import write_text
from atmo.publish.rows import KINDS, Row, ordered

#: ``parse_key(key)`` -> ``{"metric": ..., <dimension>: value or None, ...}``, or ``None`` to skip the key.
KeyParser = Callable[[str], Mapping[str, Any] | None]

MISSING = "n/a"


@dataclass(frozen=True)
class Column:
    """One markdown column: its header, the score key (or a function of the row) and the digits shown.

    ``digits=None`` makes a text column (left-aligned, ``str(value)``); otherwise the value is a number
    shown right-aligned with ``digits`` decimals.
    """

    header: str
    value: str | Callable[[Row], Any]
    digits: int | None = None

    def cell(self, row: Row) -> str:
        value = row.scores.get(self.value) if isinstance(self.value, str) else self.value(row)
        return format_text(value) if self.digits is None else format_number(value, self.digits)


def format_number(value: Any, digits: int) -> str:
    """``value`` fixed-point with ``digits`` decimals; ``n/a`` for ``None``, NA and NaN (undefined scores)."""
    if value is None or value is pd.NA:
        return MISSING
    number = float(value)
    return MISSING if math.isnan(number) else f"{number:.{digits}f}"


def format_text(value: Any) -> str:
    """A text cell: ``n/a`` for ``None``, pipes escaped so they cannot split the row."""
    return MISSING if value is None else str(value).replace("|", r"\|")


def wide_frame(rows: Sequence[Row], *, name_column: str = "name", kinds: Sequence[str] = KINDS) -> pd.DataFrame:
    """One row per entry: ``name_column, kind`` then every scalar score key, sorted by name."""
    records = []
    for row in ordered(rows, kinds):
        scalars = {key: value for key, value in row.scores.items() if not isinstance(value, list | dict)}
        records.append({name_column: row.name, "kind": row.kind, **scalars})
    frame = pd.DataFrame(records)
    keys = sorted(set(frame.columns) - {name_column, "kind"})
    return frame[[name_column, "kind", *keys]]


def long_frame(
    rows: Sequence[Row],
    parse_key: KeyParser,
    *,
    dimensions: Mapping[str, str],
    name_column: str = "name",
    kinds: Sequence[str] = KINDS,
) -> pd.DataFrame:
    """Tidy table: ``name_column, kind, metric``, then ``dimensions`` (column -> dtype), then ``value``.

    Every numeric score (``None`` becomes NaN; booleans, strings and lists are skipped) whose key
    ``parse_key`` accepts gives one row; a dimension the key lacks is left empty.
    """
    records = []
    for row in ordered(rows, kinds):
        for key, value in row.scores.items():
            if isinstance(value, bool) or not isinstance(value, int | float | type(None)):
                continue
            parsed = parse_key(key)
            if parsed is None:
                continue
            records.append(
                {
                    name_column: row.name,
                    "kind": row.kind,
                    "metric": parsed["metric"],
                    **{dim: parsed.get(dim) for dim in dimensions},
                    "value": np.nan if value is None else float(value),
                }
            )
    frame = pd.DataFrame(records, columns=[name_column, "kind", "metric", *dimensions, "value"])
    return frame.astype(dict(dimensions))


def regex_key_parser(pattern: str | re.Pattern[str], **convert: Callable[[str], Any]) -> KeyParser:
    """A :data:`KeyParser` from a regex with a ``metric`` group and one named group per dimension.

    Groups that matched are passed through ``convert[group]`` when given; absent groups are ``None``.
    """
    regex = re.compile(pattern)
    if "metric" not in regex.groupindex:
        raise ValueError(f"key pattern {regex.pattern!r} needs a named group 'metric'")

    def parse(key: str) -> dict[str, Any] | None:
        match = regex.fullmatch(key)
        if match is None:
            return None
        parsed: dict[str, Any] = {}
        for group, text in match.groupdict().items():
            parsed[group] = None if not text else convert[group](text) if group in convert else text
        return parsed

    return parse


def markdown_table(
    rows: Sequence[Row],
    columns: Sequence[Column],
    *,
    name_header: str = "name",
    notes: Sequence[str] = (),
    kinds: Sequence[str] = KINDS,
) -> str:
    """A markdown table: entry name and kind, then ``columns``; ``notes`` follow as lines after a blank one."""
    header = [name_header, "kind", *(c.header for c in columns)]
    rules = [" --- ", " --- ", *(" --- " if c.digits is None else " ---: " for c in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rules) + "|"]
    for row in ordered(rows, kinds):
        cells = [format_text(row.name), format_text(row.kind), *(c.cell(row) for c in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def write_tables(
    *,
    wide: pd.DataFrame,
    markdown: str,
    csv_path: str | os.PathLike[str],
    markdown_path: str | os.PathLike[str],
    long: pd.DataFrame | None = None,
    long_csv_path: str | os.PathLike[str] | None = None,
) -> None:
    """Write ``wide`` as CSV, the ``markdown`` text and, when both are given, ``long`` as CSV; each atomically.

    All texts are rendered before the first file is written, so a failure leaves no new output.
    """
    if (long is None) != (long_csv_path is None):
        raise ValueError("pass both long and long_csv_path, or neither")
    texts = {csv_path: wide.to_csv(index=False), markdown_path: markdown}
    if long is not None and long_csv_path is not None:
        texts[long_csv_path] = long.to_csv(index=False)
    for path, text in texts.items():
        write_text(path, text)
