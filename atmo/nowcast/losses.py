"""Nowcast training loss: MSE, extra weight on extreme pixels, a soft CSI, and a physics term.

``total = mse_weight * MSE + extreme_weight * extreme + csi_weight * soft_csi + physics_weight *
(advection_weight * advection + smoothness_weight * smoothness)``, where

- ``MSE = mean((pred - y)^2)`` over all pixels;
- ``extreme = mean(1[y >= threshold] * (pred - y)^2)`` over all pixels, so with ``mse_weight = 1`` the
  two together are a pixel-weighted MSE with weight ``1 + extreme_weight`` on extreme truth pixels
  (VIP >= 181 by default, the level where storms turn severe and where MSE-trained models fail);
- ``soft_csi = 1 - mean over the benchmark thresholds of hits / (hits + misses + false alarms)``
  over the batch, with the forecast's exceedance softened to ``sigmoid((pred - t) / temperature)`` so
  it has a gradient; with ``csi_per_lead`` one CSI per threshold and lead, so the long leads, with
  few hits, weigh as much as the first. MSE rewards a forecast that fades where it is unsure of the
  position (the bias of the strong thresholds falls towards 0 at long leads); the scores count an
  echo that is there or not, and this term is that count made differentiable;
- ``advection = mean |dI/dt + u . grad I|`` on the forecast: the residual of the advection equation,
  each lead minus the previous lead moved one step along the model's motion (the first lead against
  the last observation). Extrapolation nowcasting assumes Lagrangian persistence (the residual is 0);
  the penalty lets the model depart from it only where the data pay for it, and as an L1 norm it
  favours a few strong sources (a growing or new cell) over a weak source everywhere (a haze);
- ``smoothness = mean(|d motion / dx|^2 + |d motion / dy|^2)`` in pixels per step per pixel.

The physics terms need a model that returns :class:`PhysicsTerms` (the SGT); for the other models they
are absent from the parts. ``physics_weight = 0`` and ``extreme_weight = 0`` are the two loss ablations.
Every term is also reported weighted (``weighted_<term>``), so the history says what share of the
loss each one is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from atmo.settings import build_block, settings_block

if TYPE_CHECKING:  # the models package imports torch_geometric, which warns on import: not at parse time
    from atmo.nowcast.models.base import PhysicsTerms

CODE_SCALE = 255.0


def extreme_squared_error(pred: torch.Tensor, target: torch.Tensor, threshold: float) -> torch.Tensor:
    """``mean(1[target >= threshold] * (pred - target)^2)`` over all elements (0 when none is extreme)."""
    return ((pred - target) ** 2 * (target >= threshold)).mean()


def soft_csi_loss(
    pred: torch.Tensor, target: torch.Tensor, thresholds: torch.Tensor, temperature: float, per_lead: bool = False
) -> torch.Tensor:
    """``1 - mean CSI`` over thresholds (and leads) of ``(B, T, H, W)``, with soft forecast events.

    A forecast pixel counts as ``sigmoid((pred - t) / temperature)`` of an event. Counts are summed
    over the batch and the pixels of each lead (``per_lead``) or of all leads together. A threshold
    that neither truth nor forecast reaches contributes CSI 0 with no gradient, so the mean is over a
    fixed set and batches stay comparable.
    """
    shape = (-1,) + (1,) * pred.ndim
    forecast = torch.sigmoid((pred[None] - thresholds.view(shape)) / temperature)
    observed = (target[None] >= thresholds.view(shape)).to(pred.dtype)
    dims = (1, *range(3, pred.ndim + 1)) if per_lead else tuple(range(1, pred.ndim + 1))
    hits = (forecast * observed).sum(dim=dims)
    union = forecast.sum(dim=dims) + observed.sum(dim=dims) - hits
    return 1 - (hits / union.clamp_min(1e-6)).mean()


def advection_penalty(residual: torch.Tensor) -> torch.Tensor:
    """Mean absolute advection residual ``(B, T_out, H, W) -> ()`` (code/255 per step)."""
    return residual.abs().mean()


def smoothness_penalty(motion_px: torch.Tensor) -> torch.Tensor:
    """Mean squared finite-difference gradient of ``motion_px (..., H, W)`` along rows plus along columns."""
    d_rows = motion_px[..., 1:, :] - motion_px[..., :-1, :]
    d_cols = motion_px[..., :, 1:] - motion_px[..., :, :-1]
    return (d_rows**2).mean() + (d_cols**2).mean()


class NowcastLossSettings(settings_block("nowcast", "models.*.loss")):
    """A model entry's ``loss`` block: the terms' weights, the extreme threshold and the soft CSI's settings."""


class NowcastLoss(nn.Module):
    """Weighted nowcast loss; ``forward(pred, target, physics=None) -> (total, parts)``.

    ``pred``, ``target`` are ``(B, T_out, H, W)`` in code/255. ``parts`` maps ``mse``, ``extreme`` and,
    when ``physics`` is given, ``advection``, ``smoothness`` and ``physics`` (the weighted sum of the
    two) to detached floats, plus ``total`` and each top-level term times its weight (``weighted_mse``,
    ``weighted_extreme``, ``weighted_soft_csi``, ``weighted_physics``: they add up to ``total``); every
    part is reported even when its weight is 0, so ablations can be compared on the same numbers.

    Args:
        loss: the ``loss`` block (a mapping, missing keys taking the schema's defaults, or the built
            settings); its keys, defaults and ranges are declared once, in the nowcast schema.
        where: the block's config path, named by the error a bad value raises.
    """

    def __init__(
        self, loss: Mapping[str, Any] | NowcastLossSettings | None = None, where: str = NowcastLossSettings.WHERE
    ) -> None:
        super().__init__()
        settings = build_block(NowcastLossSettings, loss, where)
        self.mse_weight, self.extreme_weight = settings.mse_weight, settings.extreme_weight
        self.physics_weight = settings.physics_weight
        self.advection_weight, self.smoothness_weight = settings.advection_weight, settings.smoothness_weight
        self.extreme_threshold = settings.extreme_threshold_code / CODE_SCALE
        self.csi_weight, self.csi_temperature = settings.csi_weight, settings.csi_temperature_code / CODE_SCALE
        self.csi_per_lead = settings.csi_per_lead
        thresholds = torch.tensor(settings.csi_thresholds_code, dtype=torch.float32) / CODE_SCALE
        self.register_buffer("csi_thresholds", thresholds)

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, physics: PhysicsTerms | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if pred.shape != target.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        pred = pred.float()
        target = target.float()
        terms = {
            "mse": ((pred - target) ** 2).mean(),
            "extreme": extreme_squared_error(pred, target, self.extreme_threshold),
        }
        weights = {"mse": self.mse_weight, "extreme": self.extreme_weight}
        if self.csi_weight:
            terms["soft_csi"] = soft_csi_loss(
                pred, target, self.csi_thresholds.to(pred.device), self.csi_temperature, self.csi_per_lead
            )
            weights["soft_csi"] = self.csi_weight
        if physics is not None:
            terms["advection"] = advection_penalty(physics.advection_residual.float())
            terms["smoothness"] = smoothness_penalty(physics.motion_px.float())
            terms["physics"] = self.advection_weight * terms["advection"] + self.smoothness_weight * terms["smoothness"]
            weights["physics"] = self.physics_weight
        weighted = {f"weighted_{name}": weight * terms[name] for name, weight in weights.items()}
        total = sum(weighted.values())
        terms.update(weighted)
        # Detached tensors, not floats: reading a value would wait for the GPU after every batch.
        parts = {name: value.detach() for name, value in terms.items()}
        parts["total"] = total.detach()
        return total, parts
