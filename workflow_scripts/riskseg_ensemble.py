"""riskseg_ensemble: mean class probabilities over a variant's seeds, their predictive entropy and the classes."""

from atmo.riskseg.choice import read_decision
from atmo.riskseg.inference import ensemble_probabilities
from atmo.runlog import log_to

log_to(snakemake.log[0])
ensemble_probabilities(
    list(snakemake.input.probabilities),
    snakemake.output.probabilities,
    snakemake.output.uncertainty,
    snakemake.output.classes,
    decision=read_decision(snakemake.input.decision),
)
