"""downscale_results: the write-up's layout table, the CRPS/FSS/RAPSD table (seed means, intervals, verdicts),
the figures."""

from atmo.downscale.results import write_report
from atmo.runlog import log_to

log_to(snakemake.log[0])
write_report(
    scores=snakemake.params.scores,
    samples=snakemake.params.samples,
    variants=snakemake.params.variants,
    metrics=snakemake.params.metrics,
    history=snakemake.params.history,
    comparisons=snakemake.input.comparisons,
    dry_threshold_mm=snakemake.params.dry_threshold_mm,
    layout_table_md=snakemake.output.write_up_table,
    scores_md=snakemake.output.scores,
    scores_csv=snakemake.output.scores_csv,
    case_png=snakemake.output.case,
    distributions_png=snakemake.output.distributions,
    rapsd_png=snakemake.output.rapsd,
    rank_png=snakemake.output.ranks,
)
