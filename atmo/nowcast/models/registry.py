"""Model names used in the config (``nowcast.models.<name>.arch``) mapped to their classes."""

from __future__ import annotations

from typing import Any

from atmo.nowcast.models.base import NowcastModel
from atmo.nowcast.models.convlstm import ConvLSTM
from atmo.nowcast.models.sgt import StormGraphTransformer
from atmo.nowcast.models.unet import UNet2D
from atmo.train.registry import build_model as build_registered

MODELS: dict[str, type[NowcastModel]] = {
    "sgt": StormGraphTransformer,
    "unet": UNet2D,
    "convlstm": ConvLSTM,
}


def build_model(name: str, **kwargs: Any) -> NowcastModel:
    """Instantiate nowcast model ``name`` with its config block as keyword arguments.

    Unknown names raise ``ValueError`` listing the known ones; unknown keys raise the constructor's
    ``TypeError``, which names the key.
    """
    return build_registered(MODELS, "nowcast", name, kwargs)
