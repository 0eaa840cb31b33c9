"""riskseg_oversample: duplicate and synthesise class-1 rich training tiles for one scheme (wildcard `scheme`)."""

from atmo.riskseg.oversample import OversamplingSettings, oversample_tiles
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
where = f"riskseg.oversampling.{snakemake.wildcards.scheme}"
oversample_tiles(
    snakemake.input.tiles,
    snakemake.output.tiles,
    snakemake.output.summary,
    build_block(OversamplingSettings, snakemake.params.settings, where),
    where=where,
)
