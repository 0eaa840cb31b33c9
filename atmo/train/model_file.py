"""``model.pt``: the exported weights of one trained model, and the one way to load them back.

The file is a checkpoint (:mod:`atmo.train.checkpoint`) whose ``meta`` says which module and
architecture it is and holds the constructor arguments, so :func:`load_model` rebuilds the model
from the file alone, with ``weights_only=True``. A file of another module or of an architecture the
registry does not know is refused in one line instead of failing inside ``load_state_dict``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from atmo.errors import InputError
from atmo.train.checkpoint import load_checkpoint, save_checkpoint
from atmo.train.registry import Registry, build_model

META_KEYS = ("module", "arch", "params")


def model_meta(module: str, arch: str, params: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The ``meta`` stored in every checkpoint: ``{"module", "arch", "params", **extra}`` as plain data."""
    return {"module": module, "arch": arch, "params": dict(params), **extra}


def export_model(
    path: str | os.PathLike[str],
    model: nn.Module,
    checkpoint: Mapping[str, Any],
    summary: Mapping[str, Any],
) -> None:
    """Write ``model.pt`` from a run's ``best.pt``/``last.pt`` contents (already loaded into ``model``)."""
    save_checkpoint(
        path, model, checkpoint["config"], epoch=checkpoint["epoch"], metrics=dict(summary), meta=checkpoint["meta"]
    )


@dataclass(frozen=True)
class LoadedModel:
    """A loaded ``model.pt`` or checkpoint: the model (eval mode), its ``meta``, its epoch and file."""

    model: nn.Module
    meta: dict[str, Any]
    epoch: int
    path: str


def load_model(
    path: str | os.PathLike[str], registry: Registry, module: str, device: torch.device | str = "cpu"
) -> nn.Module:
    """Rebuild and load the model in ``path``, in eval mode on ``device`` (see :func:`load_trained`)."""
    return load_trained(path, registry, module, device).model


def load_trained(
    path: str | os.PathLike[str],
    registry: Registry,
    module: str,
    device: torch.device | str = "cpu",
    expect: Mapping[str, Any] | None = None,
) -> LoadedModel:
    """The model in ``path`` (eval mode, on ``device``) with its ``meta`` and epoch, reading the file once.

    Raises :class:`InputError` for a file that is not a ``model.pt`` of ``module``, whose
    architecture is not in ``registry``, or whose ``meta`` differs from ``expect`` in any of its keys
    (say ``{"variant": "v25"}``: a checkpoint of another variant is refused before it is built).
    """
    checkpoint = load_checkpoint(path)
    meta = checkpoint.get("meta")
    if not isinstance(meta, dict) or not set(META_KEYS) <= meta.keys():
        raise InputError(path, f"not an atmo model file: its 'meta' lacks {list(META_KEYS)}")
    if meta["module"] != module:
        raise InputError(path, f"is a {meta['module']} model ({meta['arch']}), not a {module} model")
    for key, wanted in (expect or {}).items():
        if meta.get(key) != wanted:
            raise InputError(path, f"is a checkpoint of {key} {meta.get(key)!r}, not of {wanted!r}")
    if meta["arch"] not in registry:
        known = ", ".join(sorted(registry))
        raise InputError(path, f"architecture {meta['arch']!r} is not a {module} architecture (known: {known})")
    model = build_model(registry, module, meta["arch"], meta["params"])
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as error:
        raise InputError(path, f"weights do not fit {meta['arch']}{meta['params']} ({str(error)[:200]})") from error
    return LoadedModel(model.to(device).eval(), meta, int(checkpoint["epoch"]), os.fspath(path))
