"""UNet and ConvLSTM baselines: shapes, missing modalities, gradients, learning, persistence at the start."""

from __future__ import annotations

import pytest
import torch

from atmo.nowcast.models import ConvLSTM, NowcastModel, UNet2D

SMALL = {"unet": {"base_channels": 8, "depth": 2}, "convlstm": {"hidden_channels": [8, 8], "stride": 4}}
CLASSES = {"unet": UNet2D, "convlstm": ConvLSTM}


def _model(name: str, frames_in: int, frames_out: int) -> NowcastModel:
    return CLASSES[name](frames_in=frames_in, frames_out=frames_out, **SMALL[name])


@pytest.mark.parametrize("name", ["unet", "convlstm"])
@pytest.mark.parametrize(("frames_in", "frames_out", "size"), [(12, 6, 64), (13, 12, 32), (4, 2, 48)])
def test_output_shape(name: str, frames_in: int, frames_out: int, size: int) -> None:
    out = _model(name, frames_in, frames_out)(torch.rand(2, frames_in, 4, size, size), torch.ones(2, 4, dtype=bool))
    assert out.shape == (2, frames_out, size, size)


@pytest.mark.parametrize("name", ["unet", "convlstm"])
def test_missing_modality_changes_output_without_nan(name: str) -> None:
    model = _model(name, 4, 2).eval()
    with torch.no_grad():  # the head starts at zero (persistence); give it weights as training would
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(std=0.1)
    x = torch.rand(1, 4, 4, 32, 32)
    x[:, :, 2] = 0.0
    with torch.no_grad():
        as_data = model(x, torch.ones(1, 4, dtype=torch.bool))
        as_missing = model(x, torch.tensor([[True, True, False, True]]))
    assert torch.isfinite(as_missing).all() and not torch.allclose(as_data, as_missing)


@pytest.mark.parametrize("name", ["unet", "convlstm"])
def test_gradient_reaches_every_parameter_and_loss_drops(name: str, storm_batch) -> None:
    x, y, present = storm_batch([1, 2])
    model = _model(name, 4, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(20):
        optimizer.zero_grad()
        loss = ((model(x, present) - y) ** 2).mean()
        loss.backward()
        if step == 1:  # the zero-initialised head passes no gradient back before its first update
            silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
            assert not silent
        optimizer.step()
        losses.append(loss.item())
    # it starts as persistence, whose error on the moving storms is already small
    assert losses[-1] < 0.9 * losses[0]


@pytest.mark.parametrize("name", ["unet", "convlstm"])
def test_untrained_model_is_persistence(name: str) -> None:
    x = torch.rand(2, 4, 4, 32, 32)
    with torch.no_grad():
        out = _model(name, 4, 3)(x, torch.ones(2, 4, dtype=torch.bool))
    assert torch.equal(out, x[:, -1:, 0].expand(2, 3, 32, 32))


@pytest.mark.parametrize("name", ["unet", "convlstm"])
def test_forecasts_stay_between_zero_and_one(name: str) -> None:
    model = _model(name, 4, 2)
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter, std=1.0)
    with torch.no_grad():
        out = model(torch.rand(2, 4, 4, 32, 32), torch.ones(2, 4, dtype=torch.bool))
    assert out.min() == 0 and out.max() == 1


def test_baselines_report_no_physics() -> None:
    forecast = _model("unet", 4, 2).forecast(torch.rand(1, 4, 4, 32, 32), torch.ones(1, 4, dtype=torch.bool))
    assert forecast.physics is None


def test_unet_on_the_motion_prior_starts_as_the_optical_flow_forecast_and_learns_a_correction() -> None:
    from atmo.nowcast.models.advection import semi_lagrangian_warp

    model = UNet2D(frames_in=4, frames_out=3, base_channels=8, depth=2, residual_on="motion_prior")
    x, present = torch.rand(2, 4, 4, 16, 16), torch.ones(2, 4, dtype=torch.bool)
    motion = torch.zeros(2, 2, 16, 16)
    motion[:, 0] = 1.5
    moved = torch.cat([semi_lagrangian_warp(x[:, -1:, 0], k * motion) for k in (1, 2, 3)], dim=1)
    assert torch.allclose(model(x, present, motion), moved.clamp(0, 1))
    with pytest.raises(ValueError, match="pass the motion"):
        model(x, present)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    target = (moved + 0.1).clamp(0, 1)
    for _ in range(20):
        optimizer.zero_grad()
        loss = ((model(x, present, motion) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    assert loss.item() < ((moved - target) ** 2).mean().item() / 2
    with pytest.raises(ValueError, match="residual_on"):
        UNet2D(residual_on="climatology")
