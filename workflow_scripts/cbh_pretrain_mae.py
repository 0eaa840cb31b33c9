"""cbh_pretrain_mae: pretrain one encoder (wildcard `encoder`) with one seed (`seed`) for one fold, or on all images."""

from atmo.cbh.training import pretrain_mae
from atmo.train import start_job, with_run_only

start_job(snakemake.log[0], snakemake.threads)
pretrain_mae(
    cache=snakemake.input.cache,
    folds_path=snakemake.input.folds,
    fold=snakemake.wildcards.pretrain_fold,
    encoder_name=snakemake.wildcards.encoder,
    encoder=snakemake.params.encoder,
    seed=int(snakemake.wildcards.seed),
    train=with_run_only(snakemake.params.train, snakemake.config["cbh"]["mae"]["train"]),
    validation=snakemake.params.validation,
    model_path=snakemake.output.model,
)
