"""Checks of a validated config that the schema cannot express, run before the first job.

The schema checks each value on its own. The rules that tie keys together (``frames_in +
frames_out`` within SEVIR's 49 frames, a ``sevir_local`` source without a directory, split
fractions that leave no training events...) live in the config dataclasses' ``__post_init__``,
which a job runs when it builds its block. Building every block of an enabled module here, when
the workflow is parsed, moves those errors before any compute: the same one line naming the key,
without first running the catalog, fetch and split jobs (and, with real data, a download).

:data:`BLOCKS` is the one list of which dataclass reads which block; the defaults test
(``tests/unit/core/test_config_defaults.py``) walks it against the schemas.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from atmo.config_blocks import build_block
from atmo.errors import ConfigError

#: ``module.key`` -> ``"python.module:ClassName"`` of the dataclass that reads that block (imported
#: only when checked: some import torch).
BLOCKS: dict[str, str] = {
    "nowcast.synthetic": "atmo.nowcast.synthetic.sevir:SyntheticSevirConfig",
    "nowcast.sevir": "atmo.nowcast.source:SevirConfig",
    "nowcast.loss_choice": "atmo.nowcast.loss_choice:LossChoice",
    "nowcast.selection": "atmo.nowcast.sevir_files:Selection",
    "nowcast.split": "atmo.nowcast.split:SplitConfig",
    "nowcast.cache": "atmo.nowcast.cache:CacheConfig",
    "nowcast.augment": "atmo.nowcast.dataset:AugmentSettings",
    "nowcast.train": "atmo.train.config:TrainConfig",
    "nowcast.scoring": "atmo.nowcast.scoring:ScoringConfig",
    "nowcast.bootstrap": "atmo.metrics.paired:BootstrapSettings",
    "cbh.synthetic": "atmo.cbh.synthetic.flights:CameraSettings",
    "cbh.era5": "atmo.cbh.era5_files:Era5Settings",
    "cbh.geometry": "atmo.cbh.geometry:GeometrySettings",
    "cbh.cache": "atmo.cbh.cache:CacheSettings",
    "cbh.validation": "atmo.cbh.folds:ValidationSettings",
    "cbh.gbdt": "atmo.cbh.gbdt:GbdtSettings",
    "cbh.ridge": "atmo.cbh.ridge:RidgeSettings",
    "cbh.train": "atmo.train.config:TrainConfig",
    "cbh.bootstrap": "atmo.metrics.paired:BootstrapSettings",
    "riskseg.synthetic": "atmo.riskseg.synthetic.scene:SyntheticSceneSettings",
    "riskseg.tiles": "atmo.riskseg.tiles:TilingSettings",
    "riskseg.augment": "atmo.riskseg.augment:AugmentSettings",
    "riskseg.train": "atmo.train.config:TrainConfig",
    "riskseg.inference": "atmo.riskseg.inference:InferenceSettings",
    "riskseg.bootstrap": "atmo.metrics.paired:BootstrapSettings",
    "riskseg.decision": "atmo.riskseg.decision_fit:DecisionSettings",
    "riskseg.oracle": "atmo.riskseg.oracle:OracleSettings",
    "downscale.synthetic": "atmo.downscale.synthetic.fields:SyntheticDownscaleSettings",
    "downscale.url": "atmo.io.download:DownloadSettings",
    "downscale.split": "atmo.downscale.split:TimeSplitSettings",
    "downscale.train": "atmo.train.config:TrainConfig",
    "downscale.baselines": "atmo.downscale.baselines:BaselineSettings",
    "downscale.scoring": "atmo.downscale.scoring:ScoringSettings",
    "downscale.bootstrap": "atmo.metrics.paired:BootstrapSettings",
    "downscale.comparison": "atmo.downscale.comparison:ComparisonSettings",
}


#: Metrics that every training run of a ``train`` block logs (``history.csv`` columns beyond
#: ``epoch, lr, seconds``), by the block's config path: what its ``monitor`` may name. Metrics only
#: some architectures log (the SGT's physics terms) are left out. A workflow test checks these
#: against the histories of an executed run, so the lists cannot drift from the code.
MONITORABLE: dict[str, tuple[str, ...]] = {
    "nowcast.train": ("train_loss", "train_mse", "train_extreme", "val_loss", "val_mse", "val_extreme", "val_csi_m"),
    "cbh.train": ("train_loss", "train_mae_km", "val_loss", "val_mae_km"),
    "cbh.mae.train": ("train_loss", "train_mse_masked", "val_loss", "val_mse_masked"),
    "riskseg.train": ("train_loss", "train_focal", "train_coral", "val_loss", "val_focal", "val_coral"),
    "downscale.train": (
        "train_loss",
        "train_recon",
        "train_kl",
        "train_tail_mae",
        "val_loss",
        "val_recon",
        "val_kl",
        "val_tail_mae",
        "val_active_units",
        "val_crps",
    ),
}


def block_class(path: str) -> type:
    """The dataclass of block ``module.key`` (see :data:`BLOCKS`)."""
    module_name, _, class_name = BLOCKS[path].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def check_module(module: str, block: Mapping[str, Any]) -> None:
    """Build every block of ``module`` that its config has, plus the rules across blocks; raise :class:`ConfigError`."""
    for path in BLOCKS:
        owner, _, key = path.partition(".")
        if owner == module and key in block:
            build_block(block_class(path), block[key], path)
    if module == "nowcast":  # the source and the blocks it reads, together (sevir_local needs local_dir)
        from atmo.nowcast.source import SourceConfig

        SourceConfig.from_config(block["source"], block["seed"], block.get("synthetic"), block.get("sevir"))
    _check_monitors(module, block)


def _check_monitors(module: str, block: Mapping[str, Any]) -> None:
    """Each ``train.monitor`` of ``module`` names a metric its training logs (see :data:`MONITORABLE`)."""
    for path, metrics in MONITORABLE.items():
        owner, *keys = path.split(".")
        if owner != module:
            continue
        node: Any = block
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        monitor = node.get("monitor") if isinstance(node, Mapping) else None
        if monitor is not None and monitor not in metrics:
            raise ConfigError(
                f"invalid config: key '{path}.monitor': {monitor!r} is not a metric this training logs; "
                f"expected one of {list(metrics)}"
            )


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
