"""Forecast the test split with an untrained baseline (wildcard `name`: persistence, optical_flow) on the CPU."""

from atmo.nowcast.forecast import baseline_predictor, write_forecasts
from atmo.runlog import log_to

log_to(snakemake.log[0])
predict = baseline_predictor(snakemake.wildcards.name, snakemake.params.frames_out)
write_forecasts(snakemake.input.test, snakemake.output.forecast, predict, label=snakemake.wildcards.name)
