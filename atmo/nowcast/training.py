"""Train one nowcast model (or ablation) from the cache files through the shared training job.

A model is described by one entry of ``nowcast.models`` in the config: the architecture name, its
constructor keywords and its loss weights. The frame counts are not configured per model: they come
from the cache, so a model can never be trained on a different input/output length than it is
scored on. Early stopping and the best checkpoint use the validation MSE, not the training loss,
because the loss differs between ablations (no physics term, no extreme weighting) while the MSE
means the same thing for all of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from atmo.nowcast.dataset import NowcastDataset
from atmo.nowcast.losses import NowcastLoss
from atmo.nowcast.models import MODELS, NowcastModel
from atmo.train import build_model, load_model, model_meta, to_device, train_job

MODULE = "nowcast"


def nowcast_meta(spec: Mapping[str, Any], frames_in: int, frames_out: int) -> dict[str, Any]:
    """The checkpoint ``meta`` of a model entry, with the frame counts taken from the cache."""
    params = {**spec.get("params", {}), "frames_in": frames_in, "frames_out": frames_out}
    return model_meta(MODULE, spec["arch"], params, loss=dict(spec.get("loss", {})))


def build_entry(spec: Mapping[str, Any], frames_in: int, frames_out: int) -> tuple[NowcastModel, NowcastLoss]:
    """What a training job builds from a model entry: the model and its loss (used to check the config)."""
    meta = nowcast_meta(spec, frames_in, frames_out)
    return build_model(MODELS, MODULE, meta["arch"], meta["params"]), NowcastLoss(**meta["loss"])


def load_nowcast_model(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> NowcastModel:
    """Load a nowcast ``model.pt`` (``weights_only=True``); other modules' files are refused."""
    return load_model(path, MODELS, MODULE, device)


def train_nowcast_model(
    train_cache: str | os.PathLike[str],
    val_cache: str | os.PathLike[str],
    spec: Mapping[str, Any],
    train: Mapping[str, Any],
    model_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Fit the model ``spec`` (``{"arch", "params", "loss"}``) and write ``model_path`` (best epoch).

    The run directory is ``run/`` beside ``model_path``; a restarted job of the same fingerprint
    resumes from it. Returns the training summary.
    """
    train_set, val_set = NowcastDataset(train_cache), NowcastDataset(val_cache)
    meta = nowcast_meta(spec, train_set.frames_in, train_set.frames_out)
    criterion = NowcastLoss(**meta["loss"])

    def loss_step(model: NowcastModel, batch: dict, device: torch.device) -> tuple[torch.Tensor, dict]:
        batch = to_device(batch, device)
        forecast = model.forecast(batch["x"], batch["present"])
        total, parts = criterion(forecast.vil, batch["y"], forecast.physics)
        return total, {name: value for name, value in parts.items() if name != "total"}

    def val_step(model: NowcastModel, batch: dict, device: torch.device) -> dict[str, torch.Tensor]:
        total, parts = loss_step(model, batch, device)
        return {"loss": total.detach(), "mse": parts["mse"], "extreme": parts["extreme"]}

    return train_job(
        registry=MODELS,
        meta=meta,
        train=train,
        train_set=train_set,
        val_set=val_set,
        loss_step=loss_step,
        val_step=val_step,
        inputs={"train": train_cache, "val": val_cache},
        model_path=model_path,
    )
