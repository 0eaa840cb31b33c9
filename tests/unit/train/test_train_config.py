"""TrainConfig: generated from the train schema, bad values name their key, run-only keys stay out of params."""

from __future__ import annotations

import pytest

from atmo.errors import ConfigError
from atmo.settings.run_only import RUN_ONLY_KEYS, without_run_only
from atmo.train import TrainConfig, with_run_only


def test_a_built_config_round_trips_through_its_dict() -> None:
    resolved = TrainConfig.from_dict({"lr": 1, "grad_clip": None, "scheduler": "plateau"}).to_dict()
    assert resolved["lr"] == 1.0 and isinstance(resolved["lr"], float)
    assert resolved["grad_clip"] is None and resolved["epochs"] == 10
    assert TrainConfig.from_dict(resolved) == TrainConfig(**resolved)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"learning_rate": 0.1}, "key 'cbh.train.learning_rate': unknown key"),
        ({"lr": True}, "key 'cbh.train.lr': expected number, got bool"),
        ({"lr": float("inf")}, "key 'cbh.train.lr': expected a finite number, got inf"),
        ({"epochs": 2.5}, "key 'cbh.train.epochs': expected integer"),
        ({"epochs": -1}, "key 'cbh.train.epochs': expected >= 0"),
        ({"device": "tpu"}, "key 'cbh.train.device': expected one of"),
        ({"monitor": "loss"}, "key 'cbh.train.monitor': expected a string matching"),
        ({"plateau_factor": 1.0}, "key 'cbh.train.plateau_factor': expected < 1"),
        ({"patience": 0}, "key 'cbh.train.patience': expected >= 1"),
        ({"grad_clip": "none"}, "key 'cbh.train.grad_clip': expected number or null"),
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


def test_the_schema_marks_the_run_only_keys() -> None:
    assert set(RUN_ONLY_KEYS) == {"progress", "keep_checkpoints"}
