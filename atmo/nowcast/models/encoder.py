"""Part 1 of the Storm-Graph Transformer: per-modality convolutional encoders and their fusion.

Each modality has its own CNN, a small strided one or a ResNet-style one (the statistics of radar
VIL, two IR bands and lightning counts differ too much to share filters), applied to every input
frame. The per-modality features are fused with content-dependent weights that are renormalised
over the modalities actually present, so a missing satellite band neither dilutes the others nor
enters as a block of fake zeros; instead its learned "missing" embedding is added, which tells the
later layers explicitly what is absent.
"""

from __future__ import annotations

import torch
from torch import nn

from atmo.nowcast.models.base import N_MODALITIES, log2_int


class ModalityStem(nn.Module):
    """Strided CNN for one modality: ``(N, 1, H, W) -> (N, hidden_dim, H / stride, W / stride)``."""

    def __init__(self, stem_channels: int, hidden_dim: int, stride: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 1
        for _ in range(log2_int(stride, "stride")):
            layers += [nn.Conv2d(in_channels, stem_channels, 3, stride=2, padding=1), nn.GELU()]
            in_channels = stem_channels
        layers.append(nn.Conv2d(stem_channels, hidden_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames)


class ResidualBlock(nn.Module):
    """ResNet basic block: two 3x3 convolutions with batch norm, the first one strided, plus a shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        reshaped = stride != 1 or in_channels != out_channels
        self.shortcut = (
            nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
            if reshaped
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResidualStem(nn.Module):
    """One modality's ResNet-style encoder (the write-up's per-modality ResNets): ``(N, 1, H, W) -> (N, hidden, h, w)``.

    A 3x3 input convolution to ``stem_channels``, then one stage per factor 2 of ``stride``: each stage
    halves the grid in its first block and doubles the channels, with ``blocks`` residual blocks; a
    1x1 convolution maps the last stage to ``hidden_dim``. Deeper and wider than :class:`ModalityStem`
    for GPU-sized runs; the residual paths keep it trainable at that depth.
    """

    def __init__(self, stem_channels: int, hidden_dim: int, stride: int, blocks: int = 2) -> None:
        super().__init__()
        if blocks < 1:
            raise ValueError(f"encoder_blocks must be >= 1, got {blocks}")
        layers: list[nn.Module] = [
            nn.Conv2d(1, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(inplace=True),
        ]
        channels = stem_channels
        for _ in range(log2_int(stride, "stride")):
            layers.append(ResidualBlock(channels, 2 * channels, stride=2))
            layers += [ResidualBlock(2 * channels, 2 * channels, stride=1) for _ in range(blocks - 1)]
            channels *= 2
        layers.append(nn.Conv2d(channels, hidden_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames)


#: ``encoder`` options of :class:`MultiModalEncoder`: the per-modality stem kinds.
STEMS = ("plain", "residual")


class MultiModalEncoder(nn.Module):
    """Encode and fuse the four modalities frame by frame.

    ``x (B, T, M, H, W)``, ``present (B, M)`` -> fused features ``(B, T, hidden_dim, H/stride, W/stride)``.

    Fusion: ``sum_m w_m f_m + sum_{m absent} e_m`` where ``w`` is a softmax of per-pixel scores over the
    present modalities only (zero for absent ones) and ``e_m`` is modality ``m``'s learned missing
    embedding. Replacing an absent modality's features by ``e_m`` inside the weighted sum would give it
    zero weight and erase the information, hence the separate additive term.
    """

    def __init__(
        self,
        hidden_dim: int,
        stem_channels: int,
        stride: int,
        n_modalities: int = N_MODALITIES,
        stem: str = "plain",
        blocks: int = 2,
    ) -> None:
        """``stem``: ``plain`` (:class:`ModalityStem`) or ``residual`` (:class:`ResidualStem`, ``blocks`` per stage)."""
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"encoder must be one of {list(STEMS)}, got {stem!r}")
        self.stems = nn.ModuleList(
            ModalityStem(stem_channels, hidden_dim, stride)
            if stem == "plain"
            else ResidualStem(stem_channels, hidden_dim, stride, blocks)
            for _ in range(n_modalities)
        )
        self.scores = nn.ModuleList(nn.Conv2d(hidden_dim, 1, 1) for _ in range(n_modalities))
        self.missing = nn.Parameter(0.02 * torch.randn(n_modalities, hidden_dim))

    def forward(self, x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        batch, frames, n_mod, height, width = x.shape
        flat = x.reshape(batch * frames, n_mod, 1, height, width)
        feats = torch.stack([stem(flat[:, m]) for m, stem in enumerate(self.stems)], dim=1)  # (BT, M, C, h, w)
        logits = torch.stack([score(feats[:, m]) for m, score in enumerate(self.scores)], dim=1)  # (BT, M, 1, h, w)

        mask = present.repeat_interleave(frames, dim=0)  # (BT, M)
        mask5 = mask[:, :, None, None, None]
        # A large finite negative keeps the softmax NaN-free when every modality is absent; the explicit
        # renormalisation then yields all-zero weights for that sample instead of a uniform guess.
        weights = torch.softmax(logits.masked_fill(~mask5, -1e4), dim=1) * mask5
        weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-6)
        fused = (weights * feats).sum(dim=1)
        fused = fused + ((~mask).to(fused.dtype) @ self.missing)[:, :, None, None]
        return fused.reshape(batch, frames, *fused.shape[1:])
