"""Per-unit statistics of one forecaster's test forecasts: what the paired bootstrap resamples.

SEVIR storm events of one NWS episode are the same weather situation seen in neighbouring 4-hour
windows, so they are not independent; the split keeps whole episodes together
(:func:`atmo.nowcast.split.episode_groups`) and the comparison resamples whole episodes too. The unit
of a test sample is therefore its event's episode (``episode 100003``), or the event itself when it
has none (random events). Every sample of a unit is summed into one row.

Columns of the unit table (:mod:`atmo.metrics.unit_stats`), all unpooled (P1) pixel counts in VIL code
units as in :mod:`atmo.metrics.contingency` (``t`` = threshold label, ``L`` = the last lead index):

- ``hits_{t}``, ``misses_{t}``, ``false_alarms_{t}``: summed over every lead, so
  ``atmo.metrics.pooled.mean_csi(thresholds, unreached=...)`` over the summed rows is the score file's
  ``csi_m`` (the same ``nowcast.scoring.unreached_threshold`` rule);
- ``hits_{t}_lead{L}``, ``misses_{t}_lead{L}``, ``false_alarms_{t}_lead{L}``: the last lead alone
  (60 minutes for SEVIR's 12 frames), read by ``mean_csi([f"{t}_lead{L}", ...])``, the ``csi_m_lead{L}``;
- ``squared_error`` (code units squared) and ``n_pixels``: ``ratio`` of their sums is the ``mse``.

Units appear in the order of their first test sample, the same for every forecaster of one test
cache, so two forecasters' tables pair row by row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.metrics.contingency import ContingencyAccumulator, check_thresholds, threshold_label
from atmo.metrics.pooled import csi_statistics
from atmo.metrics.regression import ErrorAccumulator
from atmo.metrics.unit_stats import UNIT
from atmo.nowcast.comparison import lead_label
from atmo.nowcast.scoring import FORECAST_DATASET, TRUTH_DATASET
from atmo.nowcast.sevir_files import event_table
from atmo.nowcast.split import episode_groups

_CODE_SCALE = 255.0


def event_units(catalog: pd.DataFrame) -> dict[str, str]:
    """``{event id: unit}``: the event's NWS episode, or the event itself when it has none."""
    events = event_table(catalog)
    return dict(zip(events["id"], episode_groups(events), strict=True))


def unit_statistics(
    forecast: str | os.PathLike[str],
    truth: str | os.PathLike[str],
    units: Mapping[str, str],
    thresholds: Sequence[float],
    batch_size: int = 8,
) -> pd.DataFrame:
    """The unit table of a forecast file against the test cache (see the module docstring).

    ``units`` maps every test event id to its unit. :class:`InputError` when the files do not line up
    sample by sample or an event has no unit.
    """
    codes = check_thresholds(thresholds)
    with open_hdf5(forecast) as f_handle, open_hdf5(truth) as o_handle:
        f_data = require_dataset(f_handle, FORECAST_DATASET, kinds="f", ndim=4)
        o_data = require_dataset(o_handle, TRUTH_DATASET, kinds="f", ndim=4, shape=f_data.shape)
        events = [e.decode() for e in require_dataset(o_handle, "event_id", kinds="S", shape=f_data.shape[:1])[...]]
        if "event_id" in f_handle and not np.array_equal(f_handle["event_id"][...], o_handle["event_id"][...]):
            raise InputError(forecast, f"event_id order differs from {truth}: forecasts belong to other samples")
        unknown = sorted(set(events) - set(units))
        if unknown:
            raise InputError(truth, f"test events without a unit in the catalog: {unknown}")
        sample_units = np.array([units[e] for e in events])
        labels = list(dict.fromkeys(sample_units))
        n_leads = f_data.shape[1]
        counts = {u: ContingencyAccumulator(codes, n_leads) for u in labels}
        errors = {u: ErrorAccumulator() for u in labels}
        for start in range(0, f_data.shape[0], batch_size):
            f_batch = np.asarray(f_data[start : start + batch_size])
            o_batch = np.asarray(o_data[start : start + batch_size])
            batch_units = sample_units[start : start + batch_size]
            for unit in dict.fromkeys(batch_units):
                mine = batch_units == unit
                try:
                    counts[unit].update(f_batch[mine], o_batch[mine])
                except ValueError as err:
                    raise InputError(forecast, f"samples from index {start}: {err}") from err
                errors[unit].update(
                    f_batch[mine].astype(np.float32) * _CODE_SCALE, o_batch[mine].astype(np.float32) * _CODE_SCALE
                )
    return pd.DataFrame([_row(unit, counts[unit], errors[unit]) for unit in labels])


def _row(unit: str, counts: ContingencyAccumulator, errors: ErrorAccumulator) -> dict[str, str | int | float]:
    """One unit's columns: counts over all leads and at the last lead, then the squared-error sum."""
    row: dict[str, str | int | float] = {UNIT: unit}
    tables = (counts.hits, counts.misses, counts.false_alarms)
    last = counts.n_leads
    for i, threshold in enumerate(counts.thresholds):
        for column, table in zip(csi_statistics(threshold_label(threshold)), tables, strict=True):
            row[column] = int(table[i].sum())
        for column, table in zip(csi_statistics(lead_label(threshold, last)), tables, strict=True):
            row[column] = int(table[i, last - 1])
    row["squared_error"] = float(errors.sum_squared.sum())
    row["n_pixels"] = int(errors.count.sum())
    return row
