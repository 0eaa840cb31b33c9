"""summary: every enabled experiment's headline and the run's provenance -> results/summary.md, .html and .json."""

from atmo.runlog import log_to
from atmo.summary.headlines import from_comparisons
from atmo.summary.provenance import provenance
from atmo.summary.render import write_summary

log_to(snakemake.log[0])
parts = [from_comparisons(module, path) for module, path in snakemake.input.items() if module != "targets"]
record = provenance(
    config=snakemake.params.config,
    config_files=snakemake.params.config_files,
    sources=snakemake.params.sources,
    benchmark_dir=snakemake.params.benchmarks,
)
write_summary(parts, record, snakemake.output.markdown, snakemake.output.json, snakemake.output.html)
