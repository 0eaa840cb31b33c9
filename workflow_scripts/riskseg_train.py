"""riskseg_train: train one variant (wildcard `variant`) with one seed (wildcard `seed`)."""

from atmo.riskseg.training import train_variant
from atmo.train import start_job, with_run_only

start_job(snakemake.log[0], snakemake.threads)
train_variant(
    tiles=snakemake.input.tiles,
    train_tiles=snakemake.input.train_tiles,
    variant=snakemake.wildcards.variant,
    spec=snakemake.params.spec,
    seed=int(snakemake.wildcards.seed),
    train=with_run_only(snakemake.params.train, snakemake.config["riskseg"]["train"]),
    augment=snakemake.params.augment,
    model_path=snakemake.output.model,
)
