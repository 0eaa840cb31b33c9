"""Which accelerator a run uses, whether it may use mixed precision, and moving batches onto it.

``device: auto`` lets one config run on a laptop (CPU or Apple MPS) and on the GPU cluster. Mixed
precision is only ever switched on for CUDA: float16 autocast on CPU/MPS is slow or unsupported,
and GradScaler exists for CUDA, so elsewhere ``amp: true`` is silently a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from atmo.errors import InputError

log = logging.getLogger(__name__)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA if visible, else MPS, else CPU; an explicit name must be available.

    Raises :class:`InputError` (naming the config key ``train.device``) for an unknown or unavailable
    device, so a GPU job placed on a GPU-less node fails at once instead of silently crawling on CPU.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
        log.info("device auto -> %s", name)
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
    if name not in available:
        raise InputError("train.device", f"unknown device {name!r}; expected one of auto, cpu, cuda, mps")
    if not available[name]:
        raise InputError("train.device", f"device {name!r} requested but not available on this machine")
    return torch.device(name)


def visible_gpu_count() -> int:
    """Number of CUDA devices this process can see (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def amp_enabled(requested: bool, device: torch.device) -> bool:
    """Mixed precision is used only when requested *and* the device is CUDA."""
    return bool(requested and device.type == "cuda")


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor moved to ``device`` (dicts, lists and tuples are walked)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(value, device) for value in batch))
    if isinstance(batch, Sequence) and not isinstance(batch, str | bytes):
        return type(batch)(to_device(value, device) for value in batch)
    return batch
