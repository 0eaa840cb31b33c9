"""Assign the selected SEVIR events to train / val / test."""

from atmo.nowcast.sevir_files import read_catalog
from atmo.nowcast.split import SplitConfig, split_events, write_split
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
table = split_events(
    read_catalog(snakemake.input.catalog),
    build_block(SplitConfig, snakemake.params.split, "nowcast.split"),
    snakemake.params.seed,
    where=snakemake.input.catalog,
)
write_split(snakemake.output.split, table)
