"""Cut the riskseg scene into spatially blocked train/val/test tiles (HDF5) plus a JSON summary."""

from atmo.riskseg.tiles import TilingSettings, build_tiles
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0])
summary = build_tiles(
    snakemake.input.scene,
    snakemake.input.labels,
    snakemake.output.tiles,
    snakemake.output.summary,
    build_block(TilingSettings, snakemake.params.tiles, "riskseg.tiles"),
    snakemake.params.seed,
)
log.info("tiles per split: %s", {split: entry["n_tiles"] for split, entry in summary["splits"].items()})
