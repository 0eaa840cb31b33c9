"""riskseg_crf: dense-CRF classes of a variant's ensemble probabilities with one CRF setting (wildcard `crf`)."""

from atmo.io.hdf5 import open_hdf5
from atmo.riskseg.choice import read_decision
from atmo.riskseg.crf import CrfSettings, refine_raster
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
settings = build_block(CrfSettings, snakemake.params.crf, f"riskseg.crf.{snakemake.wildcards.crf}")
with open_hdf5(snakemake.input.tiles) as tiles:
    mean, std = tiles.attrs["mean"], tiles.attrs["std"]
refine_raster(
    snakemake.input.probabilities,
    snakemake.input.scene,
    mean,
    std,
    snakemake.output.classes,
    settings,
    read_decision(snakemake.input.decision),
)
