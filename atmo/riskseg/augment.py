"""Training-time augmentation of riskseg tiles: geometry always, photometry where the bands allow it.

Geometric: horizontal and vertical flips and 90° rotations, applied to image and label alike (risk
does not depend on the map's orientation at tile scale). Photometric, on the normalised bands
(units of a band's training standard deviation):

* brightness: add ``U(-brightness, brightness)`` to each band in ``jitter_bands``;
* contrast: scale each such band about its tile mean by ``U(1 - contrast, 1 + contrast)``;
* saturation: only for a true colour triple (``rgb_bands``, three band names); blend the three
  towards their grey mean by ``U(1 - saturation, 1 + saturation)``. Covariates such as elevation
  or rainfall have no colour, so saturation needs ``rgb_bands`` and is refused without it.

Nodata pixels stay 0 and their labels stay nodata. Random numbers come from torch's generator, so
a resumed training run (which restores torch's RNG state) augments exactly as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from atmo.settings import Check, settings_block
from atmo.train.dihedral import draw_dihedral, transform_field


class AugmentSettings(settings_block("riskseg", "augment")):
    """The ``riskseg.augment`` block."""

    def cross_checks(self) -> list[Check]:
        return [
            ("rgb_bands", len(self.rgb_bands) in (0, 3), "expected three band names (red, green, blue) or []"),
            (
                "saturation",
                self.saturation == 0 or len(self.rgb_bands) == 3,
                "saturation jitter needs rgb_bands (three colour bands); set it to 0 for covariate bands",
            ),
        ]


def check_band_names(settings: AugmentSettings, band_names: Sequence[str], source: str) -> None:
    """Raise ``ValueError`` naming ``source`` when a configured band is not among ``band_names``."""
    unknown = [name for name in (*settings.jitter_bands, *settings.rgb_bands) if name not in band_names]
    if unknown:
        raise ValueError(f"{source}: augment bands {unknown} are not among the bands {list(band_names)}")


class TileAugmenter:
    """Callable ``(image (C, h, w), label (h, w)) -> (image, label)`` applying :class:`AugmentSettings`."""

    def __init__(self, settings: AugmentSettings, band_names: Sequence[str]) -> None:
        check_band_names(settings, band_names, "riskseg.augment")
        self.settings = settings
        names = list(band_names)
        jitter = settings.jitter_bands or names
        self.jitter_index = torch.tensor([names.index(name) for name in jitter])
        self.rgb_index = torch.tensor([names.index(name) for name in settings.rgb_bands], dtype=torch.long)

    def __call__(self, image: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = self._geometric(image, label)
        return self._photometric(image, label), label

    def _geometric(self, image: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        op = draw_dihedral(self.settings.flips, self.settings.rot90, square=image.shape[-1] == image.shape[-2])
        return transform_field(image, op), transform_field(label, op)

    def _photometric(self, image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        s = self.settings
        if not (s.brightness or s.contrast or s.saturation):
            return image
        valid = (label != 255).to(image.dtype)
        image = image.clone()
        n = len(self.jitter_index)
        bands = image[self.jitter_index]
        if s.contrast:
            mean = (bands * valid).sum(dim=(1, 2), keepdim=True) / valid.sum().clamp_min(1)
            factor = 1 + (2 * torch.rand(n, 1, 1) - 1) * s.contrast
            bands = mean + (bands - mean) * factor
        if s.brightness:
            bands = bands + (2 * torch.rand(n, 1, 1) - 1) * s.brightness
        image[self.jitter_index] = bands
        if s.saturation:
            rgb = image[self.rgb_index]
            grey = rgb.mean(dim=0, keepdim=True)
            image[self.rgb_index] = grey + (rgb - grey) * (1 + (2 * torch.rand(()) - 1) * s.saturation)
        return image * valid
