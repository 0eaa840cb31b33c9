"""The per-fold jobs without a network: reference baselines, trees, ridge, and the pooled k-fold check.

Each reads the cache and the fold table and writes test-flight predictions in the one format of
:mod:`atmo.cbh.predictions`. "Training samples" here are all samples of the training flights
(train and validation split alike): none of these methods stops early, so none needs validation
data, and the test flight is never among them. The one choice among them, the ridge penalty, is
made by cross-validation inside the training samples (:func:`inner_splits`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from atmo.cbh.baselines import climatology, geometry_alone, geometry_calibrated, lcl
from atmo.cbh.cache import CacheTable, read_cache_table
from atmo.cbh.folds import Fold, ValidationSettings, fold_indices, read_fold
from atmo.cbh.gbdt import GbdtSettings, fit_predict, pooled_kfold_predictions
from atmo.cbh.predictions import write_predictions
from atmo.cbh.products import pooled_r2_key
from atmo.cbh.ridge import InnerSplit, RidgeSettings, choose_alpha, inner_scores
from atmo.cbh.ridge import fit_predict as ridge_fit_predict
from atmo.errors import InputError
from atmo.io.atomic import write_json
from atmo.metrics.regression import r2
from atmo.settings import build_block

log = logging.getLogger(__name__)

#: The per-fold baselines of :func:`write_baselines`, the keys of its ``outputs``.
CLOSED_FORM = ("climatology", "geometry", "geometry_calibrated", "lcl")
LCL_FEATURE = "lcl_m"


def fold_split(
    cache: str | os.PathLike[str], folds_path: str | os.PathLike[str], fold_id: int, validation: Mapping
) -> tuple[CacheTable, Fold, dict[str, np.ndarray]]:
    """The cache table, fold ``fold_id`` and its ``{"train", "val", "test"}`` sample indices."""
    table = read_cache_table(cache)
    fold = read_fold(folds_path, fold_id)
    settings = build_block(ValidationSettings, validation, "cbh.validation")
    return table, fold, fold_indices(table, fold, settings, source=folds_path)


def training_samples(split: Mapping[str, np.ndarray]) -> np.ndarray:
    """The sorted training and validation samples of a fold together: what a method that never stops early fits on."""
    return np.sort(np.concatenate([split["train"], split["val"]]))


def write_baselines(
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold_id: int,
    validation: Mapping[str, Any],
    outputs: Mapping[str, str | os.PathLike[str]],
) -> dict[str, float | None]:
    """The closed-form baselines of one fold (:data:`CLOSED_FORM`, the keys of ``outputs``, each a file).

    Returns the facts the report notes: ``geometry_filled_fraction``,
    ``geometry_calibrated_filled_fraction`` and ``lcl_filled_fraction`` (the share of test samples
    each filled with the climatology, :mod:`atmo.cbh.baselines`) and ``geometry_bias_km``, the
    calibration fitted on the training flights (``None`` without a usable shadow there).
    """
    table, fold, split = fold_split(cache, folds_path, fold_id, validation)
    train, test = training_samples(split), split["test"]
    if LCL_FEATURE not in table.era5_names:
        raise InputError(cache, f"has no ERA5 feature '{LCL_FEATURE}' for the lcl baseline, only {table.era5_names}")
    y_train = table.cbh_km[train]
    geom = table.geometry[:, table.geometry_names.index("cbh_geom_km")]
    lcl_m = table.era5[:, table.era5_names.index(LCL_FEATURE)]
    facts: dict[str, float | None] = {}
    predictions = {"climatology": climatology(y_train, len(test))}
    predictions["geometry"], facts["geometry_filled_fraction"] = geometry_alone(geom[test], y_train)
    calibrated = geometry_calibrated(geom[train], y_train, geom[test])
    predictions["geometry_calibrated"], facts["geometry_calibrated_filled_fraction"] = calibrated[:2]
    facts["geometry_bias_km"] = calibrated[2]
    predictions["lcl"], facts["lcl_filled_fraction"] = lcl(lcl_m[test], y_train)
    for name in CLOSED_FORM:
        write_predictions(
            outputs[name],
            sample=test,
            flight=fold.test_flight,
            fold_id=fold_id,
            cbh_km=table.cbh_km[test],
            pred_km=predictions[name],
        )
    log.info("fold %d (%s): %s", fold_id, fold.test_flight, facts)
    return facts


def inner_splits(table: CacheTable, split: Mapping[str, np.ndarray], train: np.ndarray) -> tuple[str, list[InnerSplit]]:
    """``(how, splits)``: the inner cross-validation of a fold's training samples ``train`` (sorted).

    With at least two training flights, leave one training flight out (``how = "flights"``): the
    held-out flight is as unseen as the test flight will be. With one, the fold's validation split
    (``how = "validation"``; ``cbh.validation`` says what it is). Indices are positions in ``train``.
    """
    flights = table.flight_index[train]
    if len(np.unique(flights)) >= 2:
        return "flights", [(np.flatnonzero(flights != g), np.flatnonzero(flights == g)) for g in np.unique(flights)]
    return "validation", [(np.searchsorted(train, split["train"]), np.searchsorted(train, split["val"]))]


def write_ridge(
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold_id: int,
    validation: Mapping[str, Any],
    ridge: Mapping[str, Any],
    output: str | os.PathLike[str],
) -> dict[str, Any]:
    """Ridge on the ERA5 + geometry features for one fold, its penalty chosen inside the training flights.

    Returns the facts of the choice: ``alpha``, ``inner`` (``flights`` or ``validation``, see
    :func:`inner_splits`), ``alphas`` and their ``inner_mae_km``.
    """
    table, fold, split = fold_split(cache, folds_path, fold_id, validation)
    settings = build_block(RidgeSettings, ridge, "cbh.ridge")
    train, test = training_samples(split), split["test"]
    features, _ = table.tabular()
    how, splits = inner_splits(table, split, train)
    scores = inner_scores(features[train], table.cbh_km[train], table.flight_index[train], splits, settings.alphas)
    alpha = choose_alpha(scores, settings.alphas)
    pred_km = ridge_fit_predict(features[train], table.cbh_km[train], features[test], alpha)
    write_predictions(
        output, sample=test, flight=fold.test_flight, fold_id=fold_id, cbh_km=table.cbh_km[test], pred_km=pred_km
    )
    log.info(
        "fold %d (%s): ridge alpha %g, chosen on %d inner split(s) by %s",
        fold_id,
        fold.test_flight,
        alpha,
        len(splits),
        how,
    )
    return {"alpha": alpha, "inner": how, "alphas": list(settings.alphas), "inner_mae_km": scores.tolist()}


def write_gbdt(
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold_id: int,
    validation: Mapping[str, Any],
    gbdt: Mapping[str, Any],
    output: str | os.PathLike[str],
) -> None:
    """The trees for one fold: gradient-boosted trees on the ERA5 + geometry features of the training flights."""
    table, fold, split = fold_split(cache, folds_path, fold_id, validation)
    train, test = training_samples(split), split["test"]
    settings = build_block(GbdtSettings, gbdt, "cbh.gbdt")
    features, _ = table.tabular()
    pred_km = fit_predict(features[train], table.cbh_km[train], features[test], settings)
    write_predictions(
        output, sample=test, flight=fold.test_flight, fold_id=fold_id, cbh_km=table.cbh_km[test], pred_km=pred_km
    )


def write_pooled_gbdt(cache: str | os.PathLike[str], gbdt: Mapping[str, Any], output: str | os.PathLike[str]) -> float:
    """The trees under a shuffled k-fold over all samples pooled: the leaky score LOFO replaces. Returns its R²."""
    table = read_cache_table(cache)
    settings = build_block(GbdtSettings, gbdt, "cbh.gbdt")
    labelled = np.isfinite(table.cbh_km)
    features, _ = table.tabular()
    pred_km = pooled_kfold_predictions(features[labelled], table.cbh_km[labelled], settings)
    score = r2(pred_km, table.cbh_km[labelled])
    write_json(
        output,
        {
            pooled_r2_key("gbdt"): score,
            "gbdt_pooled_folds": settings.pooled_folds,
            "gbdt_pooled_samples": int(labelled.sum()),
        },
    )
    return score
