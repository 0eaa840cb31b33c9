"""riskseg_results: scores tables, success report, measured ablation table and the figures."""

from atmo.riskseg.results import write_report
from atmo.runlog import log_to

log_to(snakemake.log[0])
write_report(
    scores_path=snakemake.input.scores,
    reference_scores_path=snakemake.input.references,
    comparisons_path=snakemake.input.comparisons,
    decision_paths=snakemake.params.decisions,
    context=snakemake.params.context,
    targets=snakemake.params.targets,
    baseline_path=snakemake.params.baseline_metrics,
    oversampling_paths=snakemake.params.oversampling,
    scores_md=snakemake.output.scores,
    scores_csv=snakemake.output.scores_csv,
    success_md=snakemake.output.success,
    ablation_md=snakemake.output.ablation,
    confusion_png=snakemake.output.confusion,
    maps_png=snakemake.output.maps,
    maps={key: snakemake.input[key] for key in ("scene", "labels", "ensemble", "uncertainty", "crf", "tiles")},
)
