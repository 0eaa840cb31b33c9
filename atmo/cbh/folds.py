"""Leave-one-flight-out (LOFO) folds: each flight in turn is the test set, the others train.

Samples of one flight are minutes apart and share their clouds, surface and atmospheric regime; a
random split puts near-duplicates on both sides and measures interpolation within a flight, not
what the campaign needs (a new flight). Fold ``k`` tests on flight ``k`` of the cache (cache order
= config order) and trains on the rest.

Models that stop early or pick an epoch need a validation set too, and it must never be the test
flight: a test flight that chooses the stopping epoch leaks into the reported score. The
``cbh.validation`` block (:class:`ValidationSettings`) says where it comes from:

* ``fraction``: a seeded random share ``fraction`` of every training flight's samples. Cheap and
  always available, but optimistic: the validation samples are neighbours of training samples.
* ``flight``: one whole training flight, the next flight after the test flight in cache order
  (cyclically) that has at least ``min_flight_samples`` labelled samples. Honest about the flight
  shift (early stopping then sees an unseen flight, as the test does), at the price of one
  flight less to train on; needs at least three flights.

Samples without a finite label (``cbh_km`` NaN) belong to no split; they are counted and logged. A
flight with no labelled sample at all cannot be a test fold and is an error naming it.

The fold table (:func:`write_fold_table`) is a CSV, one row per fold:
``fold_id, test_flight, n_train, n_val, n_test, train_flights, val_flights`` with flight lists
joined by ``;`` (empty when none). :func:`fold_indices` turns a fold back into global sample
indices of the cache, identically every time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from atmo.cbh.cache import CacheTable
from atmo.errors import InputError
from atmo.io.atomic import write_text
from atmo.settings import settings_block

log = logging.getLogger(__name__)

FOLD_COLUMNS = ("fold_id", "test_flight", "n_train", "n_val", "n_test", "train_flights", "val_flights")
_SEPARATOR = ";"


class ValidationSettings(settings_block("cbh", "validation")):
    """The ``cbh.validation`` block: where early stopping and model selection get their samples.

    ``method`` is ``fraction`` (a seeded random share ``fraction`` of each training flight, drawn
    with ``seed``) or ``flight`` (the next training flight after the test flight with at least
    ``min_flight_samples`` labelled samples). Either way the test flight is never among them: a
    test flight that decides when training stops is no longer held out.
    """


@dataclass(frozen=True)
class Fold:
    """One LOFO fold: the test flight, the flights it trains and validates on, and labelled counts."""

    fold_id: int
    test_flight: str
    train_flights: tuple[str, ...]
    val_flights: tuple[str, ...]
    n_train: int
    n_val: int
    n_test: int


def labelled_counts(table: CacheTable) -> dict[str, tuple[int, int]]:
    """``{flight: (labelled samples, samples without a finite label)}`` in cache order."""
    labelled = np.isfinite(table.cbh_km)
    counts = {}
    for index, flight in enumerate(table.flights):
        member = table.flight_index == index
        counts[flight] = (int((member & labelled).sum()), int((member & ~labelled).sum()))
    return counts


def make_folds(
    table: CacheTable, validation: ValidationSettings, *, source: str | os.PathLike[str] = "cache"
) -> list[Fold]:
    """One fold per flight of ``table``, in cache order; ``source`` names the cache in errors.

    Raises :class:`InputError` for fewer than two flights, a flight without any labelled sample,
    or (method ``flight``) a fold without a training flight that can validate.
    """
    counts = labelled_counts(table)
    if len(table.flights) < 2:
        raise InputError(source, f"leave-one-flight-out needs at least two flights, got {table.flights}")
    empty = [flight for flight, (n, _) in counts.items() if n == 0]
    if empty:
        raise InputError(source, f"flight '{empty[0]}' has no sample with a finite cbh_km label")
    unlabelled = {flight: n for flight, (_, n) in counts.items() if n}
    if unlabelled:
        log.info("dropped %d samples without a finite label from every split: %s", sum(unlabelled.values()), unlabelled)
    return [_fold(table, fold_id, validation, source)[0] for fold_id in range(len(table.flights))]


def fold_indices(
    table: CacheTable, fold: Fold, validation: ValidationSettings, *, source: str | os.PathLike[str] = "cache"
) -> dict[str, np.ndarray]:
    """``{"train", "val", "test"}``: sorted, disjoint global sample indices of ``fold`` (int64).

    ``test`` is every labelled sample of the test flight. Raises :class:`InputError` naming
    ``source`` when ``fold`` (e.g. read from a fold table) does not match ``table``.
    """
    if fold.test_flight not in table.flights or table.flights.index(fold.test_flight) != fold.fold_id:
        raise InputError(
            source, f"fold {fold.fold_id} tests on '{fold.test_flight}', the cache flights are {table.flights}"
        )
    expected, splits = _fold(table, fold.fold_id, validation, source)
    if expected != fold:
        raise InputError(
            source, f"fold {fold.fold_id} does not match the cache and validation settings: {fold} != {expected}"
        )
    return splits


def pretraining_indices(
    table: CacheTable, fold: Fold, validation: ValidationSettings, *, source: str | os.PathLike[str] = "cache"
) -> dict[str, np.ndarray]:
    """``{"train", "val"}``: every frame, labelled or not, the fold's masked autoencoder may see.

    Self-supervised pretraining needs no label, so it takes every frame of the fold's training
    flights, the unlabelled ones between the lidar samples included (on a campaign they are most of
    the frames). Validation is the fold's validation flight whole (method ``flight``) or the
    labelled validation samples of :func:`fold_indices` (method ``fraction``: their unlabelled
    neighbours then train). The test flight's frames are never among them.
    """
    splits = fold_indices(table, fold, validation, source=source)
    training_flights = [table.flights.index(flight) for flight in (*fold.train_flights, *fold.val_flights)]
    frames = np.flatnonzero(np.isin(table.flight_index, training_flights))
    if validation.method == "flight":
        val_flights = [table.flights.index(flight) for flight in fold.val_flights]
        val = np.flatnonzero(np.isin(table.flight_index, val_flights))
    else:
        val = splits["val"]
    return {"train": np.setdiff1d(frames, val).astype(np.int64), "val": np.sort(val).astype(np.int64)}


def _fold(
    table: CacheTable, fold_id: int, validation: ValidationSettings, source: str | os.PathLike[str]
) -> tuple[Fold, dict[str, np.ndarray]]:
    """The :class:`Fold` testing on flight ``fold_id`` and its sample indices."""
    val_flights = _validation_flights(table, fold_id, validation, source)
    splits = _splits(table, fold_id, val_flights, validation, source)
    test_flight = table.flights[fold_id]
    fold = Fold(
        fold_id=fold_id,
        test_flight=test_flight,
        train_flights=tuple(f for f in table.flights if f != test_flight and f not in val_flights),
        val_flights=val_flights,
        n_train=len(splits["train"]),
        n_val=len(splits["val"]),
        n_test=len(splits["test"]),
    )
    return fold, splits


def _validation_flights(
    table: CacheTable, fold_id: int, validation: ValidationSettings, source: str | os.PathLike[str]
) -> tuple[str, ...]:
    """The held-out validation flight of a fold (method ``flight``), or ``()`` (method ``fraction``)."""
    if validation.method == "fraction":
        return ()
    counts = labelled_counts(table)
    n_flights = len(table.flights)
    if n_flights >= 3:
        for step in range(1, n_flights):
            candidate = table.flights[(fold_id + step) % n_flights]
            if counts[candidate][0] >= validation.min_flight_samples:
                return (candidate,)
    raise InputError(
        source,
        f"fold {fold_id} (test flight '{table.flights[fold_id]}'): validation method 'flight' needs a flight "
        f"with >= {validation.min_flight_samples} labelled samples to validate on and another one to train on; "
        "use cbh.validation.method 'fraction' or a smaller min_flight_samples",
    )


def _splits(
    table: CacheTable,
    fold_id: int,
    val_flights: tuple[str, ...],
    validation: ValidationSettings,
    source: str | os.PathLike[str],
) -> dict[str, np.ndarray]:
    labelled = np.isfinite(table.cbh_km)
    test = np.flatnonzero(labelled & (table.flight_index == fold_id))
    train_parts, val_parts = [], []
    for index, flight in enumerate(table.flights):
        if index == fold_id:
            continue
        members = np.flatnonzero(labelled & (table.flight_index == index))
        if flight in val_flights:
            val_parts.append(members)
        elif validation.method == "fraction":
            held = _fraction_subset(members, validation, index)
            val_parts.append(members[held])
            train_parts.append(members[~held])
        else:
            train_parts.append(members)
    train = np.sort(np.concatenate(train_parts)) if train_parts else np.empty(0, np.int64)
    val = np.sort(np.concatenate(val_parts)) if val_parts else np.empty(0, np.int64)
    if validation.method == "fraction" and len(val) == 0:
        raise InputError(
            source,
            f"fold {fold_id}: cbh.validation.fraction {validation.fraction} holds out no sample of the "
            f"training flights; raise it or use method 'flight'",
        )
    return {"train": train.astype(np.int64), "val": val.astype(np.int64), "test": test.astype(np.int64)}


def _fraction_subset(members: np.ndarray, validation: ValidationSettings, flight_index: int) -> np.ndarray:
    """Boolean mask over ``members`` (one flight's labelled samples): the validation share.

    Seeded by (seed, flight index) so a flight gives the same validation samples in every fold it
    trains in; rounded to the nearest count and always leaving one sample to train on.
    """
    n = len(members)
    n_val = min(int(np.floor(validation.fraction * n + 0.5)), n - 1)
    rng = np.random.default_rng([validation.seed, flight_index])
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[:n_val]] = True
    return mask


def write_fold_table(path: str | os.PathLike[str], folds: Sequence[Fold]) -> None:
    """Write ``folds`` as the fold table CSV (see the module doc), atomically."""
    records = []
    for fold in folds:
        for flight in (fold.test_flight, *fold.train_flights, *fold.val_flights):
            if _SEPARATOR in flight or not flight:
                raise ValueError(f"flight name {flight!r} cannot be written to a fold table")
        records.append(
            {
                "fold_id": fold.fold_id,
                "test_flight": fold.test_flight,
                "n_train": fold.n_train,
                "n_val": fold.n_val,
                "n_test": fold.n_test,
                "train_flights": _SEPARATOR.join(fold.train_flights),
                "val_flights": _SEPARATOR.join(fold.val_flights),
            }
        )
    write_text(path, pd.DataFrame(records, columns=list(FOLD_COLUMNS)).to_csv(index=False))


def read_fold_table(path: str | os.PathLike[str]) -> list[Fold]:
    """The folds of a fold table, checked: columns, counts, unique ids, disjoint flight sets."""
    frame = read_string_table(path, "the fold table")
    if list(frame.columns) != list(FOLD_COLUMNS):
        raise InputError(path, f"columns {list(frame.columns)}, expected {list(FOLD_COLUMNS)}")
    if frame.empty:
        raise InputError(path, "the fold table has no fold")
    folds = []
    for line, record in enumerate(frame.to_dict("records"), start=2):
        numbers = {}
        for key in ("fold_id", "n_train", "n_val", "n_test"):
            text = record[key].strip()
            if not text.isdigit():
                raise InputError(path, f"line {line}: {key} {record[key]!r} is not a non-negative integer")
            numbers[key] = int(text)
        fold = Fold(
            fold_id=numbers["fold_id"],
            test_flight=record["test_flight"],
            train_flights=_flight_list(record["train_flights"]),
            val_flights=_flight_list(record["val_flights"]),
            n_train=numbers["n_train"],
            n_val=numbers["n_val"],
            n_test=numbers["n_test"],
        )
        problem = _fold_problem(fold)
        if problem:
            raise InputError(path, f"line {line} (fold {fold.fold_id}): {problem}")
        folds.append(fold)
    ids = [fold.fold_id for fold in folds]
    if len(set(ids)) != len(ids):
        raise InputError(path, f"fold ids repeat: {ids}")
    return folds


def read_fold(path: str | os.PathLike[str], fold_id: int) -> Fold:
    """Fold ``fold_id`` of the fold table ``path``; :class:`InputError` if the table has no such fold."""
    folds = read_fold_table(path)
    if not 0 <= fold_id < len(folds):
        raise InputError(path, f"has no fold {fold_id} (folds 0..{len(folds) - 1})")
    return folds[fold_id]


def read_string_table(path: str | os.PathLike[str], what: str) -> pd.DataFrame:
    """A CSV with every cell as written (strings, no NA guessing); :class:`InputError` if unreadable."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputError(path, f"cannot read {what}: {err}") from None


def _flight_list(text: str) -> tuple[str, ...]:
    return tuple(text.split(_SEPARATOR)) if text else ()


def _fold_problem(fold: Fold) -> str | None:
    if not fold.test_flight:
        return "no test flight"
    if fold.n_test < 1 or fold.n_train < 1:
        return f"needs training and test samples, got n_train {fold.n_train}, n_test {fold.n_test}"
    if not fold.train_flights:
        return "no training flight"
    if fold.test_flight in fold.train_flights or fold.test_flight in fold.val_flights:
        return f"test flight '{fold.test_flight}' is also trained or validated on"
    if set(fold.train_flights) & set(fold.val_flights):
        return f"flights {sorted(set(fold.train_flights) & set(fold.val_flights))} both train and validate"
    return None
