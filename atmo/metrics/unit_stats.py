"""The per-unit statistics file every experiment writes for each (entry, seed): one CSV, one reader.

A comparison is only as honest as its units. Each experiment scores its test split per
*independent unit* (a storm episode, a flight, a spatial block, a day) and writes the additive
statistics its metrics are re-formed from (:mod:`atmo.metrics.pooled`):

- column ``unit``: the unit's label (text). For a time series of units (days) the file's row order
  is the time order; the moving-block bootstrap relies on it.
- optional column ``item``: when the units hold items that are resampled within their unit (the
  samples of a flight), one row per item; otherwise one row per unit.
- every other column: a non-negative-or-signed additive statistic (counts, sums of errors, sums of
  CRPS, the pixel counts they divide by), summable over rows.

Entries compared with each other must list the same units (and items) in the same order: the
difference is *paired*, unit by unit.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from atmo.errors import InputError
from atmo.io.atomic import write_text

UNIT = "unit"
ITEM = "item"


def write_unit_stats(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """Check ``frame`` (``unit``, optional ``item``, numeric statistics) and write it as CSV atomically."""
    _check(frame, path)
    write_text(path, frame.to_csv(index=False))


def read_unit_stats(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A unit statistics file, checked; :class:`InputError` naming the file when it is not one."""
    try:
        frame = pd.read_csv(path, dtype={UNIT: str, ITEM: str})
    except FileNotFoundError:
        raise InputError(path, "unit statistics file does not exist") from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(path, f"not a readable unit statistics CSV ({error})") from None
    _check(frame, path)
    return frame


def statistic_columns(frame: pd.DataFrame) -> list[str]:
    """The statistic columns of a unit table (everything but ``unit`` and ``item``)."""
    return [column for column in frame.columns if column not in (UNIT, ITEM)]


def _check(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    if UNIT not in frame.columns:
        raise InputError(path, f"unit statistics need a '{UNIT}' column, got {list(frame.columns)}")
    if frame.empty:
        raise InputError(path, "unit statistics hold no unit")
    statistics = statistic_columns(frame)
    if not statistics:
        raise InputError(path, "unit statistics hold no statistic column")
    bad = [c for c in statistics if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise InputError(path, f"statistic columns must be numeric: {bad}")
    values = frame[statistics].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputError(path, "statistics must be finite (a NaN or inf cannot be summed over units)")
    keys = [UNIT, ITEM] if ITEM in frame.columns else [UNIT]
    if frame.duplicated(keys).any():
        raise InputError(path, f"a {' and '.join(keys)} repeats")
