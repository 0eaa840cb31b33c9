"""Choose the `nowcast.loss_choice` weight from the candidates' validation scores (never the test split)."""

from atmo.nowcast.loss_choice import choose, loss_choice_settings, write_choice
from atmo.runlog import log_to

log = log_to(snakemake.log[0])
choice = loss_choice_settings(snakemake.params.choice)
record = choose(dict(zip(choice.labels(), snakemake.input.metrics, strict=True)), choice)
write_choice(snakemake.output.choice, record)
log.info("chose %s = %g on %s: %s", record["key"], record["value"], record["monitor"], record["candidates"])
