"""The training settings every experiment shares, as one typed, validated, immutable object.

A module's ``train:`` block in the workflow config (schema: ``config/schema/train.schema.yaml``) maps
one-to-one onto :class:`TrainConfig`, so a key means the same thing in every experiment. Snakemake
validates the config before jobs run; :meth:`TrainConfig.from_dict` (one call of
:func:`atmo.config_blocks.build_block`) checks again so the library is safe to call from a notebook
or a test with a hand-written dict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

from atmo.config_blocks import build_block, check, coerce_fields

DEVICES = ("auto", "cpu", "cuda", "mps")
SCHEDULERS = ("none", "cosine", "plateau")
MONITOR_MODES = ("min", "max")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Seeding, device, optimisation, early-stopping and checkpoint settings of one training run.

    Defaults equal the ``default:`` entries of ``train.schema.yaml`` (a unit test keeps them in sync).
    Built from a config block by :func:`atmo.config_blocks.build_block` (or :meth:`from_dict`);
    direct construction is checked the same way.
    """

    WHERE: ClassVar[str] = "train"

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
    keep_checkpoints: int | None = 2
    progress: bool = True

    def __post_init__(self) -> None:
        coerce_fields(self)
        check(
            self,
            [
                ("device", self.device in DEVICES, f"expected one of {list(DEVICES)}"),
                ("scheduler", self.scheduler in SCHEDULERS, f"expected one of {list(SCHEDULERS)}"),
                ("monitor_mode", self.monitor_mode in MONITOR_MODES, f"expected one of {list(MONITOR_MODES)}"),
                (
                    "monitor",
                    self.monitor.startswith(("train_", "val_")),
                    "expected a name starting with train_ or val_",
                ),
                ("seed", self.seed >= 0, "expected >= 0"),
                ("epochs", self.epochs >= 0, "expected >= 0 (0: the untrained control)"),
                ("batch_size", self.batch_size >= 1, "expected >= 1"),
                ("num_workers", self.num_workers >= 0, "expected >= 0"),
                ("lr", math.isfinite(self.lr) and self.lr > 0, "expected a finite number > 0"),
                ("weight_decay", self.weight_decay >= 0, "expected >= 0"),
                ("plateau_factor", 0 < self.plateau_factor < 1, "expected 0 < value < 1"),
                ("plateau_patience", self.plateau_patience >= 0, "expected >= 0"),
                ("grad_clip", self.grad_clip is None or self.grad_clip > 0, "expected null or > 0"),
                ("patience", self.patience is None or self.patience >= 1, "expected null or >= 1"),
                ("checkpoint_every", self.checkpoint_every >= 1, "expected >= 1"),
                (
                    "keep_checkpoints",
                    self.keep_checkpoints is None or self.keep_checkpoints >= 1,
                    "expected null or >= 1",
                ),
            ],
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = "train") -> TrainConfig:
        """Build from a ``train:`` block; missing keys take their defaults.

        ``where`` is the dotted config path of the block (``"cbh.train"``), used in error messages.
        Raises :class:`ConfigError` naming the key for unknown keys and invalid values.
        """
        return build_block(cls, d, where)

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings as a plain dict (what checkpoints store)."""
        return dataclasses.asdict(self)
