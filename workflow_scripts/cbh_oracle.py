"""cbh_oracle: the synthetic generator's noiseless cloud base of one fold's test samples (the `oracle` row)."""

from atmo.cbh.oracle import write_oracle
from atmo.runlog import log_to

log_to(snakemake.log[0])
write_oracle(
    snakemake.input.cache,
    snakemake.input.folds,
    int(snakemake.wildcards.fold),
    snakemake.params.validation,
    snakemake.input.flight,
    snakemake.output.predictions,
)
