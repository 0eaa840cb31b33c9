"""Collect every forecaster's scores over its seeds into the nowcast tables (csv, tidy csv, markdown, with the
comparisons' intervals and verdicts, the last lead's computed here) and the two figures."""

from atmo.metrics.paired import BootstrapSettings
from atmo.nowcast.comparison import compare_last_lead
from atmo.nowcast.results import MINUTES_PER_LEAD, write_report
from atmo.publish import by_entry_and_seed
from atmo.publish.comparisons import read_comparisons
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])


def by_name(paths):
    """``{name: {seed: path}}`` from the rule's flat input list (in the `seeds` param's order)."""
    return by_entry_and_seed(snakemake.params.seeds, paths)


lead = snakemake.params.frames_out
bootstrap = build_block(BootstrapSettings, snakemake.params.bootstrap, "nowcast.bootstrap")
last_record = compare_last_lead(
    by_name(snakemake.input.units),
    snakemake.params.kinds,
    snakemake.params.comparison,
    bootstrap,
    lead,
    lead * MINUTES_PER_LEAD,
)
table = write_report(
    by_name(snakemake.input.scores),
    snakemake.params.kinds,
    by_name(snakemake.input.forecasts),
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
