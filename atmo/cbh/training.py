"""The two CBH training jobs, through the shared path (:func:`atmo.train.train_job`).

- :func:`pretrain_mae` trains the masked autoencoder of one encoder entry on every frame of one
  fold's *training* flights, the unlabelled frames between lidar samples included (strict: the
  encoder of fold k never saw flight k, and the fold's validation frames pick its best epoch), or
  of every frame (``fold = "all"``: the write-up's transductive choice, then validated on a seeded share
  of all frames). ``metrics.json`` says how many frames it trained on and how many were unlabelled.
Both take the job's ``seed`` (a seed of the variant's ``seeds`` list), which replaces ``train.seed``:
the initial weights, the masking and the shuffling follow it. A network job with seed ``s`` freezes the
encoder pretrained with seed ``s``, so a seed varies the whole pipeline, not only the head.

- :func:`train_variant` trains one network variant on one fold: the physical features are imputed and
  standardised with statistics of the fold's training samples only, the encoder is the frozen MAE
  of that fold, early stopping and the exported epoch look at the validation samples of the
  training flights only; then the exported model predicts the test flight, in the same job (a
  separate job would pay the interpreter and torch start-up again for a few milliseconds of work).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from atmo.cbh.baselines import geometry_alone
from atmo.cbh.cache import CacheTable, read_cache_table
from atmo.cbh.dataset import CbhDataset, MaeDataset
from atmo.cbh.features import FeaturePreprocessor
from atmo.cbh.folds import ValidationSettings, fold_indices, pretraining_indices, read_fold
from atmo.cbh.losses import CbhLoss, CbhLossSettings, mae_loss_step, regression_loss_step, regression_val_step
from atmo.cbh.mae import ARCH as MAE_ARCH
from atmo.cbh.mae import CBH_PRETRAIN, read_mae_checkpoint
from atmo.cbh.models import CBH_MODELS, encoder_keywords, keywords_of_encoder, pretrained_registry
from atmo.cbh.predictions import write_predictions
from atmo.cbh.views import ViewSettings, view_params
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.settings import build_block
from atmo.train import load_model, model_meta, train_job

log = logging.getLogger(__name__)

MODULE = "cbh"
TRANSDUCTIVE = "all"


def build_encoder_entry(encoder: Mapping[str, Any], frame: tuple[int, int, int]) -> torch.nn.Module:
    """The MAE a pretraining job builds for an encoder entry, on frames of ``frame`` = (C, h, w)."""
    view = build_block(ViewSettings, encoder.get("view"), "view")
    return CBH_PRETRAIN[MAE_ARCH](**{**encoder.get("params", {}), **view_params(view, frame)})


def build_variant_entry(
    spec: Mapping[str, Any], encoder: Mapping[str, Any], frame: tuple[int, int, int], n_physical: int
) -> torch.nn.Module:
    """The network model a training job builds for ``spec``, with the architecture of its ``encoder`` entry.

    Used before any job runs (on the meta device) so that settings a constructor refuses, e.g.
    attention heads that do not divide the encoder width, stop the workflow with one line.
    """
    mae = build_encoder_entry(encoder, frame)
    variant_loss(spec)
    params = {
        **spec.get("params", {}),
        "n_physical": n_physical,
        **keywords_of_encoder(mae.in_channels, mae.encoder.config),
    }
    return CBH_MODELS[spec["arch"]](**params)


def variant_loss(spec: Mapping[str, Any]) -> tuple[dict[str, Any], CbhLoss]:
    """A network entry's ``loss`` block with the schema's defaults filled in, and the criterion it makes."""
    loss = {**asdict(CbhLossSettings()), **spec.get("loss", {})}
    return loss, CbhLoss(loss)


def physical_prior(table: CacheTable, split: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per split, the shadow-geometry estimate in km, the training samples' mean where it has none.

    The prior of ``residual_on_prior`` models; like every fitted quantity it uses the training
    samples only (the fill value).
    """
    geometry = table.geometry[:, table.geometry_names.index("cbh_geom_km")]
    y_train = table.cbh_km[split["train"]]
    return {name: geometry_alone(geometry[indices], y_train)[0] for name, indices in split.items()}


def frame_shape(cache: str | os.PathLike[str]) -> tuple[int, int, int]:
    """``(C, h, w)`` of the cache's frames."""
    with open_hdf5(cache) as handle:
        return tuple(require_dataset(handle, "images", kinds="u", ndim=4).shape[1:])


def _pretraining_split(
    table: CacheTable, folds_path: str | os.PathLike[str], fold: str, validation: ValidationSettings
) -> dict[str, np.ndarray]:
    """Train/val frame indices of a pretraining job: one fold's training flights, or every frame.

    Labels play no part: unlabelled frames train the autoencoder as the labelled ones do.
    """
    if fold != TRANSDUCTIVE:
        return pretraining_indices(table, read_fold(folds_path, int(fold)), validation, source=folds_path)
    frames = np.arange(table.cbh_km.size)
    rng = np.random.default_rng(validation.seed)
    val = np.sort(rng.choice(frames, size=max(1, round(validation.fraction * frames.size)), replace=False))
    return {"train": np.setdiff1d(frames, val), "val": val}


def pretrain_mae(
    *,
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold: str,
    encoder_name: str,
    encoder: Mapping[str, Any],
    seed: int,
    train: Mapping[str, Any],
    validation: Mapping[str, Any],
    model_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Pretrain encoder ``encoder_name`` for ``fold`` (an id, or ``"all"``) with ``seed``; writes ``model.pt``."""
    where = f"cbh.mae.encoders.{encoder_name}"
    view = build_block(ViewSettings, encoder.get("view"), f"{where}.view")
    settings = build_block(ValidationSettings, validation, "cbh.validation")
    table = read_cache_table(cache)
    split = _pretraining_split(table, folds_path, fold, settings)
    params = {**encoder.get("params", {}), **view_params(view, frame_shape(cache))}
    meta = model_meta(MODULE, MAE_ARCH, params, view=asdict(view), pretraining_fold=fold, seed=seed)
    unlabelled = int(np.count_nonzero(~np.isfinite(table.cbh_km[split["train"]])))
    log.info(
        "pretraining %s for fold %s on %d frames (%d of them unlabelled; %d validate), seed %d",
        encoder_name,
        fold,
        len(split["train"]),
        unlabelled,
        len(split["val"]),
        seed,
    )
    return train_job(
        registry=CBH_PRETRAIN,
        meta=meta,
        train={**train, "seed": seed},
        train_set=MaeDataset(cache, split["train"], view),
        val_set=MaeDataset(cache, split["val"], view),
        loss_step=mae_loss_step,
        inputs={"cache": cache, "folds": folds_path},
        model_path=model_path,
        facts={"n_train_unlabelled": unlabelled},
    )


def train_variant(
    *,
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold_id: int,
    variant: str,
    spec: Mapping[str, Any],
    seed: int,
    train: Mapping[str, Any],
    validation: Mapping[str, Any],
    encoder_path: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    predictions_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Train network ``variant`` on fold ``fold_id`` with ``seed`` and write its test-flight predictions.

    ``spec`` is the variant's entry of ``cbh.models`` with its encoder's ``view`` added. The MAE
    checkpoint is checked (module, architecture, shape, view) before any training.
    """
    view = build_block(ViewSettings, spec.get("view"), f"cbh.models.{variant}.view")
    settings = build_block(ValidationSettings, validation, "cbh.validation")
    table = read_cache_table(cache)
    fold = read_fold(folds_path, fold_id)
    split = fold_indices(table, fold, settings, source=folds_path)
    features, names = table.tabular()
    preprocessor = FeaturePreprocessor(names).fit(features[split["train"]])
    physical = {name: preprocessor.transform(features[indices]) for name, indices in split.items()}
    prior = physical_prior(table, split)
    mae = read_mae_checkpoint(encoder_path)
    params = {**spec.get("params", {}), "n_physical": features.shape[1], **encoder_keywords(mae)}
    loss, criterion = variant_loss(spec)
    meta = model_meta(MODULE, spec["arch"], params, loss=loss, features=preprocessor.to_dict(), seed=seed)
    datasets = {name: CbhDataset(cache, indices, view, physical[name], prior[name]) for name, indices in split.items()}
    log.info(
        "fold %d (test %s): %s seed %d trains on %d, validates on %d, tests on %d samples",
        fold_id,
        fold.test_flight,
        variant,
        seed,
        *(len(datasets[name]) for name in ("train", "val", "test")),
    )
    summary = train_job(
        registry=pretrained_registry(CBH_MODELS, mae, view),  # checked and read once, above
        meta=meta,
        train={**train, "seed": seed},
        train_set=datasets["train"],
        val_set=datasets["val"],
        loss_step=regression_loss_step(criterion),
        val_step=regression_val_step(criterion),
        inputs={"cache": cache, "folds": folds_path, "encoder": encoder_path},
        model_path=model_path,
    )
    model = load_model(model_path, CBH_MODELS, MODULE)
    test = datasets["test"]
    with torch.no_grad():
        batches = DataLoader(test, batch_size=256)
        pred_km = torch.cat([model(b["view"], b["physical"], b["prior_km"]) for b in batches]).numpy()
    write_predictions(
        predictions_path,
        sample=test.indices,
        flight=fold.test_flight,
        fold_id=fold_id,
        cbh_km=test.cbh_km,
        pred_km=pred_km,
    )
    return summary
