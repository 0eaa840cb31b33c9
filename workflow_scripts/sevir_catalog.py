"""Select the events to use (config nowcast.selection) and write them as a SEVIR catalog."""

from atmo.config_blocks import build_block
from atmo.io.sevir import Selection, read_catalog, select_events, write_catalog
from atmo.runlog import log_to

log = log_to(snakemake.log[0])
selection = build_block(Selection, snakemake.params.selection, "nowcast.selection")
selected = select_events(read_catalog(snakemake.input.catalog), selection, snakemake.input.catalog)
write_catalog(snakemake.output.catalog, selected)
