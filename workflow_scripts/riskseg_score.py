"""riskseg_score: every product's scores, confusion matrix and per-test-block unit statistics."""

import pandas as pd

from atmo.io.atomic import write_json, write_text
from atmo.metrics.unit_stats import write_unit_stats
from atmo.riskseg import CLASS_NAMES
from atmo.riskseg.choice import read_decision
from atmo.riskseg.decision import Decision
from atmo.riskseg.evaluate import score_products
from atmo.runlog import log_to

log_to(snakemake.log[0])
decisions = {product: read_decision(path) for product, path in snakemake.params.decisions.items()}
decisions.update({product: Decision(rule) for product, rule in snakemake.params.fixed_decisions.items()})
scores, units = score_products(
    snakemake.input.labels,
    snakemake.input.tiles,
    snakemake.params.products,
    read_decision(snakemake.input.decision),
    decisions,
)
records = [
    {"product": name, "true": CLASS_NAMES[i], **dict(zip(CLASS_NAMES, row, strict=True))}
    for name, values in scores.items()
    for i, row in enumerate(values["confusion"])
]
for name, path in snakemake.params.units.items():
    write_unit_stats(path, units[name])
write_text(snakemake.output.confusion, pd.DataFrame(records).to_csv(index=False))
write_json(snakemake.output.scores, scores)
