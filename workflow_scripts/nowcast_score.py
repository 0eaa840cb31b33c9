"""Score one forecaster's test forecasts (wildcards `name`, `seed`): CSI/POD/FAR/bias/HSS per threshold and lead,
pooled CSI, MSE/MAE, LPIPS; and its per-episode statistics for the paired comparisons."""

from atmo.io.atomic import write_json
from atmo.metrics.unit_stats import write_unit_stats
from atmo.nowcast.scoring import ScoringConfig, score_forecasts
from atmo.nowcast.sevir_files import read_catalog
from atmo.nowcast.units import event_units, unit_statistics
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
scoring = build_block(ScoringConfig, snakemake.params.scoring, "nowcast.scoring")
scores = score_forecasts(
    snakemake.input.forecast,
    snakemake.input.truth,
    scoring.thresholds,
    pool_sizes=scoring.pool_sizes,
    unreached_threshold=scoring.unreached_threshold,
    batch_size=scoring.batch_size,
    lpips=scoring.lpips,
)
units = unit_statistics(
    snakemake.input.forecast,
    snakemake.input.truth,
    event_units(read_catalog(snakemake.input.catalog)),
    scoring.thresholds,
    batch_size=scoring.batch_size,
)
write_unit_stats(snakemake.output.units, units)
write_json(snakemake.output.scores, scores)
