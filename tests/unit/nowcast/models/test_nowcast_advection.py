"""Semi-Lagrangian warp and the advection decoder."""

from __future__ import annotations

from collections.abc import Callable

import torch

from atmo.nowcast.models.advection import AdvectionDecoder, semi_lagrangian_warp


def test_constant_motion_shifts_a_blob_by_the_expected_pixels(blob: Callable[..., torch.Tensor]) -> None:
    field = blob(32, 10.0, 12.0, 2.0, 1.0)[None, None]
    motion = torch.zeros(1, 2, 32, 32)
    motion[:, 0], motion[:, 1] = 3.0, -2.0  # 3 columns right, 2 rows up
    moved = semi_lagrangian_warp(field, motion)
    assert torch.allclose(moved, blob(32, 13.0, 10.0, 2.0, 1.0)[None, None], atol=1e-5)
    row, col = divmod(int(moved.argmax()), 32)
    assert (col, row) == (13, 10)


def test_fractional_motion_moves_the_centroid() -> None:
    field = torch.zeros(1, 1, 16, 16)
    field[0, 0, 8, 8] = 1.0
    motion = torch.zeros(1, 2, 16, 16)
    motion[:, 0] = 0.25
    moved = semi_lagrangian_warp(field, motion)[0, 0]
    cols = torch.arange(16, dtype=torch.float32)
    assert torch.isclose((moved.sum(dim=0) * cols).sum() / moved.sum(), torch.tensor(8.25))


def test_inflow_from_outside_is_zero() -> None:
    moved = semi_lagrangian_warp(torch.ones(1, 1, 8, 8), torch.full((1, 2, 8, 8), 2.0))
    assert moved[0, 0, :, :2].abs().max() < 1e-6 and torch.allclose(moved[0, 0, 2:, 2:], torch.ones(6, 6))


def test_decoder_starts_near_persistence_and_reports_physics() -> None:
    decoder = AdvectionDecoder(hidden_dim=16, frames_out=3, stride=4)
    last = torch.rand(2, 32, 32)
    out = decoder(torch.randn(2, 16, 8, 8), last)
    assert out.vil.shape == (2, 3, 32, 32)
    assert out.physics.motion_px.shape == (2, 3, 2, 32, 32)
    assert out.physics.advection_residual.shape == (2, 3, 32, 32)
    assert (out.vil - last[:, None]).abs().max() < 0.1


def test_advection_residual_is_each_lead_minus_the_previous_one_moved_one_step(blob) -> None:
    decoder = AdvectionDecoder(hidden_dim=8, frames_out=3, stride=2)
    last = blob(16, 6.0, 8.0, 2.0, 0.8)[None]
    prior = torch.zeros(1, 2, 16, 16)
    prior[:, 0] = 1.0
    out = decoder(torch.randn(1, 8, 8, 8), last, prior)
    motion = out.physics.motion_px[:, 0]
    previous = torch.cat([last[:, None], out.vil[:, :-1]], dim=1)
    for lead in range(3):
        moved = semi_lagrangian_warp(previous[:, lead : lead + 1], motion)[:, 0]
        assert torch.allclose(out.physics.advection_residual[:, lead], out.vil[:, lead] - moved, atol=1e-6)
    # the untrained decoder moves the field along its prior and barely changes it: residual ~ 0
    assert out.physics.advection_residual.abs().max() < 0.02


def test_decoder_with_a_motion_prior_starts_as_the_advection_along_it(blob: Callable[..., torch.Tensor]) -> None:
    decoder = AdvectionDecoder(hidden_dim=16, frames_out=3, stride=4)
    last = blob(32, 8.0, 10.0, 2.0, 0.8)[None]
    prior = torch.zeros(1, 2, 32, 32)
    prior[:, 0], prior[:, 1] = 2.0, 1.0
    out = decoder(torch.randn(1, 16, 8, 8), last, prior)
    for lead in range(1, 4):
        expected = semi_lagrangian_warp(last[:, None], lead * prior)[:, 0]
        assert (out.vil[:, lead - 1] - expected).abs().max() < 0.01, lead
    assert torch.allclose(out.physics.motion_px[:, 0], prior, atol=0.01)


def test_decoder_forecasts_stay_between_zero_and_one_whatever_its_weights() -> None:
    decoder = AdvectionDecoder(hidden_dim=8, frames_out=4, stride=2)
    torch.nn.init.normal_(decoder.head.weight, std=5.0)
    out = decoder(torch.randn(3, 8, 8, 8), torch.rand(3, 16, 16))
    assert out.vil.min() >= 0 and out.vil.max() <= 1
    assert out.vil.min() == 0 and out.vil.max() == 1  # the weights are large enough to reach both ends


def test_decoder_paints_no_rain_on_an_empty_scene_unless_it_adds_a_cell() -> None:
    decoder = AdvectionDecoder(hidden_dim=8, frames_out=2, stride=2)
    torch.nn.init.normal_(decoder.head.weight, std=5.0)  # large growth factors and motion
    with torch.no_grad():
        decoder.head.weight[4:] = 0.0  # the two new-echo channels: a constant ...
        decoder.head.bias[4:] = -1.0  # ... below zero, so no new cell
    out = decoder(torch.randn(2, 8, 8, 8), torch.zeros(2, 16, 16))
    assert out.vil.abs().max() == 0  # no floor: the old additive source painted VIL everywhere
    with torch.no_grad():
        decoder.head.bias[4:] = 0.5
    assert decoder(torch.randn(2, 8, 8, 8), torch.zeros(2, 16, 16)).vil.min() > 0.4
