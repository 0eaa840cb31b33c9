"""Train one riskseg variant with one seed, through the shared path (:func:`atmo.train.train_job`).

A variant entry of ``riskseg.variants`` names its architecture and constructor ``params``, its
``loss`` (:class:`~atmo.riskseg.losses.LossSettings`), its oversampling scheme and CRF settings.
The job trains on the training tiles (oversampled when the variant says so), with the module's
augmentation, and early-stops on the loss of the *validation* blocks, never on test blocks. The
seed of the ``seeds`` list replaces ``train.seed``: the initial weights, dropout, shuffling and
augmentation all follow it, so seeds differ and each is reproducible.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from atmo.errors import InputError
from atmo.riskseg.augment import AugmentSettings, TileAugmenter
from atmo.riskseg.dataset import RisksegTiles, band_names_of
from atmo.riskseg.losses import LossSettings, RisksegLoss
from atmo.riskseg.models import RISKSEG_MODELS
from atmo.settings import build_block
from atmo.train import load_trained, model_meta, to_device, train_job

log = logging.getLogger(__name__)

MODULE = "riskseg"


def variant_loss(variant: str, spec: Mapping[str, Any]) -> LossSettings:
    """The variant's loss block with defaults filled in (checked, key named on error)."""
    return build_block(LossSettings, spec.get("loss"), f"riskseg.variants.{variant}.loss")


def build_variant_entry(variant: str, spec: Mapping[str, Any], n_bands: int) -> nn.Module:
    """The model a training job builds for ``spec`` on ``n_bands`` input bands (used by the entry check too)."""
    variant_loss(variant, spec)
    return RISKSEG_MODELS[spec["arch"]](in_channels=n_bands, **spec.get("params", {}))


def loss_step(criterion: RisksegLoss):
    """``loss_step(model, batch, device) -> (loss, {"focal", "coral"})`` for the shared trainer."""

    def step(model: nn.Module, batch: Mapping[str, Any], device: torch.device):
        batch = to_device(batch, device)
        logits, ordinal = model(batch["image"], with_ordinal=True)
        return criterion(logits, ordinal, batch["label"])

    return step


def train_variant(
    *,
    tiles: str | os.PathLike[str],
    train_tiles: str | os.PathLike[str],
    variant: str,
    spec: Mapping[str, Any],
    seed: int,
    train: Mapping[str, Any],
    augment: Mapping[str, Any],
    model_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Train ``variant`` with ``seed``; ``train_tiles`` is the oversampled file or ``tiles`` itself."""
    bands = band_names_of(tiles)
    if band_names_of(train_tiles) != bands:
        raise InputError(train_tiles, f"bands {band_names_of(train_tiles)} differ from {tiles} bands {bands}")
    loss = variant_loss(variant, spec)
    settings = build_block(AugmentSettings, augment, "riskseg.augment")
    augmenter = TileAugmenter(settings, bands)
    params = {**spec.get("params", {}), "in_channels": len(bands)}
    # The augmentation is part of the meta, and so of the run's fingerprint: other settings never resume a run.
    extra = {"variant": variant, "seed": seed, "band_names": bands, "augment": asdict(settings)}
    meta = model_meta(MODULE, spec["arch"], params, loss=asdict(loss), **extra)
    criterion = RisksegLoss(loss)
    step = loss_step(criterion)
    return train_job(
        registry=RISKSEG_MODELS,
        meta=meta,
        train={**train, "seed": seed},
        train_set=RisksegTiles(train_tiles, "train", augment=augmenter),
        val_set=RisksegTiles(tiles, "val"),
        loss_step=step,
        inputs={"tiles": tiles, "train_tiles": train_tiles},
        model_path=model_path,
    )


def load_variant(path: str | os.PathLike[str], variant: str, device: torch.device | str = "cpu") -> nn.Module:
    """Load a riskseg ``model.pt`` and refuse, in one line, a checkpoint of another variant."""
    loaded = load_trained(path, RISKSEG_MODELS, MODULE, device, expect={"variant": variant})
    loaded.model.band_names = list(loaded.meta.get("band_names", []))
    return loaded.model
