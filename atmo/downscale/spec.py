"""What the workflow's central code needs from the downscale experiment, declared once; the fields are
described in :mod:`atmo.settings.experiments` and :mod:`atmo.summary.declared`. Torch-free: the
rules import it at parse time. Its product names are in :mod:`atmo.downscale.products`.
"""

from __future__ import annotations

#: Config path inside ``downscale`` -> the settings class that reads the block, built at parse time.
SETTINGS_BLOCKS: dict[str, str] = {
    "synthetic": "atmo.downscale.synthetic.fields:SyntheticDownscaleSettings",
    "url": "atmo.downscale.url_source:UrlSourceSettings",
    "split": "atmo.downscale.split:TimeSplitSettings",
    "train": "atmo.train.config:TrainConfig",
    "variants.*.loss": "atmo.downscale.losses:TailLossSettings",
    "baselines": "atmo.downscale.baselines:BaselineSettings",
    "scoring": "atmo.downscale.scoring:ScoringSettings",
    "comparison": "atmo.downscale.comparison:ComparisonSettings",
    "bootstrap": "atmo.metrics.paired:BootstrapSettings",
}

#: Metrics every training run of a ``train`` block logs (``history.csv`` columns beyond ``epoch, lr,
#: seconds``): what its ``monitor`` may name. A workflow test checks these against the histories of
#: an executed run.
MONITORABLE: dict[str, tuple[str, ...]] = {
    "train": (
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

#: Checks across blocks (none here: the sampled epochs and the comparison are checked with the
#: variants, in rules/downscale_inputs.smk).
CROSS_BLOCK_CHECKS = ()

#: The summary's heading of this experiment (:mod:`atmo.summary`).
TITLE = "conditional-VAE precipitation downscaling (write-up 004)"
#: The key of the ``downscale`` block that says where a real source reads from (the summary's provenance).
SOURCE_KEY = "local"
