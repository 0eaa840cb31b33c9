"""Nowcast models: the Storm-Graph Transformer (one module per part) and the UNet / ConvLSTM baselines.

Every model maps ``x (B, T_in, 4, H, W)``, ``present (B, 4)`` to future VIL ``(B, T_out, H, W)`` in
code/255; :func:`build_model` turns a config block into a model.
"""

from atmo.nowcast.models.base import Forecast, NowcastModel, PhysicsTerms
from atmo.nowcast.models.convlstm import ConvLSTM
from atmo.nowcast.models.registry import MODELS, build_model
from atmo.nowcast.models.sgt import StormGraphTransformer
from atmo.nowcast.models.unet import UNet2D

__all__ = [
    "MODELS",
    "ConvLSTM",
    "Forecast",
    "NowcastModel",
    "PhysicsTerms",
    "StormGraphTransformer",
    "UNet2D",
    "build_model",
]
