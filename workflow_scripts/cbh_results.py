"""cbh_results: write-up-format JSON per approach, the score tables and figures, from the prediction files."""

import json
from pathlib import Path

from atmo.cbh.results import fold_facts, pretraining_facts, write_reports
from atmo.runlog import log_to

log_to(snakemake.log[0])
approaches = {
    name: (kind, {seed: {int(k): path for k, path in by_fold.items()} for seed, by_fold in files.items()})
    for name, (kind, files) in snakemake.params.predictions.items()
}
baselines, ridge = (
    [json.loads(Path(path).read_text()) for path in paths]
    for paths in (snakemake.input.baseline_facts, snakemake.input.ridge_facts)
)
extra = {
    **json.loads(Path(snakemake.input.pooled).read_text()),
    **fold_facts(baselines, ridge),
    **pretraining_facts(
        {
            fold: json.loads(Path(path).read_text())
            for fold, path in zip(snakemake.params.mae_folds, snakemake.input.mae_metrics, strict=True)
        }
    ),
    "mae_pretraining": snakemake.params.pretraining,
    "validation_method": snakemake.params.validation["method"],
}
table = write_reports(
    approaches,
    snakemake.input.folds,
    snakemake.input.comparisons,
    json_dir=Path(snakemake.output.all_json).parent,
    all_json=snakemake.output.all_json,
    markdown=snakemake.output.table,
    long_csv=snakemake.output.long_csv,
    figure_scatter=snakemake.output.scatter,
    figure_bars=snakemake.output.bars,
    extra=extra,
)
print(table)
