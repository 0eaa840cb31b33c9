"""Assign SEVIR events to train / val / test, deterministically and without leakage.

Two methods:

* ``date``: the benchmark's way. Events before ``train_end`` train, before ``val_end`` validate,
  the rest test (Earthformer: 2019-01-01 / 2019-06-01; the original SEVIR benchmark has no
  validation split and trains before 2019-06-01). An NWS episode (below) that spans a boundary goes
  whole to the split of its *first* event's time, so a storm seen on both sides of 2019-06-01 is never
  trained on and tested on; random events (no episode) go by their own time. Earthformer splits event
  by event, so the few events of an episode across a boundary sit one split earlier here than there.
* ``fraction``: for small synthetic sets whose dates are arbitrary. Whole NWS episodes (several
  SEVIR storm events of one weather situation share an ``episode_id``) go to one split, so nearly
  identical neighbouring events never end up on both sides; random events are their own group.

The result is a table ``id, split, time_utc`` written as CSV; it is the only place that decides
which events a cache file holds.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.nowcast.sevir_files import event_table
from atmo.settings import Check, settings_block

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class SplitConfig(settings_block("nowcast", "split")):
    """The ``nowcast.split`` config block (built by :func:`atmo.settings.build_block`).

    Dates are ISO strings (``YYYY-MM-DD``, UTC). A fraction split needs validation and test events
    and must leave training events, which ties the two fractions to the method and to each other.
    """

    def cross_checks(self) -> list[Check]:
        by_fraction = self.method == "fraction"
        return [
            (
                "val_fraction",
                not by_fraction or self.val_fraction > 0,
                "expected > 0: model selection needs validation events",
            ),
            ("test_fraction", not by_fraction or self.test_fraction > 0, "expected > 0: scoring needs test events"),
            (
                "test_fraction",
                not by_fraction or self.val_fraction + self.test_fraction < 1,
                f"val_fraction + test_fraction = {self.val_fraction + self.test_fraction:g} leaves no training",
            ),
        ]


def episode_groups(events: pd.DataFrame) -> pd.Series:
    """The unit of both splits per event: its NWS episode, or the event itself when it has none."""
    group = events["episode_id"].map(lambda e: None if pd.isna(e) else f"episode {int(e)}")
    return group.fillna(events["id"])


def _by_date(events: pd.DataFrame, cfg: SplitConfig) -> np.ndarray:
    """Each event by the time of the first event of its episode (its own time when it has none)."""
    train_end, val_end = pd.Timestamp(cfg.train_end), pd.Timestamp(cfg.val_end)
    first = events.groupby(episode_groups(events))["time_utc"].transform("min")
    return np.where(first < train_end, "train", np.where(first < val_end, "val", "test"))


def _by_fraction(events: pd.DataFrame, cfg: SplitConfig, seed: int) -> np.ndarray:
    group = episode_groups(events)
    groups = np.array(sorted(set(group)))
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = max(1, round(cfg.test_fraction * len(groups))) if cfg.test_fraction > 0 else 0
    n_val = max(1, round(cfg.val_fraction * len(groups))) if cfg.val_fraction > 0 else 0
    assigned = {}
    for rank, g in enumerate(groups[order]):
        assigned[g] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return group.map(assigned).to_numpy()


def split_events(catalog: pd.DataFrame, cfg: SplitConfig, seed: int, where: str | os.PathLike[str]) -> pd.DataFrame:
    """``id, split, time_utc`` for every event of ``catalog`` (sorted by time then id).

    Raises :class:`InputError` naming ``where`` (the catalog) when a split would be empty, since a
    model cannot be trained, selected or scored on nothing.
    """
    events = event_table(catalog)
    if events.empty:
        raise InputError(where, "catalog selects no events")
    split = _by_date(events, cfg) if cfg.method == "date" else _by_fraction(events, cfg, seed)
    table = pd.DataFrame({"id": events["id"], "split": split, "time_utc": events["time_utc"]})
    counts = {name: int(n) for name, n in table["split"].value_counts().reindex(SPLITS, fill_value=0).items()}
    empty = [name for name in SPLITS if counts[name] == 0]
    if empty:
        raise InputError(where, _empty_split_message(empty, counts, events, cfg))
    log.info("split %d events: %s", len(table), counts)
    return table


def _empty_split_message(empty: list[str], counts: dict[str, int], events: pd.DataFrame, cfg: SplitConfig) -> str:
    """Why a split is empty, with plain counts: too few episodes (fraction) or no event in a date range."""
    shown = ", ".join(f"{name} {counts[name]}" for name in SPLITS)
    head = f"split {' and '.join(empty)} would be empty ({shown} of {len(events)} events)"
    if cfg.method == "fraction":
        n_groups = episode_groups(events).nunique()
        needed = len(SPLITS)
        if n_groups < needed:
            return (
                f"{head}: the fraction split keeps whole episodes together, and the {len(events)} events fall "
                f"into {n_groups} episode(s) (episode_id), fewer than the {needed} splits need; use more events "
                "from other episodes, or nowcast.split.method: date"
            )
        return (
            f"{head}: {n_groups} episodes are too few for nowcast.split val_fraction {cfg.val_fraction} and "
            f"test_fraction {cfg.test_fraction}; lower them or use more events"
        )
    first, last = events["time_utc"].min(), events["time_utc"].max()
    return (
        f"{head}: with method date (train before {cfg.train_end}, val before {cfg.val_end}) and events from "
        f"{first:%Y-%m-%d} to {last:%Y-%m-%d}; move nowcast.split.train_end / val_end into that range"
    )


def write_split(path: str | os.PathLike[str], table: pd.DataFrame) -> None:
    """Write the split table as CSV, atomically."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, date_format="%Y-%m-%d %H:%M:%S")


def read_split(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a split table written by :func:`write_split`, checking its columns and labels."""
    try:
        table = pd.read_csv(path, parse_dates=["time_utc"])
    except (FileNotFoundError, ValueError, pd.errors.ParserError) as err:
        raise InputError(path, f"not a split table ({err})") from err
    bad = sorted(set(table["split"]) - set(SPLITS))
    if bad:
        raise InputError(path, f"unknown split label(s) {bad}")
    if table["id"].duplicated().any():
        raise InputError(path, f"event {table.loc[table['id'].duplicated(), 'id'].iloc[0]} is listed twice")
    return table
