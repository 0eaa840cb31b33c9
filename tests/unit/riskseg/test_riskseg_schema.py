"""The riskseg config schema: sources need their blocks, shipped blocks build, one-line errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from atmo.riskseg.synthetic.scene import SyntheticSceneSettings
from atmo.riskseg.tiles import TilingSettings
from atmo.settings.errors import describe_validation_error
from atmo.settings.schema import node

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


def _errors(block: dict) -> list[str]:
    return [describe_validation_error(error) for error in node("riskseg").validator().iter_errors(block)]


@pytest.mark.parametrize("tier", ["test.yaml", "config.yaml", "full.yaml"])
def test_shipped_blocks_are_valid_and_build_the_settings(tier: str) -> None:
    block = yaml.safe_load((CONFIG_DIR / tier).read_text())["riskseg"]
    assert _errors(block) == []
    SyntheticSceneSettings(**block["synthetic"])
    TilingSettings(**block["tiles"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"source": "local"}, "missing required key: 'local'"),
        ({"source": "url"}, "missing required key: 'url'"),
        ({"source": "local", "local": {"scene": "a.tif"}}, "missing required key: 'labels'"),
        ({"source": "local", "local": {"scene": "", "labels": "b.tif"}}, "key 'local.scene'"),
        ({"source": "s3"}, "expected one of ['synthetic', 'local', 'url']"),
        ({"tiles": {"tile_sise": 64}}, "key 'tiles.tile_sise': unknown key"),
        ({"synthetic": {"class1_fraction": 0.0}}, "key 'synthetic.class1_fraction'"),
        ({"decision": {"rule": "mode"}}, "key 'decision.rule': expected one of ['auto', 'argmax', 'median', 'thr"),
        ({"decision": {"min_class2_recall": 1.5}}, "key 'decision.min_class2_recall'"),
        ({"crf": {"v25": {"compat": "linear"}}}, "key 'crf.v25.compat': expected one of ['potts', 'ordinal']"),
        ({"variants": {"v25": {"weights_from": "v2", "seeds": [1]}}}, "missing required key: 'crf'"),
        ({"variants": {"v25": {"crf": "v25", "seeds": [1]}}}, "key 'variants.v25': missing required key: 'arch'"),
        (
            {"variants": {"v25": {"arch": "attention_unet", "head": "ordinal", "crf": "v25", "seeds": [1]}}},
            "key 'variants.v25.head': expected one of ['softmax', 'coral']",
        ),
    ],
    ids=[
        "local-missing",
        "url-missing",
        "labels-missing",
        "empty-path",
        "bad-source",
        "typo",
        "no-class-1",
        "bad-rule",
        "recall-above-1",
        "bad-compat",
        "no-crf",
        "no-arch-nor-weights",
        "bad-head",
    ],
)
def test_a_config_pointing_at_nothing_is_one_line_naming_the_key(change: dict, expected: str) -> None:
    block = copy.deepcopy(yaml.safe_load((CONFIG_DIR / "test.yaml").read_text())["riskseg"])
    block.update(change)
    errors = _errors(block)  # validated alone, so keys are relative to the riskseg block
    assert len(errors) == 1 and "\n" not in errors[0]
    assert expected in errors[0], errors[0]


def test_a_complete_local_source_is_valid() -> None:
    block = yaml.safe_load((CONFIG_DIR / "test.yaml").read_text())["riskseg"]
    assert _errors({**block, "source": "local", "local": {"scene": "s.tif", "labels": "l.tif"}}) == []
