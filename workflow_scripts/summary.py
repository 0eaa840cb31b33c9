"""summary: every enabled experiment's headline and the run's provenance -> results/summary.md, .html and .json."""

from atmo.runlog import log_to
from atmo.summary import headlines
from atmo.summary.provenance import provenance
from atmo.summary.render import write_summary

log_to(snakemake.log[0])
found = dict(snakemake.input)
parts = []
if "nowcast" in found:
    parts.append(headlines.nowcast(snakemake.input.nowcast))
if "cbh" in found:
    parts.append(headlines.cbh(snakemake.input.cbh))
if "riskseg" in found:
    roles = snakemake.params.riskseg
    parts.append(headlines.riskseg(snakemake.input.riskseg, roles["comparison"], roles["crf"]))
if "downscale" in found:
    parts.append(headlines.downscale(snakemake.params.downscale_scores))
record = provenance(
    config=snakemake.params.config,
    config_files=snakemake.params.config_files,
    sources=snakemake.params.sources,
    benchmark_dir=snakemake.params.benchmarks,
)
write_summary(parts, record, snakemake.output.markdown, snakemake.output.json, snakemake.output.html)
