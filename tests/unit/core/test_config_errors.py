"""The workflow's config check (atmo.settings.workflow, what rules/common.smk calls): one line per error."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from atmo.errors import ConfigError
from atmo.settings.errors import dotted_key
from atmo.settings.schema import schema_file
from atmo.settings.workflow import MODULES, validate_workflow_config

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


def _config(name: str = "test.yaml") -> dict:
    return yaml.safe_load((CONFIG_DIR / name).read_text())


def _message(config: dict) -> str:
    with pytest.raises(ConfigError) as error:
        validate_workflow_config(config)
    message = str(error.value)
    assert "\n" not in message and message.startswith("invalid config: key '")
    return message


@pytest.mark.parametrize("name", ["config.yaml", "test.yaml", "full.yaml"])
def test_every_shipped_config_is_valid_and_enables_every_module(name: str) -> None:
    config = validate_workflow_config(_config(name))
    assert tuple(config["modules"]) == MODULES


def test_defaults_are_filled_in_module_and_train_blocks() -> None:
    config = _config()
    del config["nowcast"]["scoring"]
    validate_workflow_config(config)
    assert config["nowcast"]["scoring"]["thresholds"] == [16, 74, 133, 160, 181, 219]
    assert config["nowcast"]["train"]["patience"] is None and config["nowcast"]["train"]["scheduler"] == "cosine"
    assert config["nowcast"]["models"]["sgt"]["loss"]["extreme_weight"] == 2.0  # inside a $defs entry


def test_unknown_key_is_named_on_one_line() -> None:
    config = _config()
    config["riskseg"]["not_a_setting"] = 3
    message = _message(config)
    assert message.startswith("invalid config: key 'riskseg.not_a_setting': unknown key; allowed keys are ['augment',")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["nowcast"].update(seed="zero"), "key 'nowcast.seed': expected integer, got str 'zero'"),
        (
            lambda c: c["nowcast"]["synthetic"].update(start="2019-13-45"),
            "key 'nowcast.synthetic.start': expected a date such as '2019-05-01' (YYYY-MM-DD), got '2019-13-45'",
        ),
        (lambda c: c["downscale"]["synthetic"].update(start_date="2019-02-30"), "key 'downscale.synthetic.start_date'"),
        (lambda c: c["nowcast"]["train"].update(lr=-1), "key 'nowcast.train.lr'"),
        (lambda c: c["nowcast"]["train"].update(epochs="7"), "key 'nowcast.train.epochs': expected integer"),
        (lambda c: c.update(modules=["nowcast", "weather"]), "key 'modules[1]'"),
        (lambda c: c.pop("cbh"), "key 'cbh': missing module block"),
        (lambda c: c["nowcast"].update(train=None), "key 'nowcast.train': expected object"),
        (lambda c: c["nowcast"]["models"].update(gan={"arch": "gan"}), "key 'nowcast.models.gan.arch'"),
        (
            lambda c: c["nowcast"]["scoring"].update(unreached_threshold="drop"),
            "key 'nowcast.scoring.unreached_threshold'",
        ),
    ],
)
def test_bad_values_name_the_key(edit, expected: str) -> None:
    config = _config()
    edit(config)
    assert expected in _message(config)


def test_a_module_left_out_of_modules_is_not_checked() -> None:
    config = _config()
    config["modules"] = ["nowcast"]
    config["cbh"] = {"this block": "is never read"}
    del config["riskseg"]
    validate_workflow_config(copy.deepcopy(config))


def test_every_module_has_its_schema_in_its_package() -> None:
    assert MODULES and all(schema_file(module).is_file() for module in MODULES)


def test_dotted_key_renders_indices() -> None:
    assert dotted_key(["a", "b", 2, "c"]) == "a.b[2].c"
    assert dotted_key([]) == "<top level>"
