"""The masked autoencoder: loss on masked patches only, seeded masks, a loss that training lowers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from atmo.cbh.losses import masked_mse
from atmo.cbh.mae import CBH_PRETRAIN, MaskedAutoencoder

TINY = {"in_channels": 1, "n_tokens": 8, "patch_dim": 6, "embed_dim": 16, "depth": 1, "heads": 2}
TINY_DECODER = {"decoder_dim": 8, "decoder_depth": 1, "decoder_heads": 2}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """The machine is shared, and these models are too small to gain from more threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mae(**changes) -> MaskedAutoencoder:
    torch.manual_seed(0)
    return MaskedAutoencoder(**{**TINY, **TINY_DECODER, **changes})


def _toy_patches(n: int = 32) -> torch.Tensor:
    """Smooth vertical profiles (a cloud layer at a random height) cut into 8 tokens of 6 px."""
    generator = torch.Generator().manual_seed(1)
    height = torch.arange(48, dtype=torch.float32)
    base = torch.rand(n, 1, generator=generator) * 48
    profile = torch.sigmoid((height - base) / 3.0)
    return profile.reshape(n, 8, 6)


def test_mae_masked_mse_ignores_the_visible_patches() -> None:
    generator = torch.Generator().manual_seed(0)
    pred, target = torch.rand(3, 8, 6, generator=generator), torch.rand(3, 8, 6, generator=generator)
    mask = torch.zeros(3, 8)
    mask[:, :6] = 1
    loss = masked_mse(pred, target, mask)
    changed = pred.clone()
    changed[:, 6:] += 5.0  # visible patches only
    assert masked_mse(changed, target, mask) == loss
    changed[:, 0] += 1.0  # a masked patch
    assert masked_mse(changed, target, mask) != loss
    expected = ((pred[:, :6] - target[:, :6]) ** 2).mean()
    torch.testing.assert_close(loss, expected)


def test_mae_forward_is_the_masked_loss_of_its_reconstruction() -> None:
    model = _mae()
    patches = _toy_patches(4)
    torch.manual_seed(3)
    pred, target, mask = model.reconstruct(patches)
    assert pred.shape == target.shape == patches.shape and mask.shape == (4, 8)
    assert mask.sum(dim=1).tolist() == [8 - model.n_visible] * 4 and model.n_visible == 2
    torch.manual_seed(3)
    loss, extras = model(patches)
    torch.testing.assert_close(loss, masked_mse(pred, target, mask))
    assert set(extras) == {"mse_masked"} and isinstance(extras["mse_masked"], torch.Tensor)
    # normalised pixels: each target patch has zero mean and unit variance
    torch.testing.assert_close(target.mean(-1), torch.zeros(4, 8), atol=1e-3, rtol=0)
    raw = _mae(norm_pix_loss=False)
    torch.testing.assert_close(raw.reconstruct(patches)[1], patches)


def test_mae_masks_are_random_per_sample_and_seeded() -> None:
    model = _mae()
    patches = _toy_patches(16)
    torch.manual_seed(5)
    first_loss, _ = model(patches)
    torch.manual_seed(5)
    mask = model.reconstruct(patches)[2]
    torch.manual_seed(5)
    second_loss, _ = model(patches)
    assert first_loss == second_loss
    torch.manual_seed(5)
    torch.testing.assert_close(model.reconstruct(patches)[2], mask)
    assert len({tuple(row.tolist()) for row in mask}) > 1  # not one mask for the whole batch
    torch.manual_seed(6)
    assert not torch.equal(model.reconstruct(patches)[2], mask)


def test_mae_encode_sees_every_token_without_masking() -> None:
    model = _mae().eval()
    patches = _toy_patches(3)
    tokens = model.encode(patches)
    assert tokens.shape == (3, 8, 16)
    torch.testing.assert_close(model.encode(patches), tokens)  # no randomness
    encoder_keys = {k.removeprefix("encoder.") for k in model.state_dict() if k.startswith("encoder.")}
    assert set(model.encoder_state_dict()) == encoder_keys


def test_mae_training_steps_reduce_the_masked_loss() -> None:
    model = _mae()
    patches = _toy_patches(32)

    def evaluate() -> float:
        torch.manual_seed(100)  # the same masks before and after
        with torch.no_grad():
            return float(model(patches)[0])

    before = evaluate()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(20):
        optimizer.zero_grad()
        model(patches)[0].backward()
        optimizer.step()
    assert evaluate() < 0.7 * before


def test_mae_refuses_settings_it_cannot_build() -> None:
    with pytest.raises(ValueError, match=r"^heads: "):
        _mae(heads=3)
    with pytest.raises(ValueError, match=r"^decoder_heads: "):
        _mae(decoder_heads=3)
    with pytest.raises(ValueError, match=r"^mask_ratio: "):
        _mae(mask_ratio=0.95)  # int(8 * 0.05) = 0 visible tokens
    with pytest.raises(ValueError, match=r"^patch_dim: "):
        _mae(in_channels=4)
    assert CBH_PRETRAIN["mae"] is MaskedAutoencoder
    with torch.device("meta"):  # as atmo.train.check_entries builds it
        MaskedAutoencoder(in_channels=1, n_tokens=27, patch_dim=16, embed_dim=192, depth=4, heads=4)
