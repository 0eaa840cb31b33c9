"""Put the configured source's full SEVIR CATALOG.csv in place (generate, download or link)."""

from atmo.nowcast.source import SourceConfig, fetch_catalog
from atmo.runlog import log_to

log = log_to(snakemake.log[0])
cfg = SourceConfig.from_config(
    snakemake.params.source, snakemake.params.seed, snakemake.params.synthetic, snakemake.params.sevir
)
catalog = fetch_catalog(cfg, snakemake.output.catalog)
log.info("%s catalog: %d rows, %d events", cfg.source, len(catalog), catalog["id"].nunique())
