"""Collect every forecaster's scores into the nowcast tables (csv, tidy csv, markdown) and the two figures."""

from atmo.nowcast.report import write_report
from atmo.runlog import log_to

log_to(snakemake.log[0])
names = snakemake.params.names
table = write_report(
    dict(zip(names, snakemake.input.scores, strict=True)),
    snakemake.params.kinds,
    dict(zip(names, snakemake.input.forecasts, strict=True)),
    snakemake.input.test,
    csv_path=snakemake.output.csv,
    markdown_path=snakemake.output.markdown,
    long_csv_path=snakemake.output.long_csv,
    csi_figure=snakemake.output.csi_by_lead,
    event_figure=snakemake.output.event_panel,
    event_index=snakemake.params.event_index,
)
print(table)  # the workflow prints the measured table at the end of the run
