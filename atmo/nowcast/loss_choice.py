"""One loss weight chosen on the validation split, never on test: the ``nowcast.loss_choice`` block.

A loss weight is a modelling decision like an epoch or a threshold, so it is taken where those are:
each candidate value trains the tuned entry once (``seed``, a seed no reported entry uses, so the
reported seeds are not the ones the choice was made on), and the value whose best epoch scores the
highest validation metric (the training monitor, ``val_csi_m``) wins. Every entry in ``applies_to``
then trains with that value. The choice's inputs are the candidates' ``metrics.json`` files, which
the training job writes from the train and validation caches alone.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from atmo.errors import ConfigError, InputError
from atmo.io.atomic import write_json
from atmo.io.metrics_json import read_json_object
from atmo.settings import build_block, settings_block


class LossChoice(settings_block("nowcast", "loss_choice")):
    """The ``nowcast.loss_choice`` block: candidate ``values`` of loss weight ``key``, each trained on
    entry ``model`` with ``seed``; the winner replaces ``loss.<key>`` of every entry in ``applies_to``."""

    def labels(self) -> dict[str, float]:
        """``{label: value}``, the label naming the candidate's directory (``physics_weight_0.1``)."""
        return {f"{self.key}_{value:g}": float(value) for value in self.values}


def loss_choice_settings(block: Mapping[str, Any] | None) -> LossChoice | None:
    """The validated block, or ``None`` when the config chooses nothing."""
    return None if not block else build_block(LossChoice, block, LossChoice.WHERE)


def check_loss_choice(choice: LossChoice, models: Mapping[str, Mapping[str, Any]]) -> None:
    """Parse-time check: the tuned entry and every entry of ``applies_to`` exist."""
    for name in (choice.model, *choice.applies_to):
        if name not in models:
            raise ConfigError(f"{LossChoice.WHERE}: {name!r} is not an entry of nowcast.models ({', '.join(models)})")


def with_loss_weight(spec: Mapping[str, Any], key: str, value: float) -> dict[str, Any]:
    """A copy of a model entry's spec whose ``loss.<key>`` is ``value`` (the other weights kept)."""
    return {**spec, "loss": {**spec.get("loss", {}), key: value}}


def candidate_spec(choice: LossChoice, spec: Mapping[str, Any], value: float) -> dict[str, Any]:
    """The tuned entry's spec with the candidate value of the chosen weight."""
    return with_loss_weight(spec, choice.key, value)


def choose(candidates: Mapping[str, str | os.PathLike[str]], choice: LossChoice) -> dict[str, Any]:
    """Pick the candidate whose ``metrics.json`` has the best monitored validation value.

    ``candidates`` maps each label of :meth:`LossChoice.labels` to its metrics file. Ties go to the
    first value listed (the config's order), so the choice never depends on file order.
    """
    values = choice.labels()
    scores: dict[str, float] = {}
    monitor, mode = None, None
    for label, path in candidates.items():
        metrics = read_json_object(path, "training metrics file")
        best, monitor, mode = metrics.get("best_value"), metrics.get("monitor"), metrics.get("monitor_mode")
        if best is None or not math.isfinite(best) or not str(monitor).startswith("val_"):
            raise InputError(path, f"has no finite validation best_value (monitor {monitor!r}): cannot choose")
        scores[label] = float(best)
    ordered = list(values)
    sign = 1.0 if mode == "max" else -1.0
    winner = ordered[0]
    for label in ordered[1:]:
        if sign * scores[label] > sign * scores[winner]:
            winner = label
    return {
        "key": choice.key,
        "value": values[winner],
        "monitor": monitor,
        "monitor_mode": mode,
        "candidates": {label: {"value": values[label], "best": scores[label]} for label in ordered},
    }


def write_choice(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """The choice as JSON, atomically."""
    write_json(path, dict(record))


def with_chosen_weight(spec: Mapping[str, Any], choice_path: str | os.PathLike[str]) -> dict[str, Any]:
    """An ``applies_to`` entry's spec with the chosen value of ``loss.<key>`` from ``loss_choice.json``."""
    record = read_json_object(choice_path, "loss-weight choice")
    return with_loss_weight(spec, record["key"], record["value"])
