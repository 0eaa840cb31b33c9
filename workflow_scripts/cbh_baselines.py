"""cbh_baselines: climatology, LCL and shadow geometry (raw and bias-calibrated) on one fold's test flight."""

from atmo.cbh.lofo import CLOSED_FORM, write_baselines
from atmo.io.atomic import write_json
from atmo.runlog import log_to

log_to(snakemake.log[0])
facts = write_baselines(
    snakemake.input.cache,
    snakemake.input.folds,
    int(snakemake.wildcards.fold),
    snakemake.params.validation,
    {name: snakemake.output[name] for name in CLOSED_FORM},
)
write_json(snakemake.output.facts, facts)
