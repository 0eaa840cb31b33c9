"""Each loss term's share of the training loss at the last epoch, per trained nowcast entry."""

from atmo.nowcast.loss_shares import write_loss_shares
from atmo.runlog import log_to

log = log_to(snakemake.log[0])
rows = write_loss_shares(
    snakemake.params.histories, snakemake.params.kinds, snakemake.output.csv, snakemake.output.markdown
)
log.info("loss shares of %d entries written to %s", len(rows), snakemake.output.markdown)
