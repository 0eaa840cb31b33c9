"""Collect every forecaster's scores over its seeds into the nowcast tables (csv, tidy csv, markdown, with the
comparisons' intervals and verdicts, the last lead's computed here) and the two figures."""

from atmo.metrics.paired import BootstrapSettings
from atmo.nowcast.comparison import compare_last_lead
from atmo.nowcast.results import MINUTES_PER_LEAD, write_report
from atmo.publish.comparisons import read_comparisons
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
files = snakemake.params.files
lead = snakemake.params.frames_out
bootstrap = build_block(BootstrapSettings, snakemake.params.bootstrap, "nowcast.bootstrap")
last_record = compare_last_lead(
    files["units"],
    snakemake.params.kinds,
    snakemake.params.comparison,
    bootstrap,
    lead,
    lead * MINUTES_PER_LEAD,
)
table = write_report(
    files["scores"],
    snakemake.params.kinds,
    files["forecasts"],
    snakemake.input.test,
    csv_path=snakemake.output.csv,
    markdown_path=snakemake.output.markdown,
    long_csv_path=snakemake.output.long_csv,
    csi_figure=snakemake.output.csi_by_lead,
    event_figure=snakemake.output.event_panel,
    event_index=snakemake.params.event_index,
    record=read_comparisons(snakemake.input.comparisons),
    last_record=last_record,
)
print(table)  # the workflow prints the measured table at the end of the run
