"""What the cbh schema allows exists in the code: head architectures, their keywords, the MAE's, ERA5 names."""

from __future__ import annotations

from settings_helpers import arch_params, constructor_keywords, enum

from atmo.cbh.era5_files import ERA5_VARIABLES
from atmo.cbh.mae import MaskedAutoencoder
from atmo.cbh.models import CBH_MODELS
from atmo.settings.schema import node

#: Constructor keywords the cache or the encoder checkpoint fix, never a config entry.
DATA_KEYWORDS = {
    "n_physical",
    "in_channels",
    "n_tokens",
    "patch_dim",
    *(f"encoder_{k}" for k in ("dim", "depth", "heads", "mlp_ratio")),
}


def test_every_architecture_the_schema_allows_is_registered_with_its_keywords() -> None:
    allowed, params = arch_params("cbh", "models.*")
    assert sorted(allowed) == sorted(CBH_MODELS) == sorted(params)
    for arch, keys in params.items():
        assert keys == constructor_keywords(CBH_MODELS[arch]) - DATA_KEYWORDS, arch


def test_the_mae_keywords_and_the_era5_names_the_schema_allows_exist() -> None:
    mae = set(node("cbh", "mae.encoders.*.params").schema["properties"])
    assert mae == constructor_keywords(MaskedAutoencoder) - DATA_KEYWORDS
    assert set(enum("cbh", "era5.variables")) <= set(ERA5_VARIABLES)
