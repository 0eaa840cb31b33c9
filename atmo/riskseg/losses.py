"""The riskseg loss: focal loss with per-class weights plus a weighted CORAL ordinal loss.

For a pixel with true class ``y``, class probabilities ``p = softmax(logits)`` and CORAL boundary
logits ``g_k`` (``k = 0, 1``: "class > k"), over the valid pixels ``V`` (label != 255):

* focal (Lin et al. 2017, with class weights ``alpha``)::

      L_focal = sum_V alpha_y (1 - p_y)^gamma (-log p_y) / sum_V alpha_y

  normalising by the summed weights keeps the loss scale independent of the class mix of a batch;
* CORAL (Cao et al. 2020), binary cross-entropy of each boundary against ``[y > k]``::

      L_coral = mean_V sum_k BCE(sigmoid(g_k), [y > k])

* total ``L = L_focal + coral_weight * L_coral`` (the write-up: gamma 2.5, alpha [0.4, 2.5, 2.0],
  coral_weight 0.3; ``coral_weight: 0`` is the "no ordinal loss" ablation).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from atmo.riskseg import LABEL_NODATA
from atmo.settings import settings_block


class LossSettings(settings_block("riskseg", "variants.*.loss")):
    """A variant's ``loss`` block: CORAL weight, focal exponent, one focal weight per class."""


def focal_loss(logits: torch.Tensor, label: torch.Tensor, gamma: float, weights: Sequence[float]) -> torch.Tensor:
    """Class-weighted focal loss of ``logits (B, 3, h, w)`` against ``label (B, h, w)`` (see module docstring)."""
    valid = label != LABEL_NODATA
    target = torch.where(valid, label, torch.zeros_like(label)).long()
    log_p = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    alpha = torch.as_tensor(weights, dtype=logits.dtype, device=logits.device)[target] * valid
    per_pixel = alpha * (1 - log_p.exp()).pow(gamma) * (-log_p)
    return per_pixel.sum() / alpha.sum().clamp_min(torch.finfo(logits.dtype).eps)


def coral_loss(ordinal_logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """CORAL loss of boundary logits ``(B, K-1, h, w)`` against ``label (B, h, w)`` (module docstring)."""
    valid = label != LABEL_NODATA
    boundaries = torch.arange(ordinal_logits.shape[1], device=label.device).view(1, -1, 1, 1)
    target = (label.long().unsqueeze(1) > boundaries).to(ordinal_logits.dtype)
    per_pixel = F.binary_cross_entropy_with_logits(ordinal_logits, target, reduction="none").sum(dim=1)
    return (per_pixel * valid).sum() / valid.sum().clamp_min(1)


class RisksegLoss:
    """``(logits, ordinal_logits, label) -> (total, {"focal", "coral"})`` with the settings of one variant."""

    def __init__(self, settings: LossSettings) -> None:
        self.settings = settings

    def __call__(
        self, logits: torch.Tensor, ordinal_logits: torch.Tensor, label: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        focal = focal_loss(logits, label, self.settings.focal_gamma, self.settings.class_weights)
        coral = coral_loss(ordinal_logits, label)
        total = focal + self.settings.coral_weight * coral
        return total, {"focal": focal.detach(), "coral": coral.detach()}
