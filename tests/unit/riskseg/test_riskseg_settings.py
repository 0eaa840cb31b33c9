"""What the riskseg schema allows exists in the code: the architecture and its keywords, every named choice."""

from __future__ import annotations

from settings_helpers import arch_params, constructor_keywords, enum

from atmo.riskseg import CLASSES
from atmo.riskseg.crf import COMPATS
from atmo.riskseg.decision import RULES
from atmo.riskseg.decision_fit import AUTO, CRITERIA
from atmo.riskseg.heads import HEADS
from atmo.riskseg.inference import BLENDS
from atmo.riskseg.models import RISKSEG_MODELS
from atmo.settings.schema import node


def test_every_architecture_the_schema_allows_is_registered_with_its_keywords() -> None:
    allowed, params = arch_params("riskseg", "variants.*")
    assert sorted(allowed) == sorted(RISKSEG_MODELS) == sorted(params)
    for arch, keys in params.items():
        assert keys == constructor_keywords(RISKSEG_MODELS[arch]) - {"in_channels"}, arch


def test_every_choice_the_schema_allows_is_implemented() -> None:
    assert set(enum("riskseg", "crf.*.compat")) <= set(COMPATS)
    assert set(enum("riskseg", "inference.blend")) <= set(BLENDS)
    assert set(enum("riskseg", "decision.rule")) <= {AUTO, *RULES}
    assert set(enum("riskseg", "decision.criterion")) <= set(CRITERIA)
    assert set(enum("riskseg", "variants.*.head")) <= set(HEADS)
    weights = node("riskseg", "variants.*.loss.class_weights").schema
    assert weights["minItems"] == weights["maxItems"] == len(CLASSES)
