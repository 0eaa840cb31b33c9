"""Train one nowcast model (or ablation) from the cache files with the shared training core.

A model is described by one entry of ``nowcast.models`` in the config: the architecture name, its
constructor keywords and its loss weights. The frame counts are not configured per model: they come
from the cache, so a model can never be trained on a different input/output length than it is
scored on. Early stopping and the best checkpoint use the validation MSE, not the training loss,
because the loss differs between ablations (no physics term, no extreme weighting) while the MSE
means the same thing for all of them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from atmo.errors import InputError
from atmo.nowcast.dataset import NowcastDataset
from atmo.nowcast.losses import NowcastLoss
from atmo.nowcast.models import NowcastModel, build_model
from atmo.train import (
    TrainConfig,
    Trainer,
    load_checkpoint,
    make_loader,
    save_checkpoint,
    seed_everything,
    to_device,
)

log = logging.getLogger(__name__)


def model_arguments(spec: Mapping[str, Any], frames_in: int, frames_out: int) -> dict[str, Any]:
    """Constructor keywords of a model entry, with the frame counts taken from the cache."""
    return {**spec.get("params", {}), "frames_in": frames_in, "frames_out": frames_out}


def build_from_meta(meta: Mapping[str, Any]) -> NowcastModel:
    """Rebuild a trained model's architecture from the ``meta`` stored in its checkpoint."""
    return build_model(meta["arch"], **meta["params"])


def load_trained_model(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> NowcastModel:
    """Load ``model.pt`` written by :func:`train_nowcast_model` (``weights_only=True``).

    A checkpoint without the architecture ``meta`` (e.g. one of another module) raises :class:`InputError`.
    """
    checkpoint = load_checkpoint(path)
    meta = checkpoint.get("meta")
    if not isinstance(meta, dict) or not {"arch", "params"} <= meta.keys():
        raise InputError(path, "not a nowcast model checkpoint: no 'meta' with the architecture and its parameters")
    model = build_from_meta(meta)
    model.load_state_dict(checkpoint["model"])
    return model.to(device).eval()


def train_nowcast_model(
    train_cache: str | os.PathLike[str],
    val_cache: str | os.PathLike[str],
    spec: Mapping[str, Any],
    train: Mapping[str, Any],
    out_dir: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Fit the model ``spec`` (``{"arch", "params", "loss"}``) and write ``model_path`` (best epoch).

    Checkpoints, ``history.csv`` and ``metrics.json`` go to ``out_dir``; a restarted job resumes
    from ``out_dir/last.pt``. Returns the training summary.
    """
    config = TrainConfig.from_dict(train, where="nowcast.train")
    train_set, val_set = NowcastDataset(train_cache), NowcastDataset(val_cache)
    seed_everything(config.seed, config.deterministic)
    meta = {
        "arch": spec["arch"],
        "params": model_arguments(spec, train_set.frames_in, train_set.frames_out),
        "loss": dict(spec.get("loss", {})),
    }
    model = build_from_meta(meta)
    criterion = NowcastLoss(**meta["loss"])
    log.info("training %s (%d parameters) on %d samples", spec["arch"], count_parameters(model), len(train_set))

    def loss_step(model: NowcastModel, batch: dict, device: torch.device) -> tuple[torch.Tensor, dict]:
        batch = to_device(batch, device)
        forecast = model.forecast(batch["x"], batch["present"])
        total, parts = criterion(forecast.vil, batch["y"], forecast.physics)
        return total, {name: value for name, value in parts.items() if name != "total"}

    def val_step(model: NowcastModel, batch: dict, device: torch.device) -> dict[str, float]:
        total, parts = loss_step(model, batch, device)
        return {"loss": float(total), "mse": parts["mse"], "extreme": parts["extreme"]}

    trainer = Trainer(model, config, out_dir, loss_step=loss_step, val_step=val_step, meta=meta)
    summary = trainer.fit(make_loader(train_set, config, shuffle=True), make_loader(val_set, config, shuffle=False))
    best = Path(out_dir) / "best.pt"
    checkpoint = load_checkpoint(best if best.exists() else Path(out_dir) / "last.pt", model)
    summary["n_parameters"] = count_parameters(model)
    save_checkpoint(model_path, model, checkpoint["config"], epoch=checkpoint["epoch"], metrics=summary, meta=meta)
    return summary


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
