"""Every settings block of an enabled module, built when the workflow is parsed, before any job.

The schema checks each value on its own; the settings classes add the rules that tie keys together
(``frames_in + frames_out`` within SEVIR's 49 frames, a CRF halo within half its tile...). A job
builds the blocks it reads, but only after the jobs before it ran; building every block here moves
those errors before any compute, as the same one line naming the key.

What this needs from an experiment it reads from the experiment's torch-free ``atmo/<module>/spec.py``:

- ``SETTINGS_BLOCKS``: config path inside the module's block (``*``: every named entry, as in
  ``crf.*``) -> ``"python.module:Class"``, the settings class that reads it (imported only here,
  behind the config-check cache: some import torch);
- ``MONITORABLE``: train block path -> the metrics its training logs, what its ``monitor`` may name;
- ``CROSS_BLOCK_CHECKS``: functions of the module's validated block, for rules across blocks.

Nothing here names an experiment.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from atmo.errors import ConfigError
from atmo.settings.blocks import build_block
from atmo.settings.classes import SettingsBlock
from atmo.settings.workflow import MODULES


def experiment_spec(module: str) -> ModuleType:
    """``atmo.<module>.spec``: what the settings code needs from experiment ``module``."""
    return importlib.import_module(f"atmo.{module}.spec")


def settings_class(target: str) -> type[SettingsBlock]:
    """The class named by ``"python.module:Class"``."""
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def configured(block: Any, path: str, where: str) -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of each place ``path`` (``*``: every entry) names in ``block``; absent ones skipped."""
    if not path:
        yield where, block
        return
    head, _, rest = path.partition(".")
    if not isinstance(block, Mapping):
        return
    names = list(block) if head == "*" else [head] if head in block else []
    for name in names:
        yield from configured(block[name], rest, f"{where}.{name}")


def check_module(module: str, block: Mapping[str, Any]) -> None:
    """Build every settings block ``block`` (the validated ``config[module]``) has, then the module's
    rules across blocks and its monitors; raise :class:`ConfigError` with one line naming the key."""
    spec = experiment_spec(module)
    for path, target in spec.SETTINGS_BLOCKS.items():
        for where, data in configured(block, path, module):
            build_block(settings_class(target), data, where)
    for check in spec.CROSS_BLOCK_CHECKS:
        check(block)
    _check_monitors(module, block, spec.MONITORABLE)


def monitorable() -> dict[str, tuple[str, ...]]:
    """Every module's :data:`MONITORABLE`, keyed by the train block's full config path (``hail.pretrain.train``)."""
    return {
        f"{module}.{path}": metrics
        for module in MODULES
        for path, metrics in experiment_spec(module).MONITORABLE.items()
    }


def _check_monitors(module: str, block: Mapping[str, Any], metrics_by_path: Mapping[str, tuple[str, ...]]) -> None:
    """Each ``train.monitor`` of ``module`` names a metric its training logs."""
    for path, metrics in metrics_by_path.items():
        for where, train in configured(block, path, module):
            monitor = train.get("monitor") if isinstance(train, Mapping) else None
            if monitor is not None and monitor not in metrics:
                raise ConfigError(
                    f"invalid config: key '{where}.monitor': {monitor!r} is not a metric this training logs; "
                    f"expected one of {list(metrics)}"
                )
