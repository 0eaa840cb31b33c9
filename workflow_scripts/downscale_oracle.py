"""downscale_oracle: K draws of every test day from the synthetic generator's own conditional distribution."""

from atmo.downscale.oracle import write_oracle
from atmo.downscale.synthetic.fields import SyntheticDownscaleSettings
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
params = snakemake.params
write_oracle(
    fields=snakemake.input.fields,
    out_path=snakemake.output.samples,
    settings=build_block(SyntheticDownscaleSettings, params.synthetic, "downscale.synthetic"),
    data_seed=params.data_seed,
    k=params.k,
    seed=params.seed,
)
