"""The CORAL head decoded into class probabilities, on hand-made logits and through whole-scene inference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from atmo.riskseg import inference as inf
from atmo.riskseg.decision import decide
from atmo.riskseg.heads import coral_probabilities, head_probabilities
from atmo.riskseg.models import AttentionUnet


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _boundaries(*pairs: tuple[float, float]) -> torch.Tensor:
    """CORAL logits ``(1, 2, 1, n)`` whose sigmoids are the given ``(P(y > 0), P(y > 1))`` pairs."""
    values = [[_logit(above_0) for above_0, _ in pairs], [_logit(above_1) for _, above_1 in pairs]]
    return torch.tensor(values, dtype=torch.float64).view(1, 2, 1, len(pairs))


def test_coral_probabilities_are_the_boundary_differences_and_sum_to_one() -> None:
    probs = coral_probabilities(_boundaries((0.9, 0.2), (0.6, 0.42), (0.1, 0.05)))[0, :, 0].numpy()
    expected = [[0.1, 0.4, 0.9], [0.7, 0.18, 0.05], [0.2, 0.42, 0.05]]
    np.testing.assert_allclose(probs, expected, atol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-12)
    assert (probs >= 0).all()


def test_the_ordinal_rules_on_coral_probabilities() -> None:
    # P = (0.40, 0.18, 0.42): high is the single most probable, but the median is medium
    probs = coral_probabilities(_boundaries((0.6, 0.42), (0.9, 0.2), (0.3, 0.1)))[0, :, 0].numpy()
    assert decide(probs[:, None, :], "argmax")[0].tolist() == [2, 1, 0]
    assert decide(probs[:, None, :], "median")[0].tolist() == [1, 1, 0]


def test_unordered_boundaries_are_capped_to_a_distribution() -> None:
    # sigma(g1) > sigma(g0) would make P1 negative: capped at sigma(g0), P1 = 0
    probs = coral_probabilities(_boundaries((0.3, 0.6)))[0, :, 0, 0].numpy()
    np.testing.assert_allclose(probs, [0.7, 0.0, 0.3], atol=1e-12)


def test_the_head_setting_picks_the_probabilities_inference_returns() -> None:
    torch.manual_seed(0)
    model = AttentionUnet(in_channels=5, encoder="resnet18", encoder_depth=3, decoder_channels=(8, 8, 8)).eval()
    with torch.no_grad():
        model.coral.bias.copy_(torch.tensor([0.5, -0.5]))
    image = np.random.default_rng(0).normal(size=(5, 32, 32)).astype(np.float32)
    x = torch.from_numpy(image)[None]
    with torch.no_grad():
        logits, ordinal = model(x, with_ordinal=True)
        np.testing.assert_allclose(head_probabilities(model, x, "softmax"), torch.softmax(logits, dim=1), atol=1e-6)
        np.testing.assert_allclose(head_probabilities(model, x, "coral"), coral_probabilities(ordinal), atol=1e-6)
    settings = inf.InferenceSettings(window=32, overlap=0, tta=False)
    coral = inf.predict_array(model, image, settings, head="coral")
    np.testing.assert_allclose(coral, coral_probabilities(ordinal)[0].numpy(), atol=1e-5)
    softmax = inf.predict_array(model, image, settings, head="softmax")
    assert np.abs(coral - softmax).max() > 0.05  # the two heads do differ
    with pytest.raises(ValueError, match="head 'ordinal'"):
        head_probabilities(model, x, "ordinal")
