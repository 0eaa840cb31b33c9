"""The synthetic generator's own forecast of every test sample: the `oracle` row (no later initiations)."""

from atmo.nowcast.oracle import write_oracle_forecasts
from atmo.nowcast.source import SourceConfig
from atmo.runlog import log_to

log_to(snakemake.log[0])
params = snakemake.params
generator = SourceConfig.from_config("synthetic", params.seed, params.synthetic, None).synthetic
write_oracle_forecasts(snakemake.input.test, generator, snakemake.output.forecast)
