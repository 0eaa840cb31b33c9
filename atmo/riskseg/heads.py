"""Which head of a riskseg network gives the class probabilities: the softmax classifier or the CORAL head.

:class:`~atmo.riskseg.models.AttentionUnet` trains two heads on the same decoder features. The
classifier's logits, softmaxed, are what the write-up predicts with; under the focal loss with class
weights they are distorted on purpose (the loss rewards spreading mass onto the rare class), so a
perfectly trained net gives P(medium) ≈ 0.25 across every low-high transition. The CORAL head
(Cao et al. 2020) is trained by a plain binary cross-entropy per class boundary, ``g_k`` the logit
of ``P(y > k)``, and decodes into rank-consistent class probabilities::

    P0 = 1 - σ(g0),   P1 = σ(g0) - σ(g1),   P2 = σ(g1)

CORAL shares one projection between the boundaries and differs only in their biases, so
``g0 - g1 = b0 - b1`` is the same at every pixel and ``σ(g0) >= σ(g1)`` whenever the trained biases
are ordered (they are when the data has more pixels above boundary 0 than above boundary 1). Should
they not be, ``σ(g1)`` is capped at ``σ(g0)``: P1 is then 0 instead of negative and the three still
sum to 1.

A variant's ``head`` setting picks one (:data:`HEADS`); a CORAL head needs the CORAL loss to have
been trained (``coral_weight > 0``), which the rules check when the config is parsed.
"""

from __future__ import annotations

import torch
from torch import nn

from atmo.riskseg import CLASSES

HEADS = ("softmax", "coral")


def coral_probabilities(ordinal_logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities ``(B, 3, h, w)`` of CORAL boundary logits ``(B, 2, h, w)`` (module docstring)."""
    if ordinal_logits.shape[1] != len(CLASSES) - 1:
        raise ValueError(f"expected {len(CLASSES) - 1} boundary logits, got shape {tuple(ordinal_logits.shape)}")
    above_0 = torch.sigmoid(ordinal_logits[:, 0])
    above_1 = torch.minimum(torch.sigmoid(ordinal_logits[:, 1]), above_0)
    return torch.stack([1.0 - above_0, above_0 - above_1, above_1], dim=1)


def head_probabilities(model: nn.Module, x: torch.Tensor, head: str) -> torch.Tensor:
    """Class probabilities ``(B, 3, h, w)`` of normalised inputs ``x`` ``(B, C, h, w)`` from ``head``."""
    if head == "softmax":
        return torch.softmax(model(x).float(), dim=1)
    if head == "coral":
        _, ordinal = model(x, with_ordinal=True)
        return coral_probabilities(ordinal.float())
    raise ValueError(f"head {head!r} is not one of {list(HEADS)}")
