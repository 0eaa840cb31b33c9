"""Put the configured source's full SEVIR CATALOG.csv in place (generate, download or link)."""

from atmo.io.download import DOWNLOAD_PROGRESS, transfer_settings
from atmo.nowcast.source import SourceConfig, fetch_catalog
from atmo.runlog import log_to

log = log_to(snakemake.log[0], console=DOWNLOAD_PROGRESS)
# the transfer keys are left out of params (editing a timeout must not download again): read here
sevir = {**snakemake.params.sevir, **transfer_settings(snakemake.config["nowcast"]["sevir"])}
cfg = SourceConfig.from_config(snakemake.params.source, snakemake.params.seed, snakemake.params.synthetic, sevir)
catalog = fetch_catalog(cfg, snakemake.output.catalog)
log.info("%s catalog: %d rows, %d events", cfg.source, len(catalog), catalog["id"].nunique())
