"""Train one nowcast model or ablation (wildcard `model`) on the train/val caches."""

from pathlib import Path

from atmo.nowcast.training import train_nowcast_model
from atmo.runlog import log_to

log_to(snakemake.log[0])
train_nowcast_model(
    snakemake.input.train,
    snakemake.input.val,
    snakemake.params.spec,
    snakemake.params.train,
    out_dir=Path(snakemake.output.model).parent / "run",
    model_path=snakemake.output.model,
)
