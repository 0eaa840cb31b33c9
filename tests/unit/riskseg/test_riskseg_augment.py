"""Augmentation moves image and label together and touches only what the bands allow."""

from __future__ import annotations

import pytest
import torch

from atmo.errors import ConfigError
from atmo.riskseg.augment import AugmentSettings, TileAugmenter

BANDS = ("a", "b", "c")


def _tile() -> tuple[torch.Tensor, torch.Tensor]:
    label = torch.arange(16).reshape(4, 4)  # every pixel distinct: each transform is visible
    label[0, 0] = 255
    image = torch.stack([label.float() * (i + 1) for i in range(3)])
    image[:, 0, 0] = 0.0
    return image, label


def test_geometric_transforms_keep_pixels_and_labels_together() -> None:
    augment = TileAugmenter(AugmentSettings(brightness=0.0, contrast=0.0), BANDS)
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        image, label = augment(*_tile())
        expected = torch.where(label == 255, 0, label).float()
        torch.testing.assert_close(image[1], 2 * expected)  # band b was 2 x the label everywhere
        seen.add(tuple(label.flatten().tolist()))
    assert len(seen) == 8  # the 8 flips/rotations of an asymmetric tile all occur


def test_photometric_jitter_changes_only_the_jitter_bands_and_keeps_nodata_zero() -> None:
    augment = TileAugmenter(
        AugmentSettings(flips=False, rot90=False, brightness=0.5, contrast=0.5, jitter_bands=("a",)), BANDS
    )
    torch.manual_seed(1)
    original, label = _tile()
    image, out_label = augment(original.clone(), label)
    assert torch.equal(out_label, label)
    assert not torch.allclose(image[0], original[0])
    torch.testing.assert_close(image[1:], original[1:])
    assert float(image[:, 0, 0].abs().sum()) == 0.0


def test_saturation_without_colour_bands_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"riskseg\.augment\.saturation"):
        AugmentSettings(saturation=0.4)


def test_unknown_band_names_are_named() -> None:
    with pytest.raises(ValueError, match=r"\['x'\]"):
        TileAugmenter(AugmentSettings(jitter_bands=("x",)), BANDS)


def test_saturation_blends_the_colour_triple_towards_grey() -> None:
    augment = TileAugmenter(
        AugmentSettings(flips=False, rot90=False, brightness=0.0, contrast=0.0, saturation=0.9, rgb_bands=BANDS), BANDS
    )
    torch.manual_seed(3)
    original, label = _tile()
    image, _ = augment(original.clone(), label)
    torch.testing.assert_close(image.mean(dim=0), original.mean(dim=0))  # grey level kept
    assert not torch.allclose(image, original)
