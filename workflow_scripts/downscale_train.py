"""downscale_train: train one cVAE variant (wildcard `variant`) with one seed (wildcard `seed`, replacing train.seed).

Exports model.pt and the weights of every periodic checkpoint epoch (the directory the sampling jobs read).
"""

from atmo.downscale.training import train_variant
from atmo.train import start_job, with_run_only

start_job(snakemake.log[0], snakemake.threads)
train_variant(
    fields=snakemake.input.fields,
    variant=snakemake.wildcards.variant,
    spec=snakemake.params.spec,
    train={
        **with_run_only(snakemake.params.train, snakemake.config["downscale"]["train"]),
        "seed": int(snakemake.wildcards.seed),
    },
    model_path=snakemake.output.model,
    epochs_dir=snakemake.output.epochs,
)
