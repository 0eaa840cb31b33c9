"""What the workflow's central code needs from the riskseg experiment, declared once; the fields are
described in :mod:`atmo.settings.experiments` and :mod:`atmo.summary.declared`. Torch-free: the
rules import it at parse time. Its product names are in :mod:`atmo.riskseg.products`.
"""

from __future__ import annotations

#: Config path inside ``riskseg`` -> the settings class that reads the block, built at parse time (a CRF entry's
#: halo, for one, is otherwise read only after training and inference).
SETTINGS_BLOCKS: dict[str, str] = {
    "synthetic": "atmo.riskseg.synthetic.scene:SyntheticSceneSettings",
    "tiles": "atmo.riskseg.tiles:TilingSettings",
    "oversampling.*": "atmo.riskseg.oversample:OversamplingSettings",
    "augment": "atmo.riskseg.augment:AugmentSettings",
    "variants.*.loss": "atmo.riskseg.losses:LossSettings",
    "train": "atmo.train.config:TrainConfig",
    "inference": "atmo.riskseg.inference:InferenceSettings",
    "decision": "atmo.riskseg.decision_fit:DecisionSettings",
    "crf.*": "atmo.riskseg.crf:CrfSettings",
    "baselines.*": "atmo.riskseg.baselines:BaselineSettings",
    "oracle": "atmo.riskseg.oracle:OracleSettings",
    "bootstrap": "atmo.metrics.paired:BootstrapSettings",
}

#: Metrics every training run of a ``train`` block logs (``history.csv`` columns beyond ``epoch, lr,
#: seconds``): what its ``monitor`` may name. A workflow test checks these against the histories of
#: an executed run.
MONITORABLE: dict[str, tuple[str, ...]] = {
    "train": ("train_loss", "train_focal", "train_coral", "val_loss", "val_focal", "val_coral"),
}

#: Checks across blocks (none here: the variants' names, heads and weights_from are checked in
#: rules/riskseg_inputs.smk, where the rules use them).
CROSS_BLOCK_CHECKS = ()

#: The summary's heading of this experiment (:mod:`atmo.summary`).
TITLE = "ordinal risk segmentation, test blocks (write-up 002)"
#: The key of the ``riskseg`` block that says where a real source reads from (the summary's provenance).
SOURCE_KEY = "local"
