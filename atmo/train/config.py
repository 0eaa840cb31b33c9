"""The training settings every experiment shares, as one typed, validated, immutable object.

A module's ``train:`` block in the workflow config (schema: ``config/schema/train.schema.yaml``) maps
one-to-one onto :class:`TrainConfig`, so a key means the same thing in every experiment. Snakemake
validates the config before jobs run; :meth:`TrainConfig.from_dict` checks again so the library is
safe to call from a notebook or a test with a hand-written dict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, get_type_hints

from atmo.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")
SCHEDULERS = ("none", "cosine", "plateau")
MONITOR_MODES = ("min", "max")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Seeding, device, optimisation, early-stopping and checkpoint settings of one training run.

    Defaults equal the ``default:`` entries of ``train.schema.yaml`` (a unit test keeps them in sync).
    """

    seed: int = 0
    deterministic: bool = True
    device: str = "auto"
    amp: bool = True
    epochs: int = 10
    batch_size: int = 16
    num_workers: int = 0
    lr: float = 0.001
    weight_decay: float = 0.0001
    scheduler: str = "cosine"
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    grad_clip: float | None = 1.0
    monitor: str = "val_loss"
    monitor_mode: str = "min"
    patience: int | None = None
    checkpoint_every: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        for name, value in _validated(self.to_dict(), "train").items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = "train") -> TrainConfig:
        """Build from a ``train:`` block; missing keys take their defaults.

        ``where`` is the dotted config path of the block (``"cbh.train"``), used in error messages.
        Raises :class:`ConfigError` naming the key for unknown keys and invalid values.
        """
        d = dict(d or {})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ConfigError(f"invalid config: key '{where}.{unknown[0]}': unknown key; allowed keys are {known}")
        defaults = cls().to_dict()
        return cls(**_validated({**defaults, **d}, where))

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings as a plain dict (what checkpoints store)."""
        return dataclasses.asdict(self)


def _validated(values: dict[str, Any], where: str) -> dict[str, Any]:
    """``values`` with ints widened to float where a float is expected; ConfigError names a bad key."""
    hints = get_type_hints(TrainConfig)
    out = {}
    for name, value in values.items():
        out[name] = _coerce(value, hints[name])
        if out[name] is _INVALID:
            raise ConfigError(
                f"invalid config: key '{where}.{name}': expected {_type_name(hints[name])}, "
                f"got {type(value).__name__} {value!r}"
            )
    for name, problem in _range_problems(out):
        raise ConfigError(f"invalid config: key '{where}.{name}': {problem}, got {out[name]!r}")
    return out


def _range_problems(v: dict[str, Any]) -> list[tuple[str, str]]:
    checks = [
        ("device", v["device"] in DEVICES, f"expected one of {list(DEVICES)}"),
        ("scheduler", v["scheduler"] in SCHEDULERS, f"expected one of {list(SCHEDULERS)}"),
        ("monitor_mode", v["monitor_mode"] in MONITOR_MODES, f"expected one of {list(MONITOR_MODES)}"),
        ("monitor", v["monitor"].startswith(("train_", "val_")), "expected a name starting with train_ or val_"),
        ("seed", v["seed"] >= 0, "expected >= 0"),
        ("epochs", v["epochs"] >= 1, "expected >= 1"),
        ("batch_size", v["batch_size"] >= 1, "expected >= 1"),
        ("num_workers", v["num_workers"] >= 0, "expected >= 0"),
        ("lr", math.isfinite(v["lr"]) and v["lr"] > 0, "expected a finite number > 0"),
        ("weight_decay", v["weight_decay"] >= 0, "expected >= 0"),
        ("plateau_factor", 0 < v["plateau_factor"] < 1, "expected 0 < value < 1"),
        ("plateau_patience", v["plateau_patience"] >= 0, "expected >= 0"),
        ("grad_clip", v["grad_clip"] is None or v["grad_clip"] > 0, "expected null or > 0"),
        ("patience", v["patience"] is None or v["patience"] >= 1, "expected null or >= 1"),
        ("checkpoint_every", v["checkpoint_every"] >= 1, "expected >= 1"),
    ]
    return [(name, problem) for name, ok, problem in checks if not ok]


_INVALID = object()


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` converted to ``hint`` (int -> float allowed; bool is never a number), else ``_INVALID``."""
    options = getattr(hint, "__args__", (hint,))
    if value is None:
        return None if type(None) in options else _INVALID
    if isinstance(value, bool):
        return value if bool in options else _INVALID
    if int in options and isinstance(value, int):
        return value
    if float in options and isinstance(value, int | float):
        return float(value)
    if str in options and isinstance(value, str):
        return value
    return _INVALID


def _type_name(hint: Any) -> str:
    options = getattr(hint, "__args__", (hint,))
    return " or ".join("null" if option is type(None) else option.__name__ for option in options)
