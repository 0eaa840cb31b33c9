"""downscale_write_up: the write-up pairs (V3 against V2) on the mean daily maximum, diversity and CRPS."""

from atmo.downscale.write_up import compare_pairs, write_write_up
from atmo.metrics.paired import BootstrapSettings
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
params = snakemake.params
bootstrap = build_block(BootstrapSettings, params.bootstrap, "downscale.bootstrap")
write_write_up(
    compare_pairs(params.unit_stats, params.settings, bootstrap), snakemake.output.json, snakemake.output.markdown
)
