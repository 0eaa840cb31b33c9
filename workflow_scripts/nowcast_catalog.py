"""Select the events to use (config nowcast.selection) and write them as a SEVIR catalog.

For a real source it first logs, on the console too, what the fetch jobs after it will download and
what the caches will take: this checkpoint is the first job that knows the selected events.
"""

from atmo.nowcast.cache import CacheConfig
from atmo.nowcast.sevir_files import Selection, read_catalog, select_events, write_catalog
from atmo.nowcast.volume import expected_volume
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0], console=("atmo",))
selection = build_block(Selection, snakemake.params.selection, "nowcast.selection")
catalog = read_catalog(snakemake.input.catalog)
selected = select_events(catalog, selection, snakemake.input.catalog)
nowcast = snakemake.config["nowcast"]
if nowcast["source"] != "synthetic":
    # from the config, not params: a log line must not rerun this checkpoint (and every job after it)
    cache = build_block(CacheConfig, nowcast["cache"], "nowcast.cache")
    log.info("%s", expected_volume(catalog, selected, cache).describe())
write_catalog(snakemake.output.catalog, selected)
