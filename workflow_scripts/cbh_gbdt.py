"""cbh_gbdt: gradient-boosted trees on the physical features, one fold."""

from atmo.cbh.lofo import write_gbdt
from atmo.runlog import log_to

log_to(snakemake.log[0])
write_gbdt(
    snakemake.input.cache,
    snakemake.input.folds,
    int(snakemake.wildcards.fold),
    snakemake.params.validation,
    snakemake.params.gbdt,
    snakemake.output.predictions,
)
