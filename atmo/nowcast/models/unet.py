"""UNet baseline: all input frames of all modalities stacked as channels, as in the SEVIR benchmark's UNet.

It predicts a change on top of a reference forecast rather than the future frames themselves, with a
zero-initialised head, so the untrained network is that reference: a CPU run trains it for a few
hundred steps, far too few for a network that must first learn to reproduce its input. The reference
(``residual_on``) is persistence (the last observed frame, the benchmark's UNet) or the optical-flow
forecast: the last frame moved ``k`` steps along the cache's motion prior, the same extrapolation the
SGT's decoder starts from. The second is the control that asks whether the SGT's machinery adds
anything over a plain convolutional correction of optical flow.
"""

from __future__ import annotations

import torch
from torch import nn

from atmo.nowcast.models.advection import semi_lagrangian_warp
from atmo.nowcast.models.base import N_MODALITIES, VIL_CHANNEL, Forecast, NowcastModel, check_inputs

RESIDUAL_REFERENCES = ("persistence", "motion_prior")


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 conv + GroupNorm + ReLU; GroupNorm because nowcast batches are small."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.GroupNorm(min(8, out_channels), out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.GroupNorm(min(8, out_channels), out_channels),
        nn.ReLU(inplace=True),
    )


class UNet2D(NowcastModel):
    """``(B, T_in, 4, H, W), (B, 4) -> (B, T_out, H, W)``; ``H``, ``W`` divisible by ``2**depth``.

    Input channels are the ``T_in * 4`` frames plus the 4 ``present`` flags as constant planes, so the
    network can tell a missing modality (zeros) from a real zero signal.

    Args:
        frames_in, frames_out: sequence lengths.
        base_channels: channels at full resolution, doubled at every level.
        depth: number of 2x downsamplings.
        residual_on: ``persistence`` or ``motion_prior`` (the optical-flow forecast along the cache's
            motion, also fed to the network as ``frames_out`` extra channels so it sees what it corrects).

    ``base_channels`` must be below 8 or a multiple of 8: GroupNorm splits every width into
    ``min(8, width)`` groups, and the check names the key instead of failing inside GroupNorm.
    """

    def __init__(
        self,
        frames_in: int = 12,
        frames_out: int = 6,
        base_channels: int = 16,
        depth: int = 3,
        residual_on: str = "persistence",
    ) -> None:
        if residual_on not in RESIDUAL_REFERENCES:
            raise ValueError(f"residual_on: expected one of {list(RESIDUAL_REFERENCES)}, got {residual_on!r}")
        if base_channels < 1 or (base_channels > 8 and base_channels % 8):
            raise ValueError(f"base_channels: must be 1..8 or a multiple of 8 (GroupNorm groups), got {base_channels}")
        super().__init__()
        self.frames_in, self.frames_out = frames_in, frames_out
        self.depth = depth
        self.residual_on = residual_on
        reference_channels = frames_out if residual_on == "motion_prior" else 0
        widths = [base_channels * 2**level for level in range(depth + 1)]
        in_channels = [frames_in * N_MODALITIES + N_MODALITIES + reference_channels, *widths[:-1]]
        self.down = nn.ModuleList(conv_block(c_in, c_out) for c_in, c_out in zip(in_channels, widths, strict=True))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth))
        self.merge = nn.ModuleList(conv_block(2 * widths[i], widths[i]) for i in range(depth))
        self.head = nn.Conv2d(base_channels, frames_out, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forecast(self, x: torch.Tensor, present: torch.Tensor, motion: torch.Tensor | None = None) -> Forecast:
        check_inputs(x, present, self.frames_in, 2**self.depth, motion)
        batch, _, _, height, width = x.shape
        flags = present.to(x.dtype)[:, :, None, None].expand(batch, N_MODALITIES, height, width)
        last = x[:, -1:, VIL_CHANNEL]
        if self.residual_on == "motion_prior":
            if motion is None:
                raise ValueError(
                    "this UNet corrects the optical-flow forecast (residual_on: motion_prior): pass the motion"
                )
            reference = torch.cat([semi_lagrangian_warp(last, k * motion) for k in range(1, self.frames_out + 1)], 1)
            h = torch.cat([x.flatten(1, 2), flags, reference], dim=1)
        else:
            reference = last
            h = torch.cat([x.flatten(1, 2), flags], dim=1)
        skips = []
        for level, block in enumerate(self.down):
            h = block(h if level == 0 else self.pool(h))
            skips.append(h)
        for level in reversed(range(self.depth)):
            h = self.merge[level](torch.cat([self.up[level](h), skips[level]], dim=1))
        return Forecast(vil=(reference + self.head(h)).clamp(0.0, 1.0))
