"""Per-epoch training history, kept in memory, in checkpoints and as ``history.csv``.

One row per epoch: ``epoch, train_loss, train_<extra>..., val_<metric>..., lr, seconds``. The CSV is
rewritten atomically after every epoch, so it is always complete up to the last finished epoch and
a resumed run continues the same file (the rows travel inside ``last.pt``).
"""

from __future__ import annotations

import csv
import io
import os
from typing import Any

from atmo.io.atomic import write_text

LEADING = ("epoch", "train_loss")
TRAILING = ("lr", "seconds")


class History:
    """Ordered epoch rows, one dict per epoch."""

    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = [dict(row) for row in rows or []]

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(dict(row))

    def columns(self) -> list[str]:
        """``epoch, train_loss``, then the other metrics in first-seen order, then ``lr, seconds``."""
        seen = dict.fromkeys(key for row in self.rows for key in row)
        middle = [key for key in seen if key not in LEADING + TRAILING]
        return [key for key in LEADING if key in seen] + middle + [key for key in TRAILING if key in seen]

    def metric_names(self) -> list[str]:
        """The ``train_*`` and ``val_*`` columns."""
        return [key for key in self.columns() if key.startswith(("train_", "val_"))]

    def row(self, epoch: int) -> dict[str, Any]:
        """The row of ``epoch`` (KeyError if that epoch was not recorded)."""
        for row in self.rows:
            if row["epoch"] == epoch:
                return row
        raise KeyError(epoch)

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Write all rows as CSV (empty cell where a row lacks a column), atomically."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns(), restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(path, buffer.getvalue())
