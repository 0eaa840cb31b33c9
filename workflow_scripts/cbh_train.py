"""cbh_train: train network `variant` with random seed `seed` on a fold; predict its test flight."""

from atmo.cbh.training import train_variant
from atmo.train import start_job, with_run_only

start_job(snakemake.log[0], snakemake.threads)
train_variant(
    cache=snakemake.input.cache,
    folds_path=snakemake.input.folds,
    fold_id=int(snakemake.wildcards.fold),
    variant=snakemake.wildcards.variant,
    spec=snakemake.params.spec,
    seed=int(snakemake.wildcards.seed),
    train=with_run_only(snakemake.params.train, snakemake.config["cbh"]["train"]),
    validation=snakemake.params.validation,
    encoder_path=snakemake.input.encoder,
    model_path=snakemake.output.model,
    predictions_path=snakemake.output.predictions,
)
