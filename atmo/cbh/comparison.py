"""What the CBH experiment compares, and how: the unit statistics it writes and the plan the shared step reads.

- **Metric**: the leave-one-flight-out fold-mean MAE (km): each test flight's MAE, averaged over
  flights, so every flight counts once whatever its size (``pooling="unit_mean"``), as the
  report's ``mean_mae_km``.
- **Units**: the test flights (one per fold), with the samples of each flight resampled within it
  (scheme ``units_and_items``): a flight is the independent unit (its samples share clouds and
  regime), and a small flight's MAE also moves with which of its few samples were drawn.
- **Unit statistics** (:func:`unit_statistics`): one row per test sample, ``unit`` = its flight,
  ``item`` = its sample index in the cache, ``abs_error_km`` and ``n`` = 1; a flight's MAE is the
  ratio of the sums.
- **Pairs**: every network model against the best baseline, the headline (``cbh.comparison.headline``)
  among them, and the write-up's pairs (``cbh.comparison.write_up``; e.g. attention against
  image_only: do the physical features and the fusion help?). The experiment has no ablation
  entries: its write-up's questions are pairs of full models.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from atmo.cbh.folds import Fold, read_fold_table
from atmo.cbh.predictions import Predictions, by_sample, check_fold, read_predictions
from atmo.errors import InputError
from atmo.metrics.paired import BootstrapSettings, Resampling
from atmo.metrics.pooled import ratio
from atmo.metrics.unit_stats import ITEM, UNIT, write_unit_stats
from atmo.publish.comparisons import Plan

UNIT_NAME = "test flights"
ABS_ERROR = "abs_error_km"
COUNT = "n"
METRIC = ratio("mae_km", "MAE (km)", ABS_ERROR, COUNT, higher_is_better=False, pooling="unit_mean")


def unit_statistics(folds: Sequence[Fold], predictions: Mapping[int, Predictions]) -> pd.DataFrame:
    """The unit table of one (approach, seed): a row per test sample, flights in fold order, samples in order.

    ``predictions[fold_id]`` is that fold's test-flight predictions (checked by the caller). The
    order is fixed by the folds and the sample indices alone, so every approach's table lists the
    same rows in the same order, as a paired comparison needs.
    """
    frames = []
    for fold in folds:
        p = by_sample(predictions[fold.fold_id])
        frames.append(
            pd.DataFrame(
                {
                    UNIT: fold.test_flight,
                    ITEM: p.sample.astype(str),
                    ABS_ERROR: np.abs(p.pred_km - p.cbh_km),
                    COUNT: 1,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_unit_statistics(
    fold_table_path: str | os.PathLike[str],
    prediction_paths: Sequence[str | os.PathLike[str]],
    path: str | os.PathLike[str],
) -> pd.DataFrame:
    """Check one (approach, seed)'s prediction files of every fold against the fold table; write its unit table.

    The files may come in any order; each must hold exactly one fold's test flight, and every fold
    needs exactly one file (:class:`InputError` naming the file otherwise).
    """
    folds = read_fold_table(fold_table_path)
    by_fold: dict[int, Predictions] = {}
    for prediction_path in prediction_paths:
        predictions = read_predictions(prediction_path)
        fold_id = int(predictions.fold_id[0])
        fold = next((f for f in folds if f.fold_id == fold_id), None)
        if fold is None or fold_id in by_fold:
            problem = "is not a fold of the fold table" if fold is None else "has two prediction files"
            raise InputError(prediction_path, f"fold {fold_id} {problem}")
        check_fold(prediction_path, predictions, fold)
        by_fold[fold_id] = predictions
    missing = [fold.fold_id for fold in folds if fold.fold_id not in by_fold]
    if missing:
        raise InputError(fold_table_path, f"no predictions for folds {missing}")
    table = unit_statistics(folds, by_fold)
    write_unit_stats(path, table)
    return table


def plan(settings: Mapping[str, Any], bootstrap: BootstrapSettings) -> Plan:
    """The CBH plan (``settings`` from :func:`atmo.cbh.approaches.comparison_settings`); see the module doc."""
    return Plan(
        metric=METRIC,
        resampling=Resampling("units_and_items", bootstrap),
        unit_name=UNIT_NAME,
        headline=settings["headline"],
        ablations={},
        write_up=[(a, b) for a, b in settings["write_up"]],
    )
