"""riskseg_baseline: one pixel classifier (wildcard `baseline`) fitted on the training tiles; its probabilities."""

from atmo.riskseg.baselines import BaselineSettings, write_baseline
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
write_baseline(
    snakemake.input.scene,
    snakemake.input.tiles,
    build_block(BaselineSettings, snakemake.params.settings, f"riskseg.baselines.{snakemake.wildcards.baseline}"),
    snakemake.params.seed,
    snakemake.output.probabilities,
    snakemake.output.record,
)
