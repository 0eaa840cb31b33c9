"""What the downscale schema allows exists in the code: the architecture, its keywords, the RainFARM kernels."""

from __future__ import annotations

from settings_helpers import arch_params, constructor_keywords, enum

from atmo.downscale.models import DOWNSCALE_MODELS
from atmo.downscale.rainfarm import KERNELS

#: Constructor keywords the data fix, never a config entry.
DATA_KEYWORDS = {"in_channels", "coarse_shape", "factor"}


def test_every_architecture_the_schema_allows_is_registered_with_its_keywords() -> None:
    allowed, params = arch_params("downscale", "variants.*")
    assert sorted(allowed) == sorted(DOWNSCALE_MODELS) == sorted(params)
    for arch, keys in params.items():
        assert keys == constructor_keywords(DOWNSCALE_MODELS[arch]) - DATA_KEYWORDS, arch


def test_the_rainfarm_kernels_the_schema_allows_exist() -> None:
    assert set(enum("downscale", "baselines.rainfarm_kernel")) <= {None, *KERNELS}
