"""Train one nowcast model or ablation (wildcard `model`) with one seed (wildcard `seed`) on the train/val caches."""

from atmo.nowcast.training import train_nowcast_model
from atmo.train import start_job, with_run_only

start_job(snakemake.log[0], snakemake.threads)
train_nowcast_model(
    snakemake.input.train,
    snakemake.input.val,
    snakemake.params.spec,
    with_run_only(snakemake.params.train, snakemake.config["nowcast"]["train"]),
    model_path=snakemake.output.model,
    augment=snakemake.params.augment,
    seed=int(snakemake.wildcards.seed),
)
