"""Score one forecaster's test forecasts: CSI/POD/FAR/bias/HSS per threshold and lead, pooled CSI, MSE/MAE, LPIPS."""

from atmo.config_blocks import build_block
from atmo.io.atomic import write_json
from atmo.nowcast.scoring import ScoringConfig, score_forecasts
from atmo.runlog import log_to

log_to(snakemake.log[0])
scoring = build_block(ScoringConfig, snakemake.params.scoring, "nowcast.scoring")
scores = score_forecasts(
    snakemake.input.forecast,
    snakemake.input.truth,
    scoring.thresholds,
    pool_sizes=scoring.pool_sizes,
    batch_size=scoring.batch_size,
    lpips=scoring.lpips,
)
write_json(snakemake.output.scores, scores)
