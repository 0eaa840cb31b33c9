"""Fetch (generate, download or link) one SEVIR data file and check it against the catalog."""

from pathlib import Path

from atmo.io.download import DOWNLOAD_PROGRESS
from atmo.nowcast.sevir_files import read_catalog
from atmo.nowcast.source import SourceConfig, fetch_data_file
from atmo.runlog import log_to

log = log_to(snakemake.log[0], console=DOWNLOAD_PROGRESS)
params = snakemake.params
# the transfer keys are left out of params (editing a timeout must not download again): from the config
cfg = SourceConfig.from_config(
    params.source, params.seed, params.synthetic, params.sevir, transfer=snakemake.config["nowcast"]["sevir"]
)
path = fetch_data_file(
    cfg, read_catalog(snakemake.input.catalog), snakemake.wildcards.sevir_file, snakemake.output.data
)
log.info("%s ready (%d bytes)", path, Path(path).stat().st_size)
