"""The focal and CORAL losses against hand computations, and nodata pixels ignored."""

from __future__ import annotations

import math

import pytest
import torch

from atmo.errors import ConfigError
from atmo.riskseg.losses import LossSettings, RisksegLoss, coral_loss, focal_loss


def test_focal_loss_equals_the_weighted_formula_by_hand() -> None:
    logits = torch.tensor([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]]).T.reshape(1, 3, 1, 2)
    label = torch.tensor([[[0, 1]]])
    weights, gamma = (0.4, 2.5, 2.0), 2.0
    p = torch.softmax(logits, dim=1)
    p0, p1 = float(p[0, 0, 0, 0]), float(p[0, 1, 0, 1])
    expected = (0.4 * (1 - p0) ** gamma * -math.log(p0) + 2.5 * (1 - p1) ** gamma * -math.log(p1)) / (0.4 + 2.5)
    assert float(focal_loss(logits, label, gamma, weights)) == pytest.approx(expected, rel=1e-6)


def test_gamma_zero_and_equal_weights_is_cross_entropy() -> None:
    torch.manual_seed(0)
    logits, label = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    expected = torch.nn.functional.cross_entropy(logits, label)
    assert float(focal_loss(logits, label, 0.0, (1.0, 1.0, 1.0))) == pytest.approx(float(expected), rel=1e-6)


def test_coral_loss_is_the_boundary_cross_entropy_by_hand() -> None:
    ordinal = torch.tensor([0.5, -1.0]).reshape(1, 2, 1, 1)
    label = torch.tensor([[[1]]])  # class 1: above boundary 0, not above boundary 1
    s = torch.sigmoid(torch.tensor([0.5, -1.0]))
    expected = -math.log(float(s[0])) - math.log(1 - float(s[1]))
    assert float(coral_loss(ordinal, label)) == pytest.approx(expected, rel=1e-6)


def test_nodata_pixels_change_neither_loss() -> None:
    torch.manual_seed(1)
    logits, ordinal = torch.randn(1, 3, 2, 2), torch.randn(1, 2, 2, 2)
    label = torch.tensor([[[0, 2], [1, 255]]])
    other = logits.clone()
    other[..., 1, 1] += 50.0
    other_ordinal = ordinal.clone()
    other_ordinal[..., 1, 1] -= 50.0
    assert float(focal_loss(logits, label, 2.5, (0.4, 2.5, 2.0))) == pytest.approx(
        float(focal_loss(other, label, 2.5, (0.4, 2.5, 2.0)))
    )
    assert float(coral_loss(ordinal, label)) == pytest.approx(float(coral_loss(other_ordinal, label)))


def test_total_is_focal_plus_weighted_coral() -> None:
    torch.manual_seed(2)
    logits, ordinal, label = torch.randn(1, 3, 3, 3), torch.randn(1, 2, 3, 3), torch.randint(0, 3, (1, 3, 3))
    total, parts = RisksegLoss(LossSettings(coral_weight=0.3))(logits, ordinal, label)
    assert float(total) == pytest.approx(float(parts["focal"] + 0.3 * parts["coral"]), rel=1e-6)


def test_class_weights_need_one_per_class() -> None:
    with pytest.raises(ConfigError, match="class_weights"):
        LossSettings(class_weights=(1.0, 2.0))
