"""NowcastLoss: each part against a hand computation, and each weight moves only its part."""

from __future__ import annotations

import math

import pytest
import torch

from atmo.errors import ConfigError
from atmo.metrics.contingency import SEVIR_THRESHOLDS
from atmo.nowcast.losses import CODE_SCALE, NowcastLoss, smoothness_penalty, soft_csi_loss
from atmo.nowcast.models import PhysicsTerms


@pytest.fixture
def case() -> tuple[torch.Tensor, torch.Tensor, PhysicsTerms]:
    target = torch.zeros(1, 2, 4, 4)
    target[0, 0, 0, 0] = 200 / 255  # extreme (>= 181)
    target[0, 1, 1, 1] = 181 / 255  # extreme, exactly at the threshold
    target[0, 1, 2, 2] = 180 / 255  # not extreme
    pred = target + 0.1
    motion = torch.zeros(1, 2, 2, 4, 4)
    motion[0, 0, 0, :, 2:] = 1.0  # one jump of 1 px/step along the columns, on all 4 rows
    residual = torch.zeros(1, 2, 4, 4)
    residual[0, 0, 0, 0], residual[0, 1, 3, 3] = 0.4, -0.8  # one growing and one decaying pixel
    physics = PhysicsTerms(motion_px=motion, advection_residual=residual)
    return pred, target, physics


def test_parts_match_hand_computation(case) -> None:
    pred, target, physics = case
    weights = {"mse_weight": 1, "extreme_weight": 2, "physics_weight": 0.5, "smoothness_weight": 3, "csi_weight": 0}
    total, parts = NowcastLoss({**weights, "advection_weight": 1})(pred, target, physics)
    assert math.isclose(parts["mse"], 0.01, rel_tol=1e-5)
    assert math.isclose(parts["extreme"], 2 * 0.01 / 32, rel_tol=1e-5)
    assert math.isclose(parts["advection"], (0.4 + 0.8) / 32, rel_tol=1e-5)  # L1: signs do not cancel
    # column differences: 4 of the 2*2*4*3 = 48 differences equal 1; row differences all 0
    assert math.isclose(parts["smoothness"], 4 / 48, rel_tol=1e-5)
    physics_part = parts["advection"] + 3 * parts["smoothness"]
    expected_total = parts["mse"] + 2 * parts["extreme"] + 0.5 * physics_part
    assert math.isclose(parts["physics"], physics_part, rel_tol=1e-6)
    assert math.isclose(total.item(), expected_total, rel_tol=1e-6) and parts["total"] == total.item()
    weighted = {name: parts[f"weighted_{name}"].item() for name in ("mse", "extreme", "physics")}
    expected = {
        "mse": parts["mse"].item(),
        "extreme": 2 * parts["extreme"].item(),
        "physics": 0.5 * physics_part.item(),
    }
    assert weighted == pytest.approx(expected)
    assert sum(weighted.values()) == pytest.approx(total.item(), rel=1e-6)


@pytest.mark.parametrize(
    ("weight", "part"),
    [("mse_weight", "mse"), ("extreme_weight", "extreme"), ("physics_weight", "physics"), ("csi_weight", "soft_csi")],
)
def test_each_weight_scales_its_part_only(case, weight: str, part: str) -> None:
    pred, target, physics = case
    low_total, low = NowcastLoss({weight: 1.0})(pred, target, physics)
    high_total, high = NowcastLoss({weight: 3.0})(pred, target, physics)
    unweighted = [k for k in low if k != "total" and not k.startswith("weighted_")]
    assert {k: low[k] for k in unweighted} == {k: high[k] for k in unweighted}
    assert math.isclose(high_total.item() - low_total.item(), 2.0 * low[part], rel_tol=1e-5)


def test_zero_weights_are_the_loss_ablations(case) -> None:
    pred, target, physics = case
    total, parts = NowcastLoss({"physics_weight": 0.0, "extreme_weight": 0.0, "csi_weight": 0.0})(pred, target, physics)
    assert math.isclose(total.item(), parts["mse"], rel_tol=1e-6)
    assert parts["physics"] > 0 and parts["extreme"] > 0  # still reported for comparison


def test_without_physics_terms_only_data_parts() -> None:
    pred, target = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    _, parts = NowcastLoss()(pred, target)
    data_parts = {"mse", "extreme", "soft_csi"}
    assert set(parts) == data_parts | {f"weighted_{name}" for name in data_parts} | {"total"}


def test_physics_gradient_smooths_motion() -> None:
    motion = torch.randn(1, 1, 2, 8, 8, requires_grad=True)
    smoothness_penalty(motion).backward()
    smoother = motion.detach() - 0.1 * motion.grad
    assert smoothness_penalty(smoother) < smoothness_penalty(motion.detach())


def test_rejects_negative_weights_and_shape_mismatch() -> None:
    with pytest.raises(ConfigError, match=r"'nowcast\.models\.sgt\.loss\.physics_weight'"):
        NowcastLoss({"physics_weight": -1.0}, "nowcast.models.sgt.loss")
    with pytest.raises(ValueError, match="differ in shape"):
        NowcastLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))


def test_soft_csi_is_one_minus_the_csi_of_a_sharp_forecast() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :2] = 0.5  # 4 observed pixels
    pred = torch.zeros(1, 1, 4, 4)
    pred[..., :2, :3] = 0.9  # 6 forecast pixels: 4 hits, 2 false alarms
    loss = soft_csi_loss(pred, target, torch.tensor([0.3]), temperature=1e-3)
    assert loss.item() == pytest.approx(1 - 4 / 6, abs=1e-4)
    assert soft_csi_loss(target, target, torch.tensor([0.3, 0.45]), temperature=1e-3).item() == pytest.approx(
        0, abs=1e-4
    )


def test_soft_csi_gradient_grows_an_echo_that_fades_below_the_threshold() -> None:
    target = torch.full((1, 1, 4, 4), 0.5)
    pred = torch.full((1, 1, 4, 4), 0.28, requires_grad=True)  # just below the threshold 0.3
    soft_csi_loss(pred, target, torch.tensor([0.3]), temperature=4 / 255).backward()
    assert (pred.grad < 0).all()  # descending the loss raises the forecast


def test_csi_weight_adds_the_soft_csi_part(case) -> None:
    pred, target, physics = case
    _, without = NowcastLoss({"csi_weight": 0})(pred, target, physics)
    total, parts = NowcastLoss({"csi_weight": 0.5})(pred, target, physics)
    assert "soft_csi" not in without and 0 < parts["soft_csi"] <= 1
    assert total.item() == pytest.approx(without["total"].item() + 0.5 * parts["soft_csi"].item(), rel=1e-6)


def test_per_lead_soft_csi_weighs_a_lead_with_few_hits_as_much_as_one_with_many() -> None:
    target = torch.zeros(1, 2, 4, 4)
    target[0, 0] = 0.5  # lead 1: 16 observed pixels, all forecast
    target[0, 1, 0, 0] = 0.5  # lead 2: one observed pixel, missed
    pred = torch.zeros(1, 2, 4, 4)
    pred[0, 0] = 0.9
    thresholds = torch.tensor([0.3])
    assert soft_csi_loss(pred, target, thresholds, 1e-3).item() == pytest.approx(1 - 16 / 17, abs=1e-4)
    assert soft_csi_loss(pred, target, thresholds, 1e-3, per_lead=True).item() == pytest.approx(0.5, abs=1e-4)


def test_the_default_soft_csi_thresholds_are_the_benchmarks() -> None:
    thresholds = NowcastLoss().csi_thresholds * CODE_SCALE
    assert thresholds.round().tolist() == list(SEVIR_THRESHOLDS)
