"""Each loss term's share of the training loss at the last epoch, per trained nowcast entry."""

from atmo.nowcast.loss_shares import write_loss_shares
from atmo.runlog import log_to

log = log_to(snakemake.log[0])
labels = [(name, seed) for name, seeds in snakemake.params.seeds.items() for seed in seeds]
histories = {}
for (name, seed), path in zip(labels, snakemake.input.histories, strict=True):
    histories.setdefault(name, {})[seed] = path
rows = write_loss_shares(histories, snakemake.params.kinds, snakemake.output.csv, snakemake.output.markdown)
log.info("loss shares of %d entries written to %s", len(rows), snakemake.output.markdown)
