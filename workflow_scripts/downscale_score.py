"""downscale_score: the ensemble and intensity scores of one samples file against the test truth."""

from atmo.config_blocks import build_block
from atmo.downscale.scoring import ScoringSettings, score_samples
from atmo.io.atomic import write_json
from atmo.runlog import log_to

log_to(snakemake.log[0])
settings = build_block(ScoringSettings, snakemake.params.scoring, "downscale.scoring")
write_json(snakemake.output.scores, score_samples(snakemake.input.samples, settings))
