"""What every nowcast model shares: the forecast it returns and the checks on its inputs.

The batch contract (see the nowcast cache) is ``x (B, T_in, 4, H, W)`` with channels
``[vil, ir069, ir107, lght]`` normalised, ``present (B, 4)`` bool, and the VIL channel in the code/255
scale. Every model returns future VIL ``(B, T_out, H, W)`` in the same code/255 scale from ``forward``;
``forecast`` additionally carries the physical diagnostics a physics-informed loss needs, so the
training step can use one call for every model. ``motion (B, 2, H, W)`` is the cache's optical-flow
motion of the last input frames (pixels per frame, channels ``(x, y)``); the SGT advects along it as a
physical prior, the other models do not use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import nn

MODALITIES = ("vil", "ir069", "ir107", "lght")
N_MODALITIES = len(MODALITIES)
VIL_CHANNEL = MODALITIES.index("vil")


@dataclass
class PhysicsTerms:
    """Diagnostics of an advection forecast, penalised by the physics part of the loss.

    Attributes:
        motion_px: ``(B, T_out, 2, H, W)`` displacement per output step in pixels, channels ``(x, y)``
            (columns, rows), the same order as ``grid_sample`` and pysteps' ``(u, v)``.
        advection_residual: ``(B, T_out, H, W)`` residual of the advection equation on the forecast,
            ``I_k - warp(I_{k-1}, motion)`` with ``I_0`` the last observed frame (code/255 per step):
            the Lagrangian change ``dI/dt + u . grad I`` discretised semi-Lagrangian, i.e. the growth,
            decay and new echo the forecast needs beyond moving the field it already has.
    """

    motion_px: torch.Tensor
    advection_residual: torch.Tensor


@dataclass
class Forecast:
    """A model's output: ``vil (B, T_out, H, W)`` code/255, plus physics terms for advection models."""

    vil: torch.Tensor
    physics: PhysicsTerms | None = None


class NowcastModel(nn.Module, ABC):
    """Base class: subclasses implement :meth:`forecast`; :meth:`forward` returns only the VIL."""

    frames_in: int
    frames_out: int

    @abstractmethod
    def forecast(self, x: torch.Tensor, present: torch.Tensor, motion: torch.Tensor | None = None) -> Forecast:
        """Predict future VIL from ``x (B, T_in, 4, H, W)``, ``present (B, 4)`` and ``motion (B, 2, H, W)``."""

    def forward(self, x: torch.Tensor, present: torch.Tensor, motion: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T_in, 4, H, W), (B, 4), (B, 2, H, W) -> (B, T_out, H, W)`` future VIL in code/255."""
        return self.forecast(x, present, motion).vil


def check_inputs(
    x: torch.Tensor, present: torch.Tensor, frames_in: int, divisor: int, motion: torch.Tensor | None = None
) -> None:
    """Raise ``ValueError`` naming the mismatch when a batch does not fit the model.

    A wrong frame count or a grid the encoder cannot downsample would otherwise fail deep inside a
    convolution with a message about channels; this says which contract was broken.
    """
    if x.ndim != 5 or x.shape[1] != frames_in or x.shape[2] != N_MODALITIES:
        raise ValueError(f"x must be (B, {frames_in}, {N_MODALITIES}, H, W), got {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height % divisor or width % divisor:
        raise ValueError(f"grid {height}x{width} is not divisible by the model's downsampling factor {divisor}")
    if present.shape != (x.shape[0], N_MODALITIES) or present.dtype != torch.bool:
        raise ValueError(f"present must be bool (B, {N_MODALITIES}), got {present.dtype} {tuple(present.shape)}")
    if motion is not None and motion.shape != (x.shape[0], 2, height, width):
        raise ValueError(f"motion must be (B, 2, H, W) = {(x.shape[0], 2, height, width)}, got {tuple(motion.shape)}")


def log2_int(value: int, name: str) -> int:
    """``log2(value)`` for a power of two >= 2; ``ValueError`` naming ``name`` otherwise."""
    if value < 2 or value & (value - 1):
        raise ValueError(f"{name} must be a power of two >= 2, got {value}")
    return value.bit_length() - 1


def persistence_plus(x: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
    """The last observed VIL frame of ``x`` plus a predicted ``change (B, T_out, H, W)``, within 0..1."""
    return (x[:, -1:, VIL_CHANNEL] + change).clamp(0.0, 1.0)
