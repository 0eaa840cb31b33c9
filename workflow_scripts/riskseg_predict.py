"""riskseg_predict: class probabilities of one (variant, seed) over the scene from its head, with TTA or without."""

from atmo.io.hdf5 import open_hdf5
from atmo.riskseg.inference import InferenceSettings, predict_probabilities
from atmo.riskseg.training import load_variant
from atmo.settings import build_block
from atmo.train import resolve_device, start_job

start_job(snakemake.log[0], snakemake.threads)
settings = build_block(
    InferenceSettings, {**snakemake.params.inference, "tta": snakemake.wildcards.mode == "tta"}, "riskseg.inference"
)
device = resolve_device("auto")
model = load_variant(snakemake.input.model, snakemake.params.weights_of, device)
with open_hdf5(snakemake.input.tiles) as tiles:
    mean, std = tiles.attrs["mean"], tiles.attrs["std"]
predict_probabilities(
    model,
    snakemake.input.scene,
    mean,
    std,
    snakemake.output.probabilities,
    settings,
    device,
    expected_bands=model.in_channels,
    band_names=model.band_names,
    head=snakemake.params.head,
)
