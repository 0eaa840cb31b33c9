"""riskseg_decision: a variant's decision rule and thresholds, fitted on the validation blocks only."""

from atmo.riskseg.choice import choose_decision, write_decision
from atmo.riskseg.decision_fit import DecisionSettings
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
settings = build_block(DecisionSettings, snakemake.params.decision, "riskseg.decision")
record = choose_decision(
    snakemake.input.labels,
    snakemake.input.tiles,
    list(snakemake.input.probabilities),
    settings,
)
write_decision(snakemake.output.decision, record)
