"""Train one nowcast model, ablation or loss-weight candidate (one seed: wildcard `seed`) on the train/val caches."""

from atmo.nowcast.loss_choice import with_chosen_weight
from atmo.nowcast.training import train_nowcast_model
from atmo.train import start_job, with_run_only

start_job(snakemake.log[0], snakemake.threads)
spec = snakemake.params.spec
if hasattr(snakemake.input, "choice"):  # an entry of nowcast.loss_choice.applies_to
    spec = with_chosen_weight(spec, snakemake.input.choice)
train_nowcast_model(
    snakemake.input.train,
    snakemake.input.val,
    spec,
    with_run_only(snakemake.params.train, snakemake.config["nowcast"]["train"]),
    model_path=snakemake.output.model,
    augment=snakemake.params.augment,
    seed=int(snakemake.wildcards.seed),
)
