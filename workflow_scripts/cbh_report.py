"""cbh_report: seed-format JSON per approach, the comparison table and figures, from the prediction files."""

import json
from pathlib import Path

from atmo.cbh.report import write_reports
from atmo.runlog import log_to

log_to(snakemake.log[0])
approaches = {}
for name, kind in snakemake.params.approaches.items():
    files = sorted(p for p in snakemake.input.predictions if Path(p).parent.name == name)
    approaches[name] = (kind, {int(Path(p).stem.removeprefix("fold")): p for p in files})
filled = [json.loads(Path(path).read_text())["geometry_filled_fraction"] for path in snakemake.input.baseline_facts]
extra = {
    **json.loads(Path(snakemake.input.pooled).read_text()),
    "geometry_no_shadow_share_per_fold": ", ".join(f"{share:.2f}" for share in filled),
    "mae_pretraining": snakemake.params.pretraining,
    "validation_method": snakemake.params.validation["method"],
}
table = write_reports(
    approaches,
    snakemake.input.folds,
    json_dir=Path(snakemake.output.all_json).parent,
    all_json=snakemake.output.all_json,
    markdown=snakemake.output.table,
    figure_scatter=snakemake.output.scatter,
    figure_bars=snakemake.output.bars,
    extra=extra,
)
print(table)
