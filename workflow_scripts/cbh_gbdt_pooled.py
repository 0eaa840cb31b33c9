"""cbh_gbdt_pooled: the trees under a pooled random k-fold, the leaky protocol reported beside LOFO."""

from atmo.cbh.lofo import write_pooled_gbdt
from atmo.runlog import log_to

log = log_to(snakemake.log[0])
score = write_pooled_gbdt(snakemake.input.cache, snakemake.params.gbdt, snakemake.output.scores)
log.info("GBDT pooled k-fold R2 = %.3f", score)
