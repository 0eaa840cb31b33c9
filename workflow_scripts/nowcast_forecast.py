"""Forecast the test split with a trained model (input `model`) or a baseline (param `baseline`)."""

from atmo.nowcast.forecast import baseline_predictor, model_predictor, write_forecasts
from atmo.nowcast.training import load_trained_model
from atmo.runlog import log_to
from atmo.train import resolve_device

log_to(snakemake.log[0])
name = snakemake.wildcards.name
if hasattr(snakemake.input, "model"):  # Namedlist: `in` would test values, not names
    device = resolve_device(snakemake.params.device)
    predict = model_predictor(load_trained_model(snakemake.input.model, device), device)
else:
    predict = baseline_predictor(name, snakemake.params.frames_out)
write_forecasts(snakemake.input.test, snakemake.output.forecast, predict, label=name)
