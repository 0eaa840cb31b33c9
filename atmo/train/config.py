"""The training settings every experiment shares, as one typed, validated, immutable object.

A module's ``train:`` block in the workflow config (schema: ``atmo/train/settings.schema.yaml``) maps
one-to-one onto :class:`TrainConfig`, generated from that schema, so a key means the same thing in
every experiment. Snakemake validates the config before jobs run; :meth:`TrainConfig.from_dict` (one
call of :func:`atmo.settings.build_block`) checks again so the library is safe to call from a
notebook or a test with a hand-written dict.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from atmo.settings import Check, build_block, settings_block


class TrainConfig(settings_block("train")):
    """Seeding, device, optimisation, early-stopping and checkpoint settings of one training run.

    Fields and defaults are the keys of ``atmo/train/settings.schema.yaml``. Built from a config block
    by :func:`atmo.settings.build_block` (or :meth:`from_dict`); direct construction is checked the
    same way.
    """

    def cross_checks(self) -> list[Check]:
        # YAML's .inf and .nan pass the schema's exclusiveMinimum; no optimiser steps with them.
        return [("lr", math.isfinite(self.lr), "expected a finite number")]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, where: str = "train") -> TrainConfig:
        """Build from a ``train:`` block; missing keys take their defaults.

        ``where`` is the dotted config path of the block (``"hail.train"``), used in error messages.
        Raises :class:`ConfigError` naming the key for unknown keys and invalid values.
        """
        return build_block(cls, d, where)

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings as a plain dict (what checkpoints store)."""
        return dataclasses.asdict(self)
