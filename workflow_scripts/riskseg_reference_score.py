"""riskseg_reference_score: the baselines' and the oracle's scores and per-test-block unit statistics."""

from atmo.io.atomic import write_json
from atmo.metrics.unit_stats import write_unit_stats
from atmo.riskseg.choice import read_decision
from atmo.riskseg.evaluate import score_products
from atmo.runlog import log_to

log_to(snakemake.log[0])
scores, units = score_products(
    snakemake.input.labels,
    snakemake.input.tiles,
    snakemake.params.products,
    decisions={name: read_decision(path) for name, path in snakemake.params.decisions.items()},
)
for name, path in snakemake.params.units.items():
    write_unit_stats(path, units[name])
write_json(snakemake.output.scores, scores)
