"""Checkpoint files: model weights plus the resolved config and metrics, safe to load.

A checkpoint is a plain dict ``{"model": state_dict, "config": dict, "epoch": int, "metrics": dict,
...}`` holding only tensors and primitive containers, so it loads with
``torch.load(weights_only=True)`` — no arbitrary code runs when a file from elsewhere is opened.
Files are written atomically: a job killed while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from atmo.errors import InputError
from atmo.io.atomic import atomic_path

REQUIRED_KEYS = ("model", "config", "epoch", "metrics")


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    config: Mapping[str, Any],
    *,
    epoch: int,
    metrics: Mapping[str, Any],
    **extra: Any,
) -> Path:
    """Write ``model``'s weights, ``config``, ``epoch``, ``metrics`` and ``extra`` entries to ``path``.

    ``extra`` values must be tensors or primitive containers (e.g. optimizer state dicts).
    """
    payload = {
        "model": model.state_dict(),
        "config": dict(config),
        "epoch": int(epoch),
        "metrics": dict(metrics),
        **extra,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; if ``model`` is given, load the weights into it.

    Raises :class:`InputError` for a missing, truncated or foreign file, and for weights that do
    not fit ``model``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several unrelated types for unreadable files
        raise InputError(path, f"not a readable torch checkpoint ({_describe(error)})") from error
    missing = [key for key in REQUIRED_KEYS if not isinstance(checkpoint, dict) or key not in checkpoint]
    if missing:
        raise InputError(path, f"not an atmo checkpoint: missing key(s) {missing}")
    if model is not None:
        try:
            model.load_state_dict(checkpoint["model"])
        except RuntimeError as error:
            raise InputError(path, f"weights do not fit the model ({_describe(error)})") from error
    return checkpoint


def _describe(error: BaseException) -> str:
    """The informative line of ``error``: for a weights-only refusal, what was refused."""
    text = str(error)
    marker = "WeightsUnpickler error:"
    if marker in text:
        refused = text.split(marker, 1)[1].strip().splitlines()[0]
        return f"weights_only loading refused it: {refused.split(' was not an allowed global')[0][:200]}"
    lines = text.strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"
