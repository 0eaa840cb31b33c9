"""ConvLSTM baseline in the encoder-forecaster layout of Shi et al. (2015).

A strided conv stem maps each frame (4 modalities + presence flags) to a coarse grid; a stack of
ConvLSTM layers reads the input sequence; a second stack, started from the encoder's final states and
fed no input, unrolls ``frames_out`` steps; the forecaster's hidden states of all layers are decoded
per step back to the full grid, as the change from the last observed VIL frame (a zero-initialised
last layer makes the untrained network persistence, as for the UNet).
"""

from __future__ import annotations

import torch
from torch import nn

from atmo.nowcast.models.base import N_MODALITIES, Forecast, NowcastModel, check_inputs, log2_int, persistence_plus

State = tuple[torch.Tensor, torch.Tensor]


class ConvLSTMCell(nn.Module):
    """One ConvLSTM cell: gates from a convolution over ``[input, hidden]``; ``input_channels`` may be 0."""

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(input_channels + hidden_channels, 4 * hidden_channels, kernel_size, padding="same")

    def forward(self, inputs: torch.Tensor | None, state: State) -> State:
        hidden, cell = state
        stacked = hidden if inputs is None else torch.cat([inputs, hidden], dim=1)
        i, f, o, g = self.gates(stacked).chunk(4, dim=1)
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(cell), cell


class ConvLSTM(NowcastModel):
    """``(B, T_in, 4, H, W), (B, 4) -> (B, T_out, H, W)``; ``H``, ``W`` divisible by ``stride``.

    Args:
        frames_in, frames_out: sequence lengths.
        hidden_channels: channels of each ConvLSTM layer (encoder and forecaster alike).
        kernel_size: ConvLSTM gate kernel.
        stride: downsampling of the conv stem (power of two); the recurrence runs at ``H / stride``.
    """

    def __init__(
        self,
        frames_in: int = 12,
        frames_out: int = 6,
        hidden_channels: tuple[int, ...] | list[int] = (16, 16),
        kernel_size: int = 3,
        stride: int = 4,
    ) -> None:
        super().__init__()
        self.frames_in, self.frames_out = frames_in, frames_out
        self.stride = stride
        hidden_channels = list(hidden_channels)
        n_down = log2_int(stride, "stride")
        stem: list[nn.Module] = []
        channels = 2 * N_MODALITIES  # the frame's 4 modalities and the 4 presence flags
        for _ in range(n_down):
            stem += [nn.Conv2d(channels, hidden_channels[0], 3, stride=2, padding=1), nn.GELU()]
            channels = hidden_channels[0]
        self.stem = nn.Sequential(*stem)
        inputs = [hidden_channels[0], *hidden_channels[:-1]]
        self.encoder = nn.ModuleList(
            ConvLSTMCell(c_in, c_hid, kernel_size) for c_in, c_hid in zip(inputs, hidden_channels, strict=True)
        )
        self.forecaster = nn.ModuleList(
            ConvLSTMCell(0 if level == 0 else inputs[level], c_hid, kernel_size)
            for level, c_hid in enumerate(hidden_channels)
        )
        head: list[nn.Module] = []
        channels = sum(hidden_channels)
        for _ in range(n_down):
            head += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(channels, hidden_channels[0], 3, padding=1),
                nn.GELU(),
            ]
            channels = hidden_channels[0]
        head.append(nn.Conv2d(channels, 1, 1))
        nn.init.zeros_(head[-1].weight)
        nn.init.zeros_(head[-1].bias)
        self.head = nn.Sequential(*head)

    def forecast(self, x: torch.Tensor, present: torch.Tensor, motion: torch.Tensor | None = None) -> Forecast:
        check_inputs(x, present, self.frames_in, self.stride)
        batch, frames, _, height, width = x.shape
        flags = present.to(x.dtype)[:, None, :, None, None].expand(batch, frames, N_MODALITIES, height, width)
        coarse = self.stem(torch.cat([x, flags], dim=2).flatten(0, 1))
        coarse = coarse.view(batch, frames, *coarse.shape[1:])
        states = [(coarse.new_zeros(batch, cell.hidden_channels, *coarse.shape[-2:]),) * 2 for cell in self.encoder]
        for step in range(frames):
            inputs = coarse[:, step]
            for level, cell in enumerate(self.encoder):
                states[level] = cell(inputs, states[level])
                inputs = states[level][0]
        outputs = []
        for _ in range(self.frames_out):
            inputs = None
            for level, cell in enumerate(self.forecaster):
                states[level] = cell(inputs, states[level])
                inputs = states[level][0]
            outputs.append(torch.cat([state[0] for state in states], dim=1))
        decoded = self.head(torch.stack(outputs, dim=1).flatten(0, 1))
        return Forecast(vil=persistence_plus(x, decoded.view(batch, self.frames_out, height, width)))
