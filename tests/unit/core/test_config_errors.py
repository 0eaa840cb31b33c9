"""The one-line config errors: unknown keys and wrong types name the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from atmo.config import describe_validation_error, dotted_key, find_validation_error

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "config"


def _validator() -> Draft202012Validator:
    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(yaml.safe_load((SCHEMA_DIR / uri.removeprefix("file://")).read_text()))

    schema = yaml.safe_load((SCHEMA_DIR / "schema.yaml").read_text())
    return Draft202012Validator(schema, registry=Registry(retrieve=retrieve))


def _error(config: dict) -> ValidationError:
    errors = list(_validator().iter_errors(config))
    assert errors, "config was expected to be invalid"
    return errors[0]


def _valid_config() -> dict:
    return yaml.safe_load((SCHEMA_DIR / "test.yaml").read_text())


def test_every_shipped_config_is_valid() -> None:
    for name in ("config.yaml", "test.yaml", "full.yaml"):
        config = yaml.safe_load((SCHEMA_DIR / name).read_text())
        assert not list(_validator().iter_errors(config)), name


def test_unknown_key_is_named_on_one_line() -> None:
    config = _valid_config()
    config["riskseg"]["not_a_setting"] = 3
    message = describe_validation_error(_error(config))
    assert "\n" not in message
    assert "'riskseg'" in message and "not_a_setting" in message and "allowed keys" in message


def test_wrong_type_names_key_and_expected_type() -> None:
    config = _valid_config()
    config["nowcast"]["seed"] = "zero"
    message = describe_validation_error(_error(config))
    assert message == "invalid config: key 'nowcast.seed': expected integer, got str 'zero'"


def test_unknown_module_in_modules_list() -> None:
    config = _valid_config()
    config["modules"] = ["nowcast", "weather"]
    message = describe_validation_error(_error(config))
    assert "modules[1]" in message and "'weather'" in message


def test_dotted_key_renders_indices() -> None:
    assert dotted_key(["a", "b", 2, "c"]) == "a.b[2].c"
    assert dotted_key([]) == "<top level>"


def test_find_validation_error_unwraps_wrappers() -> None:
    inner = ValidationError("boom")
    try:
        try:
            raise inner
        except ValidationError as err:
            raise RuntimeError("Error validating config file.", err) from err
    except RuntimeError as outer:
        assert find_validation_error(outer) is inner
    assert find_validation_error(RuntimeError("nothing")) is None


@pytest.mark.parametrize("name", ["config.yaml", "test.yaml", "full.yaml"])
def test_configs_enable_all_modules(name: str) -> None:
    config = yaml.safe_load((SCHEMA_DIR / name).read_text())
    assert set(config["modules"]) == {"nowcast", "cbh", "riskseg", "downscale"}
