"""downscale_baseline: bicubic, bicubic + training-residual noise or RainFARM with K members (wildcard `method`)."""

from dataclasses import asdict

from atmo.downscale.baselines import BaselineSettings, write_baseline
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
settings = build_block(BaselineSettings, snakemake.params.baselines, "downscale.baselines")
write_baseline(
    fields=snakemake.input.fields,
    method=snakemake.wildcards.method,
    out_path=snakemake.output.samples,
    k=snakemake.params.k,
    seed=snakemake.params.seed,
    **asdict(settings),
)
