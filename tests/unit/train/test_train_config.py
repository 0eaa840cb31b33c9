"""TrainConfig: defaults and keys equal the schema's, bad values name their key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema
import pytest
import yaml

from atmo.errors import ConfigError
from atmo.run_only import RUN_ONLY_KEYS, without_run_only
from atmo.train import TrainConfig, with_run_only

SCHEMA = Path(__file__).resolve().parents[3] / "config" / "schema" / "train.schema.yaml"


def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def test_keys_and_defaults_equal_the_schema() -> None:
    properties = schema()["properties"]
    assert [f.name for f in dataclasses.fields(TrainConfig)] == list(properties)
    assert TrainConfig().to_dict() == {key: spec["default"] for key, spec in properties.items()}


def test_resolved_config_validates_against_the_schema() -> None:
    resolved = TrainConfig.from_dict({"lr": 1, "grad_clip": None, "scheduler": "plateau"}).to_dict()
    jsonschema.Draft202012Validator(schema()).validate(resolved)
    assert resolved["lr"] == 1.0 and isinstance(resolved["lr"], float)
    assert resolved["grad_clip"] is None and resolved["epochs"] == 10


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"learning_rate": 0.1}, "key 'cbh.train.learning_rate': unknown key"),
        ({"lr": True}, "key 'cbh.train.lr': expected float, got bool"),
        ({"epochs": 2.5}, "key 'cbh.train.epochs': expected int"),
        ({"epochs": -1}, "key 'cbh.train.epochs': expected >= 0"),
        ({"device": "tpu"}, "key 'cbh.train.device': expected one of"),
        ({"monitor": "loss"}, "key 'cbh.train.monitor': expected a name starting with train_ or val_"),
        ({"plateau_factor": 1.0}, "key 'cbh.train.plateau_factor'"),
        ({"patience": 0}, "key 'cbh.train.patience': expected null or >= 1"),
        ({"grad_clip": "none"}, "key 'cbh.train.grad_clip': expected float or null"),
    ],
)
def test_bad_values_name_the_key(block: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        TrainConfig.from_dict(block, where="cbh.train")


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ConfigError, match=r"train\.batch_size"):
        TrainConfig(batch_size=0)


def test_run_only_keys_leave_the_params_and_come_back_from_the_config() -> None:
    block = {"epochs": 3, "lr": 0.01, "progress": False, "keep_checkpoints": None}
    params = without_run_only(block)
    assert params == {"epochs": 3, "lr": 0.01}
    assert with_run_only(params, block) == block
    # a key the config leaves out keeps its default; the params' own settings are never overridden
    merged = with_run_only(params, {"epochs": 99, "keep_checkpoints": 1})
    assert merged == {"epochs": 3, "lr": 0.01, "keep_checkpoints": 1}


def test_run_only_keys_are_train_settings() -> None:
    assert set(RUN_ONLY_KEYS) <= set(TrainConfig().to_dict())
