"""<module>_comparisons: every comparison an experiment names, as paired bootstrap intervals and verdicts.

One script for every experiment: the module's ``atmo.<module>.comparison.plan`` says which metric,
which units and which pairs; the shared layer (atmo.publish.comparisons) does the rest.
"""

import importlib

from atmo.metrics.paired import BootstrapSettings
from atmo.publish.comparisons import compare, read_entries, write_comparisons
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
module = snakemake.params.module
bootstrap = build_block(BootstrapSettings, snakemake.params.bootstrap, f"{module}.bootstrap")
plan = importlib.import_module(f"atmo.{module}.comparison").plan(snakemake.params.settings, bootstrap)
record = compare(read_entries(snakemake.params.unit_stats, snakemake.params.kinds), plan)
write_comparisons(record, snakemake.output.json, snakemake.output.markdown)
