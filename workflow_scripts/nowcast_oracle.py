"""The synthetic generator's own forecast of every test sample: the `oracle` row (no later initiations)."""

from dataclasses import replace

from atmo.config_blocks import build_block
from atmo.nowcast.oracle import write_oracle_forecasts
from atmo.runlog import log_to
from atmo.synth.sevir import SyntheticSevirConfig

log_to(snakemake.log[0])
params = snakemake.params
generator = replace(build_block(SyntheticSevirConfig, params.synthetic, "nowcast.synthetic"), seed=params.seed)
write_oracle_forecasts(snakemake.input.test, generator, snakemake.output.forecast)
