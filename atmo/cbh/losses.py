"""CBH losses and the loss steps the shared trainer calls: Huber regression, masked MSE pretraining.

- Regression (the networks): Huber loss on cloud-base height in km, ``mean(h(pred - y))`` with
  ``h(e) = e^2 / 2`` for ``|e| <= delta`` and ``delta * (|e| - delta / 2)`` beyond, so a few labels
  far off (multi-layer cloud, lidar picking a lower layer) pull linearly, not quadratically. The
  write-up used ``delta = 0.5`` km. The logged extra is the mean absolute error ``mae_km``.
- Pretraining (MAE): ``masked_mse = sum_t mask_t * mean_p (pred_tp - target_tp)^2 / sum_t mask_t``,
  the squared error averaged over the masked patches only (``mask = 1``: hidden from the encoder).

Loss steps return tensors (no ``float()``/``item()``): the trainer averages them once per epoch.
Batches are the dicts of :mod:`atmo.cbh.dataset`: ``view`` (B, T, P), ``physical`` (B, F),
``cbh_km`` (B,).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from atmo.settings import build_block, settings_block
from atmo.train.device import to_device

RegressionStep = Callable[[nn.Module, Mapping[str, Any], torch.device], tuple[torch.Tensor, dict[str, torch.Tensor]]]


class CbhLossSettings(settings_block("cbh", "models.*.loss")):
    """A network entry's ``loss`` block: the Huber delta in km."""


class CbhLoss(nn.HuberLoss):
    """Huber loss of ``pred_km (B,)`` against ``cbh_km (B,)``, computed in float32 (see module docstring).

    Args:
        loss: a network entry's ``loss`` block (a mapping, missing keys taking the schema's defaults,
            or the built settings); its key, default and range are declared once, in the cbh schema.
        where: the block's config path, named by the error a bad value raises.
    """

    def __init__(
        self, loss: Mapping[str, Any] | CbhLossSettings | None = None, where: str = CbhLossSettings.WHERE
    ) -> None:
        super().__init__(delta=build_block(CbhLossSettings, loss, where).huber_delta)

    def forward(self, pred_km: torch.Tensor, cbh_km: torch.Tensor) -> torch.Tensor:
        return super().forward(pred_km.float(), cbh_km.float())


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the masked patches only: ``pred``, ``target`` (B, T, P), ``mask`` (B, T) in {0, 1}."""
    per_patch = ((pred.float() - target.float()) ** 2).mean(dim=-1)
    mask = mask.to(per_patch.dtype)
    return (per_patch * mask).sum() / mask.sum().clamp(min=1.0)


def regression_loss_step(criterion: CbhLoss) -> RegressionStep:
    """``loss_step(model, batch, device) -> (loss, {"mae_km": tensor})`` for a network model."""

    def loss_step(model: nn.Module, batch: Mapping[str, Any], device: torch.device):
        batch = to_device(batch, device)
        pred_km = model(batch["view"], batch["physical"], batch.get("prior_km"))
        loss = criterion(pred_km, batch["cbh_km"])
        return loss, {"mae_km": (pred_km.detach().float() - batch["cbh_km"]).abs().mean()}

    return loss_step


def regression_val_step(criterion: CbhLoss) -> Callable[[nn.Module, Mapping[str, Any], torch.device], dict]:
    """``val_step(model, batch, device) -> {"loss", "mae_km"}``, logged as ``val_loss``, ``val_mae_km``."""
    loss_step = regression_loss_step(criterion)

    def val_step(model: nn.Module, batch: Mapping[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
        loss, extras = loss_step(model, batch, device)
        return {"loss": loss.detach(), **extras}

    return val_step


def mae_loss_step(model: nn.Module, batch: Mapping[str, Any], device: torch.device):
    """Pretraining ``loss_step``: ``model(batch["view"]) -> (masked MSE, {"mse_masked": tensor})``."""
    return model(to_device(batch["view"], device))
