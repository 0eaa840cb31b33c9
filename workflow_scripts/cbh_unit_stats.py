"""cbh_unit_stats: one approach's (wildcard `approach`) per-sample errors of one seed (`seed`), every test flight."""

from atmo.cbh.comparison import write_unit_statistics
from atmo.runlog import log_to

log_to(snakemake.log[0])
write_unit_statistics(snakemake.input.folds, list(snakemake.input.predictions), snakemake.output.unit_stats)
