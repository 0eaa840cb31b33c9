"""The SGT's optical-flow motion prior: the untrained model is the optical-flow baseline, not persistence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from atmo.metrics.contingency import ContingencyAccumulator
from atmo.nowcast.baselines import lk_motion, optical_flow, persistence
from atmo.nowcast.models import StormGraphTransformer

TINY = {"hidden_dim": 16, "stem_channels": 8, "max_cells": 8, "gnn_heads": 2, "transformer_heads": 2}


def _csi_m(forecast: np.ndarray, truth: np.ndarray) -> float:
    counts = ContingencyAccumulator((74, 133), forecast.shape[1])
    counts.update(forecast, truth)
    return counts.csi_m()


def test_untrained_sgt_with_the_prior_forecasts_like_optical_flow(storm_batch) -> None:
    x, y, present = storm_batch([1, 2, 3], frames_in=4, frames_out=3, velocity_px=(1.5, 1.0))
    vil = x[:, :, 0].numpy()
    motion = torch.from_numpy(np.stack([lk_motion(sample) for sample in vil]))
    with torch.no_grad():
        sgt = StormGraphTransformer(4, 3, **TINY).eval()(x, present, motion).numpy()
    flow = optical_flow(vil, 3)
    assert np.abs(sgt - flow).max() < 0.02
    # and it is not persistence: the storms moved 1.5 columns and 1 row per frame
    assert _csi_m(sgt, y.numpy()) > _csi_m(persistence(vil, 3), y.numpy()) + 0.2
    assert abs(_csi_m(sgt, y.numpy()) - _csi_m(flow, y.numpy())) < 0.02


def test_sgt_with_the_prior_refuses_a_batch_without_motion(storm_batch) -> None:
    x, _, present = storm_batch([1])
    model = StormGraphTransformer(4, 2, **TINY)
    with pytest.raises(ValueError, match="motion prior"):
        model(x, present)
    with pytest.raises(ValueError, match="motion must be"):
        model(x, present, torch.zeros(1, 2, 16, 16))


def test_the_prior_off_ignores_the_motion(storm_batch) -> None:
    x, _, present = storm_batch([2])
    model = StormGraphTransformer(4, 2, **TINY, motion_prior=False).eval()
    with torch.no_grad():
        still, moving = model(x, present, torch.zeros(1, 2, 32, 32)), model(x, present, torch.ones(1, 2, 32, 32))
    assert torch.equal(still, moving)
