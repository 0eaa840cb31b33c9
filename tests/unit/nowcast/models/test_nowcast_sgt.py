"""The full Storm-Graph Transformer: shapes, cells, missing modalities, gradients, ablations, learning."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from atmo.nowcast.losses import NowcastLoss
from atmo.nowcast.models import StormGraphTransformer, graph

# Without the motion prior, so these tests need no motion field (test_nowcast_motion_prior.py has it).
TINY: dict[str, Any] = {
    "hidden_dim": 16,
    "stem_channels": 8,
    "max_cells": 8,
    "gnn_heads": 2,
    "transformer_heads": 2,
    "motion_prior": False,
}


def _parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("frames_in", "frames_out", "size", "stride", "patch"),
    [(12, 6, 64, 4, 2), (13, 12, 32, 4, 1), (12, 6, 48, 4, 2), (5, 3, 96, 8, 1)],
)
def test_output_shape(frames_in: int, frames_out: int, size: int, stride: int, patch: int) -> None:
    model = StormGraphTransformer(frames_in, frames_out, stride=stride, patch_size=patch, **TINY)
    x = torch.rand(2, frames_in, 4, size, size)
    out = model(x, torch.ones(2, 4, dtype=torch.bool))
    assert out.shape == (2, frames_out, size, size)
    assert torch.isfinite(out).all()


def test_rejects_inputs_that_do_not_fit() -> None:
    model = StormGraphTransformer(4, 2, **TINY)
    present = torch.ones(1, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="x must be"):
        model(torch.rand(1, 5, 4, 32, 32), present)
    with pytest.raises(ValueError, match="not divisible"):
        model(torch.rand(1, 4, 4, 36, 36), present)
    with pytest.raises(ValueError, match="present must be"):
        model(torch.rand(1, 4, 4, 32, 32), present.float())


def test_batch_with_zero_one_and_many_cells(storm_batch) -> None:
    x, _, present = storm_batch([0, 1, 5])
    model = StormGraphTransformer(4, 2, **TINY)
    cells = model.detector(x[:, -1, 0], model.encoder(x, present)[:, -1])
    assert cells.valid.sum(dim=1).tolist() == [0, 1, 5]
    forecast = model.forecast(x, present)
    assert forecast.vil.shape == (3, 2, 32, 32) and torch.isfinite(forecast.vil).all()


def test_missing_modalities_change_the_output_without_nan(storm_batch) -> None:
    x, _, present = storm_batch([2, 2])
    model = StormGraphTransformer(4, 2, **TINY).eval()
    missing = present.clone()
    missing[0, 1:3] = False
    missing[1] = torch.tensor([True, False, False, False])
    x_missing = x.clone()
    x_missing[~missing[:, None, :].expand(-1, x.shape[1], -1)] = 0.0
    with torch.no_grad():
        full, partial = model(x, present), model(x_missing, missing)
    assert torch.isfinite(partial).all()
    assert not torch.allclose(full[0], partial[0]) and not torch.allclose(full[1], partial[1])


def _assert_every_parameter_gets_gradient(model: torch.nn.Module, x, y, present) -> None:
    forecast = model.forecast(x, present)
    total, _ = NowcastLoss()(forecast.vil, y, forecast.physics)
    total.backward()
    silent = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not silent, f"no gradient reaches {silent}"


@pytest.mark.parametrize(("use_gnn", "use_transformer"), [(True, True), (False, True), (True, False)])
def test_gradient_reaches_every_parameter(storm_batch, use_gnn: bool, use_transformer: bool) -> None:
    x, y, present = storm_batch([1, 4])
    present[1, 3] = False  # so the missing embedding is used
    x[1, :, 3] = 0.0
    model = StormGraphTransformer(4, 2, use_gnn=use_gnn, use_transformer=use_transformer, **TINY)
    _assert_every_parameter_gets_gradient(model, x, y, present)


def test_ablation_switches_remove_their_components() -> None:
    full = StormGraphTransformer(4, 2, **TINY)
    no_gnn = StormGraphTransformer(4, 2, use_gnn=False, **TINY)
    no_transformer = StormGraphTransformer(4, 2, use_transformer=False, **TINY)
    assert no_gnn.detector is None and no_gnn.gnn is None and no_gnn.splat is None
    assert no_transformer.transformer is None
    gnn_params = _parameter_count(full.gnn) + _parameter_count(full.splat)
    assert _parameter_count(full) - _parameter_count(no_gnn) == gnn_params > 0
    assert _parameter_count(full) - _parameter_count(no_transformer) == _parameter_count(full.transformer) > 0
    names = {name.split(".")[0] for name, _ in no_gnn.named_parameters()}
    assert not names & {"gnn", "splat"}


def test_gnn_adds_nothing_without_storm_cells(storm_batch) -> None:
    """With no cell above threshold the graph adds nothing, so the output equals the graph-free path."""
    x, _, present = storm_batch([0, 0])
    model = StormGraphTransformer(4, 2, **TINY).eval()
    with torch.no_grad():
        with_graph = model(x, present)
        gnn, model.gnn = model.gnn, None
        without_graph = model(x, present)
        model.gnn = gnn
    assert torch.allclose(with_graph, without_graph)


def test_gnn_changes_the_forecast_of_storm_cells(storm_batch, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several cells per sample: the same weights without the graph, or with its edges cut, forecast otherwise."""
    x, _, present = storm_batch([3, 5])
    model = StormGraphTransformer(4, 2, **TINY).eval()
    # The head starts near zero (the untrained model is persistence), which would shrink every effect of
    # the context on the forecast a thousandfold; a larger head lets the context drive the forecast.
    torch.nn.init.normal_(model.decoder.head.weight, std=0.1)
    with torch.no_grad():
        cells = model.detector(x[:, -1, 0], model.encoder(x, present)[:, -1])
        assert cells.valid.sum(dim=1).tolist() == [3, 5]
        with_graph = model(x, present)
        gnn, model.gnn = model.gnn, None
        without_graph = model(x, present)
        model.gnn = gnn
        # no edges: each cell attends only to itself, so what changes is the message passing between cells
        monkeypatch.setattr(graph, "knn_graph", lambda pos, k, batch: torch.empty(2, 0, dtype=torch.long))
        without_edges = model(x, present)
    assert torch.isfinite(without_edges).all()
    per_sample = (1, 2, 3)
    graph_effect = (with_graph - without_graph).abs().amax(dim=per_sample)
    edge_effect = (with_graph - without_edges).abs().amax(dim=per_sample)
    assert (graph_effect > 1e-2).all(), graph_effect  # measured 0.03 and 0.06
    assert (edge_effect > 1e-4).all(), edge_effect  # measured 0.0008 and 0.0025


def test_tiny_model_learns_the_storm_motion_of_a_fixed_batch(storm_batch) -> None:
    x, y, present = storm_batch([1, 2, 3, 1])
    model = StormGraphTransformer(4, 2, **TINY)
    loss_fn = NowcastLoss({"physics_weight": 0.01})
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        forecast = model.forecast(x, present)
        total, parts = loss_fn(forecast.vil, y, forecast.physics)
        total.backward()
        optimizer.step()
        losses.append(parts["mse"])
    assert losses[-1] < 0.3 * losses[0], losses
    # it learned the storms' motion, (1, 0.5) px per frame, where the storms are
    motion = forecast.physics.motion_px.detach()
    storm = y > 0.4
    mean_x, mean_y = motion[:, :, 0][storm].mean().item(), motion[:, :, 1][storm].mean().item()
    assert 0.4 < mean_x < 1.5 and 0.15 < mean_y < 0.9, (mean_x, mean_y)
