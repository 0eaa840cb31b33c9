"""riskseg_decision: the decision rule (argmax or ordinal median), chosen on the validation blocks only."""

from atmo.riskseg.choice import choose_decision, write_decision
from atmo.runlog import log_to

log_to(snakemake.log[0])
record = choose_decision(
    snakemake.input.labels,
    snakemake.input.tiles,
    list(snakemake.input.probabilities),
    snakemake.params.decision,
)
write_decision(snakemake.output.decision, record)
