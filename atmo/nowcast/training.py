"""Train one nowcast model (or ablation) from the cache files through the shared training job.

A model is described by one entry of ``nowcast.models`` in the config: the architecture name, its
constructor keywords and its loss weights. The frame counts are not configured per model: they come
from the cache, so a model can never be trained on a different input/output length than it is
scored on. Validation logs the loss parts and ``val_csi_m``, the benchmark's CSI-M on the validation
split (hits, misses and false alarms summed over the split, as the test scores are), so early stopping
and the best checkpoint can select on the score the models are compared by rather than on the MSE,
which rewards blur: the training loss differs between ablations anyway, CSI-M means the same for all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import torch

from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5
from atmo.metrics.contingency import CODE_TOLERANCE, SEVIR_THRESHOLDS, ContingencyAccumulator
from atmo.nowcast.dataset import AugmentSettings, NowcastDataset
from atmo.nowcast.losses import CODE_SCALE, NowcastLoss
from atmo.nowcast.models import MODELS, NowcastModel
from atmo.settings import build_block
from atmo.train import build_model, load_model, model_meta, to_device, train_job

MODULE = "nowcast"


def nowcast_meta(spec: Mapping[str, Any], frames_in: int, frames_out: int) -> dict[str, Any]:
    """The checkpoint ``meta`` of a model entry, with the frame counts taken from the cache."""
    params = {**spec.get("params", {}), "frames_in": frames_in, "frames_out": frames_out}
    return model_meta(MODULE, spec["arch"], params, loss=dict(spec.get("loss", {})))


def build_entry(spec: Mapping[str, Any], frames_in: int, frames_out: int) -> tuple[NowcastModel, NowcastLoss]:
    """What a training job builds from a model entry: the model and its loss (used to check the config)."""
    meta = nowcast_meta(spec, frames_in, frames_out)
    return build_model(MODELS, MODULE, meta["arch"], meta["params"]), NowcastLoss(meta["loss"])


class ValidationCsi:
    """CSI-M over one validation pass: ``update`` per batch, ``summary`` at the end (which resets it).

    CSI is a ratio of counts summed over the split, so it cannot be a mean of per-batch values; the
    trainer's ``val_summary`` hook turns the summed counts into ``{"csi_m": ...}``. Forecasts are
    clamped to 0..1 as at scoring.
    """

    def __init__(self, frames_out: int) -> None:
        self.frames_out = frames_out
        self.counts = self._empty_counts()

    def _empty_counts(self) -> ContingencyAccumulator:
        return ContingencyAccumulator(SEVIR_THRESHOLDS, self.frames_out)

    def update(self, forecast: torch.Tensor, truth: torch.Tensor) -> None:
        self.counts.update(forecast.detach().clamp(0, 1).float().cpu().numpy(), truth.float().cpu().numpy())

    def summary(self, _means: Mapping[str, float]) -> dict[str, float]:
        csi_m = self.counts.csi_m()
        self.counts = self._empty_counts()
        return {"csi_m": csi_m}


def check_truth_reaches_a_threshold(val_cache: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` before training when ``val_csi_m`` would be undefined (0/0 at every threshold)."""
    limit = SEVIR_THRESHOLDS[0] - CODE_TOLERANCE
    peak = 0.0
    with open_hdf5(val_cache) as handle:  # sample by sample: a full-size validation cache is GBs
        for sample in handle["y"]:
            peak = max(peak, float(sample.max()) * CODE_SCALE)
            if peak >= limit:
                return
    raise InputError(
        val_cache,
        f"the validation truth never reaches VIP {SEVIR_THRESHOLDS[0]} (peak {peak:.0f}), so val_csi_m is "
        "undefined: monitor val_mse, or give the validation split events with storms",
    )


def load_nowcast_model(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> NowcastModel:
    """Load a nowcast ``model.pt`` (``weights_only=True``); other modules' files are refused."""
    return load_model(path, MODELS, MODULE, device)


def train_nowcast_model(
    train_cache: str | os.PathLike[str],
    val_cache: str | os.PathLike[str],
    spec: Mapping[str, Any],
    train: Mapping[str, Any],
    model_path: str | os.PathLike[str],
    augment: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Fit the model ``spec`` (``{"arch", "params", "loss"}``, optionally ``"train"`` overrides) and write
    ``model_path`` (best epoch).

    ``augment`` is the ``nowcast.augment`` block (random flips and turns of the training samples).
    ``seed``, one of the entry's ``seeds``, replaces ``train.seed``: the initial weights, shuffling and
    augmentation follow it, so the seeds of one entry differ and each is reproducible.
    The run directory is ``run/`` beside ``model_path``; a restarted job of the same fingerprint
    resumes from it. Returns the training summary.
    """
    train = {**train, **spec.get("train", {})}  # the entry's departures, e.g. epochs: 0 for the untrained control
    if seed is not None:
        train = {**train, "seed": seed}
    if train.get("monitor") == "val_csi_m":
        check_truth_reaches_a_threshold(val_cache)
    settings = build_block(AugmentSettings, augment, AugmentSettings.WHERE)
    train_set, val_set = NowcastDataset(train_cache, augment=settings), NowcastDataset(val_cache)
    # The augmentation enters the meta, and so the run's fingerprint: a run of other settings is not resumed.
    meta = {**nowcast_meta(spec, train_set.frames_in, train_set.frames_out), "augment": asdict(settings)}
    criterion = NowcastLoss(meta["loss"])

    validation_csi = ValidationCsi(val_set.frames_out)

    def forecast_and_loss(model: NowcastModel, batch: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
        forecast = model.forecast(batch["x"], batch["present"], batch["motion"])
        total, parts = criterion(forecast.vil, batch["y"], forecast.physics)
        return forecast.vil, total, {name: value for name, value in parts.items() if name != "total"}

    def loss_step(model: NowcastModel, batch: dict, device: torch.device) -> tuple[torch.Tensor, dict]:
        _, total, parts = forecast_and_loss(model, to_device(batch, device))
        return total, parts

    def val_step(model: NowcastModel, batch: dict, device: torch.device) -> dict[str, torch.Tensor]:
        batch = to_device(batch, device)
        vil, total, parts = forecast_and_loss(model, batch)
        validation_csi.update(vil, batch["y"])
        return {"loss": total.detach(), "mse": parts["mse"], "extreme": parts["extreme"]}

    return train_job(
        registry=MODELS,
        meta=meta,
        train=train,
        train_set=train_set,
        val_set=val_set,
        loss_step=loss_step,
        val_step=val_step,
        val_summary=validation_csi.summary,
        inputs={"train": train_cache, "val": val_cache},
        model_path=model_path,
    )
