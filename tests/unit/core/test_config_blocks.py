"""build_block: config blocks become typed dataclasses; every problem is one line naming the key."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from atmo.config_blocks import build_block, check
from atmo.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Inner:
    offset: float
    scale: float = 1.0


@dataclasses.dataclass(frozen=True)
class Outer:
    WHERE: ClassVar[str] = "toy"

    count: int = 2
    ratio: float = 0.5
    name: str | None = None
    names: tuple[str, ...] = ("a",)
    flag: bool = False
    inner: Inner = Inner(0.0)

    def __post_init__(self) -> None:
        check(self, [("count", self.count >= 1, "expected >= 1")])


def test_missing_keys_take_the_defaults_and_types_are_normalised() -> None:
    built = build_block(Outer, {"ratio": 2, "names": ["x", "y"], "inner": {"offset": 3}}, "m.toy")
    assert built == Outer(ratio=2.0, names=("x", "y"), inner=Inner(3.0))
    assert isinstance(built.ratio, float) and isinstance(built.inner.offset, float)
    assert build_block(Outer, None, "m.toy") == Outer()
    assert build_block(Outer, built, "m.toy") is built


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"cout": 3}, "invalid config: key 'm.toy.cout': unknown key; allowed keys are ['count', 'ratio', "),
        ({"count": "3"}, "invalid config: key 'm.toy.count': expected int, got str '3'"),
        ({"count": True}, "invalid config: key 'm.toy.count': expected int, got bool True"),
        ({"ratio": False}, "invalid config: key 'm.toy.ratio': expected float, got bool False"),
        ({"flag": 1}, "invalid config: key 'm.toy.flag': expected bool, got int 1"),
        ({"name": 3}, "invalid config: key 'm.toy.name': expected str or null, got int 3"),
        ({"names": "abc"}, "invalid config: key 'm.toy.names': expected list of str, got str 'abc'"),
        ({"names": ["a", 1]}, "invalid config: key 'm.toy.names[1]': expected str, got int 1"),
        ({"inner": {"scale": 2.0}}, "invalid config: key 'm.toy.inner.offset': missing required key"),
        ({"inner": {"offset": 0, "shift": 1}}, "invalid config: key 'm.toy.inner.shift': unknown key"),
        ({"inner": 3}, "invalid config: key 'm.toy.inner': expected a mapping, got int 3"),
        ({"count": 0}, "invalid config: key 'm.toy.count': expected >= 1, got 0"),
    ],
)
def test_a_bad_block_is_one_line_naming_the_key(block: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_block(Outer, block, "m.toy")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_direct_construction_names_the_class_path() -> None:
    with pytest.raises(ConfigError, match=r"^invalid config: key 'toy\.count': expected >= 1, got 0$"):
        Outer(count=0)
