from snakemake.utils import min_version

min_version("9.0")


include: "rules/common.smk"
include: "rules/nowcast.smk"
include: "rules/cbh.smk"
include: "rules/riskseg.smk"
include: "rules/downscale.smk"


rule all:
    default_target: True
    input:
        all_targets,
