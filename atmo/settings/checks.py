"""Checks of a validated config that depend on more than one block or on the machine.

Each raises :class:`~atmo.errors.ConfigError` with one line naming the key, when the workflow is
parsed, so a misspelt name or a missing GPU stops the run before any job.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from atmo.errors import ConfigError


def check_devices(config: Mapping[str, Any], modules: list[str], local_gpus: int) -> None:
    """``train.device: cuda`` needs a GPU on this machine when the run did not say it has GPUs elsewhere.

    Called only for runs that rely on this machine's GPU count (no ``gpu`` resource given on the
    command line or by a profile such as ``profiles/slurm``, whose jobs run on GPU nodes).
    """
    if local_gpus > 0:
        return
    for module in modules:
        train = config[module].get("train") or {}
        if train.get("device") == "cuda":
            raise ConfigError(
                f"invalid config: key '{module}.train.device': 'cuda' but this machine has no CUDA GPU; "
                "use device: auto (or cpu), or submit with a profile that runs jobs on GPU nodes"
            )


def check_comparison_names(
    where: str,
    *,
    headline: str,
    models: Collection[str],
    pairs_key: str,
    pairs: Sequence[Sequence[str]],
    entries: Collection[str],
) -> None:
    """A comparison block names only entries that run; :class:`ConfigError` naming the key otherwise.

    Every experiment's ``comparison`` block names a headline model (one of ``models``) and pairs
    ``[a, b]`` of ``entries`` (models, baselines, ablations). A misspelt name would otherwise drop
    its comparison silently after all the training, so this runs when the workflow is parsed.
    """
    if headline not in models:
        raise ConfigError(f"invalid config: key '{where}.headline': {headline!r} is not one of {sorted(models)}")
    for i, (a, b) in enumerate(pairs):
        unknown = [name for name in (a, b) if name not in entries]
        if unknown or a == b:
            problem = f"{unknown[0]!r} is not one of {sorted(entries)}" if unknown else f"{a!r} against itself"
            raise ConfigError(f"invalid config: key '{where}.{pairs_key}[{i}]': {problem}")
