"""What the workflow's central code needs from the cbh experiment, declared once; the fields are
described in :mod:`atmo.settings.experiments` and :mod:`atmo.summary.declared`. Torch-free: the
rules import it at parse time. Its product names are in :mod:`atmo.cbh.products`.
"""

from __future__ import annotations

#: Config path inside ``cbh`` -> the settings class that reads the block, built at parse time.
SETTINGS_BLOCKS: dict[str, str] = {
    "synthetic": "atmo.cbh.synthetic.flights:CameraSettings",
    "era5": "atmo.cbh.era5_files:Era5Settings",
    "geometry": "atmo.cbh.geometry:GeometrySettings",
    "cache": "atmo.cbh.cache:CacheSettings",
    "validation": "atmo.cbh.folds:ValidationSettings",
    "gbdt": "atmo.cbh.gbdt:GbdtSettings",
    "ridge": "atmo.cbh.ridge:RidgeSettings",
    "mae.encoders.*.view": "atmo.cbh.views:ViewSettings",
    "mae.train": "atmo.train.config:TrainConfig",
    "train": "atmo.train.config:TrainConfig",
    "models.*.loss": "atmo.cbh.losses:CbhLossSettings",
    "bootstrap": "atmo.metrics.paired:BootstrapSettings",
}

#: Metrics every training run of a ``train`` block logs (``history.csv`` columns beyond ``epoch, lr,
#: seconds``): what its ``monitor`` may name. A workflow test checks these against the histories of
#: an executed run.
MONITORABLE: dict[str, tuple[str, ...]] = {
    "train": ("train_loss", "train_mae_km", "val_loss", "val_mae_km"),
    "mae.train": ("train_loss", "train_mse_masked", "val_loss", "val_mse_masked"),
}

#: Checks across blocks (none: the comparison names are checked with the models, in rules/cbh_inputs.smk).
CROSS_BLOCK_CHECKS = ()

#: The summary's heading of this experiment (:mod:`atmo.summary`).
TITLE = "cloud-base height, leave-one-flight-out (write-up 000)"
#: The key of the ``cbh`` block that says where a real source reads from (the summary's provenance).
SOURCE_KEY = "local_dir"
