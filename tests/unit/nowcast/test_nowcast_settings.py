"""What the nowcast schema allows exists in the code: architectures, their keywords, baselines, unreached rules."""

from __future__ import annotations

from settings_helpers import arch_params, constructor_keywords, enum

from atmo.metrics.contingency import UNREACHED_RULES
from atmo.nowcast.baselines import BASELINES
from atmo.nowcast.models.registry import MODELS

#: Constructor keywords the cache fixes, never a config entry.
DATA_KEYWORDS = {"frames_in", "frames_out"}


def test_every_architecture_the_schema_allows_is_registered_with_its_keywords() -> None:
    allowed, params = arch_params("nowcast", "models.*")
    assert sorted(allowed) == sorted(MODELS) == sorted(params)
    for arch, keys in params.items():
        assert keys == constructor_keywords(MODELS[arch]) - DATA_KEYWORDS, arch


def test_the_baselines_and_unreached_rules_the_schema_allows_exist() -> None:
    assert sorted(enum("nowcast", "baselines")) == sorted(BASELINES)
    assert set(enum("nowcast", "scoring.unreached_threshold")) <= set(UNREACHED_RULES)
