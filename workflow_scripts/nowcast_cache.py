"""Build the nowcast cache of one split (decode, resample, align, rasterise, normalise, cut)."""

from atmo.io.atomic import write_json
from atmo.nowcast.cache import CacheConfig, build_cache
from atmo.nowcast.sevir_files import read_catalog
from atmo.nowcast.split import read_split
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
table = read_split(snakemake.input.split)
event_ids = list(table.loc[table["split"] == snakemake.wildcards.split, "id"])
summary = build_cache(
    read_catalog(snakemake.input.catalog),
    event_ids,
    snakemake.params.data_dir,
    snakemake.output.cache,
    build_block(CacheConfig, snakemake.params.cache, "nowcast.cache"),
    quarantine_dir=snakemake.params.quarantine_dir,
)
write_json(snakemake.output.summary, summary)
