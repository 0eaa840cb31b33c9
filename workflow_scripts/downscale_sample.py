"""downscale_sample: K samples per test case of one variant's checkpoint (wildcards `epoch`, `mode`).

An epoch after early stopping ended the training samples the last epoch trained, with a warning in the log.
"""

from atmo.downscale.sampling import sample_checkpoint, sampled_checkpoint
from atmo.train import resolve_device, start_job

start_job(snakemake.log[0], snakemake.threads)
sampling = snakemake.params.sampling
mode = snakemake.wildcards.mode
sample_checkpoint(
    fields=snakemake.input.fields,
    checkpoint=sampled_checkpoint(snakemake.input.epochs, int(snakemake.wildcards.epoch)),
    variant=snakemake.wildcards.variant,
    mode=mode,
    k=1 if mode == "posterior_mean" else sampling["k"],
    temperature=sampling["temperature"],
    out_path=snakemake.output.samples,
    batch_size=sampling["batch_size"],
    seed=sampling["seed"],
    device=resolve_device("auto"),
)
