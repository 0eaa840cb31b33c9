"""Settings classes generated from the schema: fields, types and defaults come from it; every instance is checked."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from atmo.errors import ConfigError
from atmo.nowcast.cache import CacheConfig, Normalisation
from atmo.riskseg.crf import CrfSettings
from atmo.settings import build_block, settings_block
from atmo.settings.schema import node
from atmo.train import TrainConfig


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def test_fields_and_defaults_are_the_schemas() -> None:
    schema = node("riskseg", "crf.*").schema["properties"]
    fields = _fields(CrfSettings)
    assert list(fields) == list(schema)
    assert {name: f.default for name, f in fields.items()} == {name: spec["default"] for name, spec in schema.items()}
    assert all(f.kw_only for f in fields.values())


def test_schema_types_become_annotations() -> None:
    train = _fields(TrainConfig)
    assert train["epochs"].type is int and train["lr"].type is float and train["amp"].type is bool
    assert train["device"].type is str  # an enum of strings
    assert train["grad_clip"].type == float | None and train["patience"].type == int | None
    comparison = _fields(settings_block("downscale", "comparison"))
    assert comparison["epoch"].type == int | str  # oneOf: const 'last' or an integer
    assert comparison["pairs"].type == tuple[tuple[str, ...], ...] | None
    assert _fields(CacheConfig)["normalisation"].type is Normalisation  # a nested block: its own class
    assert _fields(settings_block("nowcast", "loss_choice"))["values"].default is dataclasses.MISSING  # required


def test_values_are_normalised_as_the_types_say() -> None:
    built = build_block(CacheConfig, {"normalisation": {"lght": {"offset": 0, "scale": 2}}}, "nowcast.cache")
    assert built.normalisation.lght.offset == 0.0 and isinstance(built.normalisation.lght.offset, float)
    assert built.normalisation.ir069 == Normalisation().ir069  # the nested block's other defaults
    scoring = build_block(settings_block("downscale", "scoring"), {"crps_blocks": [1, 2]}, "downscale.scoring")
    assert scoring.crps_blocks == (1, 2) and scoring.fss_percentiles == (95.0, 99.0)
    assert TrainConfig(epochs=3.0).epochs == 3 and isinstance(TrainConfig(epochs=3.0).epochs, int)
    assert build_block(TrainConfig, None, "train") == TrainConfig()
    assert build_block(TrainConfig, built := TrainConfig(lr=0.1), "train") is built


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"halo": -1}, "invalid config: key 'riskseg.crf.v25.halo': expected >= 0, got -1"),
        ({"halo": 600}, "invalid config: key 'riskseg.crf.v25.halo': expected <= tile_size / 2 (512), got 600"),
        (
            {"hallo": 6},
            "invalid config: key 'riskseg.crf.v25.hallo': unknown key; allowed keys are ['bilateral_schan',",
        ),
        ({"iterations": "3"}, "invalid config: key 'riskseg.crf.v25.iterations': expected integer, got str '3'"),
        ({"iterations": True}, "invalid config: key 'riskseg.crf.v25.iterations': expected integer, got bool True"),
        ({"compat": "linear"}, "invalid config: key 'riskseg.crf.v25.compat': expected one of ['potts', 'ordinal'], "),
    ],
)
def test_a_bad_block_is_one_line_naming_its_key(block: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_block(CrfSettings, block, "riskseg.crf.v25")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_block_that_is_no_mapping_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^invalid config: key 'riskseg\.crf\.v25': expected a mapping, got int 3$"):
        build_block(CrfSettings, 3, "riskseg.crf.v25")


def test_direct_construction_is_checked_under_the_class_path() -> None:
    with pytest.raises(ConfigError, match=r"^invalid config: key 'riskseg\.crf\.<name>\.halo': expected >= 0, got -1$"):
        CrfSettings(halo=-1)
    with pytest.raises(ConfigError, match=r"key 'riskseg\.crf\.<name>\.halo': expected <= tile_size / 2 \(8\)"):
        CrfSettings(tile_size=16, halo=9)
    with pytest.raises(ConfigError, match=r"key 'nowcast\.cache\.normalisation\.lght\.scale': expected > 0"):
        CacheConfig(normalisation={"lght": {"offset": 0.0, "scale": 0.0}})


def test_a_subclass_cannot_skip_the_schema() -> None:
    with pytest.raises(TypeError, match="cross_checks"):

        class Bad(settings_block("riskseg", "tiles")):
            def __post_init__(self) -> None:
                pass


def test_instances_are_frozen_and_pickle() -> None:
    settings = CacheConfig(frames_in=6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.frames_in = 7  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(settings)) == settings
