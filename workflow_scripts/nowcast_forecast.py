"""Forecast the test split with one trained model (wildcard `name`), on the training device."""

from atmo.nowcast.forecast import model_predictor, write_forecasts
from atmo.nowcast.training import load_nowcast_model
from atmo.train import resolve_device, start_job

start_job(snakemake.log[0], snakemake.threads)
device = resolve_device(snakemake.params.device)
predict = model_predictor(load_nowcast_model(snakemake.input.model, device), device)
write_forecasts(snakemake.input.test, snakemake.output.forecast, predict, label=snakemake.wildcards.name)
