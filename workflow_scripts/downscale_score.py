"""downscale_score: the ensemble and intensity scores of one samples file, and its per-test-day statistics."""

from atmo.downscale.scoring import ScoringSettings, day_statistics, score_samples
from atmo.io.atomic import write_json
from atmo.metrics.unit_stats import write_unit_stats
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
settings = build_block(ScoringSettings, snakemake.params.scoring, "downscale.scoring")
write_json(snakemake.output.scores, score_samples(snakemake.input.samples, settings))
write_unit_stats(snakemake.output.units, day_statistics(snakemake.input.samples, settings))
