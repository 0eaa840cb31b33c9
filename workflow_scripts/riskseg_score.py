"""riskseg_score: every product's scores and confusion matrix on the test blocks."""

import pandas as pd

from atmo.io.atomic import write_json, write_text
from atmo.riskseg import CLASS_NAMES
from atmo.riskseg.evaluate import score_products
from atmo.runlog import log_to

log_to(snakemake.log[0])
scores = score_products(
    snakemake.input.labels,
    snakemake.input.tiles,
    snakemake.params.products,
    snakemake.params.decision,
    snakemake.params.decisions,
)
records = [
    {"product": name, "true": CLASS_NAMES[i], **dict(zip(CLASS_NAMES, row, strict=True))}
    for name, values in scores.items()
    for i, row in enumerate(values["confusion"])
]
write_text(snakemake.output.confusion, pd.DataFrame(records).to_csv(index=False))
write_json(snakemake.output.scores, scores)
