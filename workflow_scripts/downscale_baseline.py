"""downscale_baseline: bicubic, or bicubic + training-residual noise with K members (wildcard `method`)."""

from atmo.config_blocks import build_block
from atmo.downscale.baselines import BaselineSettings, write_baseline
from atmo.runlog import log_to

log_to(snakemake.log[0])
settings = build_block(BaselineSettings, snakemake.params.baselines, "downscale.baselines")
write_baseline(
    fields=snakemake.input.fields,
    method=snakemake.wildcards.method,
    out_path=snakemake.output.samples,
    k=snakemake.params.k,
    seed=snakemake.params.seed,
    mass_consistent=settings.mass_consistent,
    n_bins=settings.n_bins,
    max_residuals_per_bin=settings.max_residuals_per_bin,
)
