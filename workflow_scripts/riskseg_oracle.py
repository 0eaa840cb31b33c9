"""riskseg_oracle: the synthetic scene's Bayes-optimal class probabilities given its covariates (the `oracle` row)."""

from atmo.riskseg.oracle import OracleSettings, write_oracle
from atmo.riskseg.synthetic.scene import SyntheticSceneSettings
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
write_oracle(
    snakemake.input.scene,
    snakemake.input.labels,
    build_block(SyntheticSceneSettings, snakemake.params.synthetic, "riskseg.synthetic"),
    snakemake.params.seed,
    build_block(OracleSettings, snakemake.params.oracle, "riskseg.oracle"),
    snakemake.output.probabilities,
    snakemake.output.record,
)
