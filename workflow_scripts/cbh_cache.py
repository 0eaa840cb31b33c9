"""cbh_cache: frames, labels, ERA5 and geometry features of every flight in one HDF5 file."""

from atmo.cbh.cache import CacheSettings, build_cache
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0])
cache = build_block(CacheSettings, snakemake.params.cache, "cbh.cache")
build_cache(
    snakemake.output.cache,
    [flight["name"] for flight in snakemake.params.flights],
    snakemake.input.flights,
    snakemake.input.geometry,
    snakemake.input.era5,
    snakemake.params.variables,
    cache.image_size,
)
log.info("wrote %s", snakemake.output.cache)
