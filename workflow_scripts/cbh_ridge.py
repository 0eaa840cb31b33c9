"""cbh_ridge: ridge regression on the physical features, its penalty chosen inside the training flights, one fold."""

from atmo.cbh.lofo import write_ridge
from atmo.io.atomic import write_json
from atmo.runlog import log_to

log_to(snakemake.log[0])
facts = write_ridge(
    snakemake.input.cache,
    snakemake.input.folds,
    int(snakemake.wildcards.fold),
    snakemake.params.validation,
    snakemake.params.ridge,
    snakemake.output.predictions,
)
write_json(snakemake.output.facts, facts)
