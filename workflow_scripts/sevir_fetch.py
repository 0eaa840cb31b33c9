"""Fetch (generate, download or link) one SEVIR data file and check it against the catalog."""

from pathlib import Path

from atmo.io.download import DOWNLOAD_PROGRESS, transfer_settings
from atmo.io.sevir import read_catalog
from atmo.nowcast.source import SourceConfig, fetch_data_file
from atmo.runlog import log_to

log = log_to(snakemake.log[0], console=DOWNLOAD_PROGRESS)
# the transfer keys are left out of params (editing a timeout must not download again): read here
sevir = {**snakemake.params.sevir, **transfer_settings(snakemake.config["nowcast"]["sevir"])}
cfg = SourceConfig.from_config(snakemake.params.source, snakemake.params.seed, snakemake.params.synthetic, sevir)
path = fetch_data_file(
    cfg, read_catalog(snakemake.input.catalog), snakemake.wildcards.sevir_file, snakemake.output.data
)
log.info("%s ready (%d bytes)", path, Path(path).stat().st_size)
