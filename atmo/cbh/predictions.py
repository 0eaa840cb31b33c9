"""One prediction file format for every CBH approach: a fold's test-flight predictions as CSV.

Every approach (climatology, geometry, gbdt, the networks) writes one file per (approach,
fold) with the columns

==========  =======  =====================================================
column      type     meaning
==========  =======  =====================================================
``sample``  int      global sample index in the cache (row of ``cbh_km``)
``flight``  str      the sample's flight (the fold's test flight)
``fold_id`` int      the leave-one-flight-out fold
``cbh_km``  float    measured (lidar) cloud-base height, km
``pred_km`` float    predicted cloud-base height, km
==========  =======  =====================================================

so the report (:mod:`atmo.cbh.results`) scores every approach the same way and can be rebuilt from
these files alone. Floats are written at full precision; the report recomputes every metric from
them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from atmo.cbh.folds import Fold, read_string_table
from atmo.errors import InputError
from atmo.io.atomic import write_text

COLUMNS = ("sample", "flight", "fold_id", "cbh_km", "pred_km")


@dataclass(frozen=True)
class Predictions:
    """The content of one prediction file; all arrays (n,), in file order."""

    sample: np.ndarray
    flight: np.ndarray
    fold_id: np.ndarray
    cbh_km: np.ndarray
    pred_km: np.ndarray

    def __len__(self) -> int:
        return len(self.sample)


def write_predictions(
    path: str | os.PathLike[str],
    *,
    sample: ArrayLike,
    flight: str | ArrayLike,
    fold_id: int | ArrayLike,
    cbh_km: ArrayLike,
    pred_km: ArrayLike,
) -> None:
    """Write one prediction file atomically; ``flight`` and ``fold_id`` may be one value for all rows.

    Raises ``ValueError`` (before writing) for unequal lengths, no rows, repeated or negative
    sample indices, empty flight names or non-finite heights.
    """
    samples = np.asarray(sample)
    n = len(samples)
    columns = {
        "sample": samples,
        "flight": np.full(n, flight, dtype=object) if isinstance(flight, str) else np.asarray(flight, dtype=object),
        "fold_id": np.full(n, fold_id) if np.ndim(fold_id) == 0 else np.asarray(fold_id),
        "cbh_km": np.asarray(cbh_km, dtype=np.float64),
        "pred_km": np.asarray(pred_km, dtype=np.float64),
    }
    problem = _problem(columns)
    if problem:
        raise ValueError(f"cannot write predictions to {path}: {problem}")
    frame = pd.DataFrame({key: columns[key] for key in COLUMNS})
    write_text(path, frame.to_csv(index=False))


def read_predictions(path: str | os.PathLike[str]) -> Predictions:
    """Read and check one prediction file; :class:`InputError` naming it for any problem."""
    frame = read_string_table(path, "predictions")
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}; a prediction file has {list(COLUMNS)}")
    columns: dict[str, np.ndarray] = {"flight": frame["flight"].to_numpy(dtype=object)}
    for key in ("sample", "fold_id", "cbh_km", "pred_km"):
        values = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(values) & (frame[key].str.strip().str.lower() != "nan").to_numpy())
        if len(bad):
            raise InputError(path, f"line {bad[0] + 2}: {key} {frame[key].iloc[bad[0]]!r} is not a number")
        if key in ("sample", "fold_id"):
            if not (np.isfinite(values).all() and (values == np.round(values)).all()):
                raise InputError(path, f"{key} must hold integers")
            values = values.astype(np.int64)
        columns[key] = values
    problem = _problem(columns)
    if problem:
        raise InputError(path, problem)
    return Predictions(**{key: columns[key] for key in COLUMNS})


def check_fold(path: str | os.PathLike[str], predictions: Predictions, fold: Fold) -> None:
    """:class:`InputError` naming ``path`` unless it holds exactly ``fold``'s test flight, every sample of it."""
    if (predictions.fold_id != fold.fold_id).any():
        raise InputError(path, f"fold_id {sorted(set(predictions.fold_id.tolist()))}, expected {fold.fold_id}")
    flights = sorted(set(predictions.flight.tolist()))
    if flights != [fold.test_flight]:
        raise InputError(
            path, f"flights {flights}, expected only fold {fold.fold_id}'s test flight '{fold.test_flight}'"
        )
    if len(predictions) != fold.n_test:
        raise InputError(path, f"{len(predictions)} predictions, fold {fold.fold_id} has n_test {fold.n_test}")


def by_sample(predictions: Predictions) -> Predictions:
    """The same predictions in increasing sample order (every approach's files then line up row by row)."""
    order = np.argsort(predictions.sample, kind="stable")
    return Predictions(
        sample=predictions.sample[order],
        flight=predictions.flight[order],
        fold_id=predictions.fold_id[order],
        cbh_km=predictions.cbh_km[order],
        pred_km=predictions.pred_km[order],
    )


def _problem(columns: dict[str, np.ndarray]) -> str | None:
    """What is wrong with a set of prediction columns, or ``None``."""
    lengths = {key: len(values) for key, values in columns.items()}
    if len(set(lengths.values())) != 1:
        return f"columns differ in length: {lengths}"
    if lengths["sample"] == 0:
        return "no predictions"
    for key in ("cbh_km", "pred_km"):
        bad = np.flatnonzero(~np.isfinite(columns[key]))
        if len(bad):
            return f"{key} is not finite in row {bad[0] + 1} (sample {columns['sample'][bad[0]]})"
    samples = columns["sample"]
    if not np.issubdtype(samples.dtype, np.integer) or (samples < 0).any():
        return "sample must hold non-negative integers"
    if len(np.unique(samples)) != len(samples):
        return "sample indices repeat"
    if not np.issubdtype(np.asarray(columns["fold_id"]).dtype, np.integer):
        return "fold_id must hold integers"
    if any(not isinstance(name, str) or not name for name in columns["flight"]):
        return "flight names must be non-empty strings"
    return None
