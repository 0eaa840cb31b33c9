"""Part 6 of the Storm-Graph Transformer: decoder with learnable advection.

Precipitation mostly moves and only slowly grows or decays, so the decoder forecasts the way
semi-Lagrangian extrapolation does, with learned fields: from the context features it predicts one
steady motion field and, for every output step, a growth/decay factor and a new-echo term. Lead
``k`` is the last observed frame traced back ``k`` steps along the motion (one ``grid_sample`` per
lead, from the observation, not from the previous forecast: chaining k bilinear resamplings blurs the
field k times and wipes out the intense cores that high-threshold CSI scores), scaled by that lead's
factor, plus its new echo:

``vil_k = min(1, warp(last, k * motion) * 2 sigmoid(g_k) + relu(n_k))``.

The factor lies in (0, 2) and is 1 at initialisation, and the new-echo term is non-negative, so a
forecast is never negative and can only put rain where the advected field has some or where the
network asks for a new cell: an unconstrained additive source painted a faint floor of VIL over the
whole domain and negative values into the storm cores. With a motion prior (the cache's optical-flow
motion) the network predicts the correction to it, so the untrained decoder is the optical-flow
baseline rather than persistence. For the physics loss the decoder reports the residual of the
advection equation on its own forecast: each lead minus the previous lead moved one step along the
motion (:class:`~atmo.nowcast.models.base.PhysicsTerms`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from atmo.nowcast.models.base import Forecast, PhysicsTerms, log2_int

# Near-zero head at initialisation: no motion correction, factor 1, no new echo.
HEAD_INIT_STD = 1e-3


def semi_lagrangian_warp(field: torch.Tensor, motion_px: torch.Tensor) -> torch.Tensor:
    """Advect ``field (B, C, H, W)`` one step: ``out(p) = field(p - motion(p))``, bilinear, zero inflow.

    ``motion_px (B, 2, H, W)`` is the displacement per step in pixels, channels ``(x, y)`` (columns,
    rows); a constant motion ``(dx, dy)`` shifts the field by ``dx`` columns and ``dy`` rows. Values
    entering from outside the domain are 0, as in pysteps' extrapolation.
    """
    _, _, height, width = field.shape
    cols = torch.arange(width, device=field.device, dtype=field.dtype)
    rows = torch.arange(height, device=field.device, dtype=field.dtype)
    src_x = cols[None, None, :] - motion_px[:, 0]
    src_y = rows[None, :, None] - motion_px[:, 1]
    # align_corners=True maps pixel index i to 2 i / (n - 1) - 1 exactly.
    grid = torch.stack([2 * src_x / max(width - 1, 1) - 1, 2 * src_y / max(height - 1, 1) - 1], dim=-1)
    return F.grid_sample(field, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


class AdvectionDecoder(nn.Module):
    """Context ``(B, C, h, w)``, last VIL frame ``(B, H, W)`` and a motion prior -> :class:`Forecast`.

    The context is upsampled by ``stride`` (bilinear + conv per factor of two, halving channels down to
    8), concatenated with the last frame, and a 3x3 convolution predicts at full resolution the motion
    ``(dx, dy)`` per step (added to the prior, when one is given) and a growth factor and a new-echo
    term for each of the ``frames_out`` steps.
    """

    def __init__(self, hidden_dim: int, frames_out: int, stride: int) -> None:
        super().__init__()
        self.frames_out = frames_out
        layers: list[nn.Module] = []
        channels = hidden_dim
        for _ in range(log2_int(stride, "stride")):
            out_channels = max(channels // 2, 8)
            layers += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(channels, out_channels, 3, padding=1),
                nn.GELU(),
            ]
            channels = out_channels
        self.upsample = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels + 1, 2 + 2 * frames_out, 3, padding=1)
        nn.init.normal_(self.head.weight, std=HEAD_INIT_STD)
        nn.init.zeros_(self.head.bias)

    def forward(self, context: torch.Tensor, last_vil: torch.Tensor, prior: torch.Tensor | None = None) -> Forecast:
        batch, height, width = last_vil.shape
        last = last_vil[:, None]
        fields = self.head(torch.cat([self.upsample(context), last], dim=1))
        motion_step = fields[:, :2] if prior is None else prior + fields[:, :2]
        factor = 2 * torch.sigmoid(fields[:, 2 : 2 + self.frames_out])
        new_echo = F.relu(fields[:, 2 + self.frames_out :])
        advected = torch.stack(
            [semi_lagrangian_warp(last, lead * motion_step)[:, 0] for lead in range(1, self.frames_out + 1)], dim=1
        )
        vil = (advected * factor + new_echo).clamp(max=1.0)
        motion_px = motion_step[:, None].expand(batch, self.frames_out, 2, height, width)
        previous = torch.cat([last, vil[:, :-1]], dim=1)
        moved = semi_lagrangian_warp(previous, motion_step)  # every lead's predecessor, one step on
        physics = PhysicsTerms(motion_px=motion_px, advection_residual=vil - moved)
        return Forecast(vil=vil, physics=physics)
