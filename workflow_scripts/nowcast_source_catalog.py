"""Put the configured source's full SEVIR CATALOG.csv in place (generate, download or link)."""

from atmo.io.download import DOWNLOAD_PROGRESS
from atmo.nowcast.source import SourceConfig, fetch_catalog
from atmo.runlog import log_to

log = log_to(snakemake.log[0], console=DOWNLOAD_PROGRESS)
params = snakemake.params
# the transfer keys are left out of params (editing a timeout must not download again): from the config
cfg = SourceConfig.from_config(
    params.source, params.seed, params.synthetic, params.sevir, transfer=snakemake.config["nowcast"]["sevir"]
)
catalog = fetch_catalog(cfg, snakemake.output.catalog)
log.info("%s catalog: %d rows, %d events", cfg.source, len(catalog), catalog["id"].nunique())
