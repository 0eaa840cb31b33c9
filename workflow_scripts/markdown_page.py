"""report_table_page: a module's markdown table as an HTML page the Snakemake report displays."""

from atmo.publish.html import write_markdown_page
from atmo.runlog import log_to

log_to(snakemake.log[0])
title = f"{snakemake.wildcards.module}: {snakemake.wildcards.name}"
write_markdown_page(snakemake.input[0], snakemake.output[0], title=title)
