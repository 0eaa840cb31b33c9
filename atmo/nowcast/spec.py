"""What the workflow's central code needs from the nowcast experiment, declared once; the fields are
described in :mod:`atmo.settings.experiments` and :mod:`atmo.summary.declared`. Torch-free: the
rules import it at parse time. Its product names are in :mod:`atmo.nowcast.products`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Config path inside ``nowcast`` -> the settings class that reads the block, built at parse time.
SETTINGS_BLOCKS: dict[str, str] = {
    "synthetic": "atmo.nowcast.synthetic.sevir:SyntheticSevirConfig",
    "sevir": "atmo.nowcast.source:SevirConfig",
    "selection": "atmo.nowcast.sevir_files:Selection",
    "split": "atmo.nowcast.split:SplitConfig",
    "cache": "atmo.nowcast.cache:CacheConfig",
    "augment": "atmo.nowcast.dataset:AugmentSettings",
    "models.*.loss": "atmo.nowcast.losses:NowcastLossSettings",
    "train": "atmo.train.config:TrainConfig",
    "loss_choice": "atmo.nowcast.loss_choice:LossChoice",
    "scoring": "atmo.nowcast.scoring:ScoringConfig",
    "bootstrap": "atmo.metrics.paired:BootstrapSettings",
}

#: Metrics every training run of a ``train`` block logs (``history.csv`` columns beyond ``epoch, lr,
#: seconds``): what its ``monitor`` may name. The SGT's physics terms, logged by one architecture
#: only, are left out. A workflow test checks these against the histories of an executed run.
MONITORABLE: dict[str, tuple[str, ...]] = {
    "train": ("train_loss", "train_mse", "train_extreme", "val_loss", "val_mse", "val_extreme", "val_csi_m"),
}


def check_source(block: Mapping[str, Any]) -> None:
    """``nowcast.source`` and the blocks it reads, together (``sevir_local`` needs ``sevir.local_dir``)."""
    from atmo.nowcast.source import SourceConfig

    SourceConfig.from_config(block["source"], block["seed"], block.get("synthetic"), block.get("sevir"))


#: Checks across blocks, each called with the validated ``nowcast`` block.
CROSS_BLOCK_CHECKS = (check_source,)

#: The summary's heading of this experiment (:mod:`atmo.summary`).
TITLE = "SEVIR nowcasting (write-up 001)"
#: The key of the ``nowcast`` block that says where a real source reads from (the summary's provenance).
SOURCE_KEY = "sevir"
