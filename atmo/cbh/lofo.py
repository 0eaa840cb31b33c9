"""The per-fold jobs without a network: reference baselines and WP-3, and the pooled k-fold check.

Each reads the cache and the fold table and writes test-flight predictions in the one format of
:mod:`atmo.cbh.predictions`. "Training samples" here are all samples of the training flights
(train and validation split alike): none of these methods stops early, so none needs validation
data, and the test flight is never among them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from atmo.cbh.baselines import climatology, geometry_alone
from atmo.cbh.cache import read_cache_table
from atmo.cbh.folds import ValidationSettings, fold_indices, read_fold
from atmo.cbh.gbdt import GbdtSettings, fit_predict, pooled_kfold_predictions
from atmo.cbh.predictions import write_predictions
from atmo.config_blocks import build_block
from atmo.io.atomic import write_json
from atmo.metrics.regression import r2

log = logging.getLogger(__name__)


def _split(cache: str | os.PathLike[str], folds_path: str | os.PathLike[str], fold_id: int, validation: Mapping):
    table = read_cache_table(cache)
    fold = read_fold(folds_path, fold_id)
    settings = build_block(ValidationSettings, validation, "cbh.validation")
    split = fold_indices(table, fold, settings, source=folds_path)
    return table, fold, np.sort(np.concatenate([split["train"], split["val"]])), split["test"]


def write_baselines(
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold_id: int,
    validation: Mapping[str, Any],
    outputs: Mapping[str, str | os.PathLike[str]],
) -> dict[str, float]:
    """Climatology and WP-1 geometry alone for one fold; ``outputs`` maps ``climatology``/``geometry`` to files.

    Returns ``{"geometry_filled_fraction": ...}``: the share of test samples without a usable
    shadow estimate, which :func:`atmo.cbh.baselines.geometry_alone` fills with the climatology.
    """
    table, fold, train, test = _split(cache, folds_path, fold_id, validation)
    y_train = table.cbh_km[train]
    geom = table.geometry[test, table.geometry_names.index("cbh_geom_km")]
    predictions = {"climatology": climatology(y_train, len(test))}
    predictions["geometry"], filled = geometry_alone(geom, y_train)
    for name, pred_km in predictions.items():
        write_predictions(
            outputs[name],
            sample=test,
            flight=fold.test_flight,
            fold_id=fold_id,
            cbh_km=table.cbh_km[test],
            pred_km=pred_km,
        )
    log.info(
        "fold %d (%s): geometry had no usable estimate for %.1f %% of the test samples",
        fold_id,
        fold.test_flight,
        100 * filled,
    )
    return {"geometry_filled_fraction": filled}


def write_gbdt(
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold_id: int,
    validation: Mapping[str, Any],
    gbdt: Mapping[str, Any],
    output: str | os.PathLike[str],
) -> None:
    """WP-3 for one fold: gradient-boosted trees on the ERA5 + geometry features of the training flights."""
    table, fold, train, test = _split(cache, folds_path, fold_id, validation)
    settings = build_block(GbdtSettings, gbdt, "cbh.gbdt")
    features, _ = table.tabular()
    pred_km = fit_predict(features[train], table.cbh_km[train], features[test], settings)
    write_predictions(
        output, sample=test, flight=fold.test_flight, fold_id=fold_id, cbh_km=table.cbh_km[test], pred_km=pred_km
    )


def write_pooled_gbdt(cache: str | os.PathLike[str], gbdt: Mapping[str, Any], output: str | os.PathLike[str]) -> float:
    """WP-3 under a shuffled k-fold over all samples pooled: the leaky score LOFO replaces. Returns its R²."""
    table = read_cache_table(cache)
    settings = build_block(GbdtSettings, gbdt, "cbh.gbdt")
    labelled = np.isfinite(table.cbh_km)
    features, _ = table.tabular()
    pred_km = pooled_kfold_predictions(features[labelled], table.cbh_km[labelled], settings)
    score = r2(pred_km, table.cbh_km[labelled])
    write_json(
        output,
        {
            "gbdt_pooled_r2": score,
            "gbdt_pooled_folds": settings.pooled_folds,
            "gbdt_pooled_samples": int(labelled.sum()),
        },
    )
    return score
