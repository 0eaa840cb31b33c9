"""Multi-modal encoder: shapes, and explicit handling of missing modalities."""

from __future__ import annotations

import pytest
import torch

from atmo.nowcast.models.encoder import MultiModalEncoder


@pytest.fixture
def encoder() -> MultiModalEncoder:
    return MultiModalEncoder(hidden_dim=16, stem_channels=8, stride=4)


def test_shape(encoder: MultiModalEncoder) -> None:
    x = torch.randn(2, 3, 4, 32, 48)
    out = encoder(x, torch.ones(2, 4, dtype=torch.bool))
    assert out.shape == (2, 3, 16, 8, 12)


def test_absent_modality_content_is_ignored(encoder: MultiModalEncoder) -> None:
    """Whatever an absent channel holds (the cache writes zeros), it must not leak into the features."""
    x = torch.randn(2, 3, 4, 32, 32)
    present = torch.tensor([[True, True, False, True], [True, False, True, True]])
    scrambled = x.clone()
    scrambled[0, :, 2] = torch.randn(3, 32, 32)
    scrambled[1, :, 1] = 100.0
    assert torch.allclose(encoder(x, present), encoder(scrambled, present), atol=1e-6)


def test_missing_modality_changes_features_without_nan(encoder: MultiModalEncoder) -> None:
    x = torch.randn(1, 3, 4, 32, 32)
    x_missing = x.clone()
    x_missing[:, :, 1] = 0.0
    full = encoder(x, torch.ones(1, 4, dtype=torch.bool))
    missing = encoder(x_missing, torch.tensor([[True, False, True, True]]))
    zeros_as_data = encoder(x_missing, torch.ones(1, 4, dtype=torch.bool))
    assert torch.isfinite(missing).all()
    assert not torch.allclose(full, missing)
    # Declaring the modality missing is not the same as feeding its zeros as if they were data.
    assert not torch.allclose(zeros_as_data, missing)


def test_all_modalities_missing_gives_missing_embeddings_only(encoder: MultiModalEncoder) -> None:
    out = encoder(torch.randn(1, 2, 4, 32, 32), torch.zeros(1, 4, dtype=torch.bool))
    expected = encoder.missing.sum(dim=0)[None, None, :, None, None].expand_as(out)
    assert torch.allclose(out, expected)


def test_missing_embedding_receives_gradient_only_when_used(encoder: MultiModalEncoder) -> None:
    x = torch.randn(1, 2, 4, 32, 32)
    encoder(x, torch.tensor([[True, True, False, True]])).sum().backward()
    grad = encoder.missing.grad
    assert grad[2].abs().sum() > 0
    assert torch.all(grad[[0, 1, 3]] == 0)
