"""cbh_baselines: climatology and WP-1 geometry alone on one fold's test flight."""

from atmo.cbh.lofo import write_baselines
from atmo.io.atomic import write_json
from atmo.runlog import log_to

log_to(snakemake.log[0])
facts = write_baselines(
    snakemake.input.cache,
    snakemake.input.folds,
    int(snakemake.wildcards.fold),
    snakemake.params.validation,
    {"climatology": snakemake.output.climatology, "geometry": snakemake.output.geometry},
)
write_json(snakemake.output.facts, facts)
