"""Every settings block of every enabled module is built when the workflow is parsed (atmo.settings.experiments).

A block a job builds only after the jobs before it (a riskseg CRF entry, after training and
inference) must fail at parse time instead, with the same one line naming its key.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from atmo.errors import ConfigError
from atmo.settings.experiments import check_module, configured, experiment_spec, settings_class
from atmo.settings.schema import node
from atmo.settings.workflow import MODULES, validate_workflow_config

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
SHIPPED = ["config.yaml", "test.yaml", "full.yaml", "sevir_vil.yaml"]


def _validated(name: str = "test.yaml") -> dict:
    return validate_workflow_config(yaml.safe_load((CONFIG_DIR / name).read_text()))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_validates_and_builds(name: str) -> None:
    config = _validated(name)
    for module in config["modules"]:
        check_module(module, config[module])


@pytest.mark.parametrize(
    ("module", "edit", "expected"),
    [
        (
            "riskseg",
            lambda block: block["crf"]["v25"].update(halo=33),
            "invalid config: key 'riskseg.crf.v25.halo': expected <= tile_size / 2 (32), got 33",
        ),
        (
            "riskseg",
            lambda block: block["oversampling"]["smote"].update(target_fraction=0.01),
            "invalid config: key 'riskseg.oversampling.smote.target_fraction': expected >= duplicate_target_fraction",
        ),
        (
            "cbh",
            lambda block: block["ridge"].update(alphas=[1.0, 0.1]),
            "invalid config: key 'cbh.ridge.alphas': expected strictly increasing penalties",
        ),
        (
            "nowcast",
            lambda block: block.update(source="sevir_local"),
            "invalid config: key 'nowcast.sevir.local_dir': source 'sevir_local' needs the SEVIR directory",
        ),
        (
            "cbh",
            lambda block: block["mae"]["train"].update(monitor="val_mae_km"),
            "invalid config: key 'cbh.mae.train.monitor': 'val_mae_km' is not a metric this training logs",
        ),
    ],
    ids=["crf-halo", "oversampling", "ridge", "nowcast-source", "mae-monitor"],
)
def test_a_rule_between_keys_is_refused_at_parse_time(module: str, edit, expected: str) -> None:
    config = _validated()
    edit(config[module])
    with pytest.raises(ConfigError) as error:
        check_module(module, config[module])
    assert str(error.value).startswith(expected) and "\n" not in str(error.value)


@pytest.mark.parametrize("module", MODULES)
def test_each_spec_path_is_built_by_the_class_of_that_block(module: str) -> None:
    """A class listed at the wrong path would check a block against another block's schema."""
    for path, target in experiment_spec(module).SETTINGS_BLOCKS.items():
        at_path = node(module, path)
        own = settings_class(target).SCHEMA
        assert (at_path.target_uri, at_path.target_pointer) == (own.target_uri, own.target_pointer), path


def test_configured_expands_named_entries_and_skips_absent_blocks() -> None:
    block = {"crf": {"a": {"halo": 1}, "b": {}}, "variants": {"v": {"loss": {}}, "w": {"weights_from": "v"}}}
    assert list(configured(block, "crf.*", "riskseg")) == [("riskseg.crf.a", {"halo": 1}), ("riskseg.crf.b", {})]
    assert list(configured(block, "variants.*.loss", "riskseg")) == [("riskseg.variants.v.loss", {})]
    assert list(configured(copy.deepcopy(block), "oracle", "riskseg")) == []
