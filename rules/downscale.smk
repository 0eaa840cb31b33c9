"""Downscale data stage.

downscale_fetch (source: url only; one job per manifest file, into resources/ because downloads
are expensive and independent of every setting) -> downscale_fields (synthetic generation, or
validation and concatenation of the local / downloaded archive files, plus the time split) ->
results/downscale/fields.h5 in the format of atmo/downscale/field_files.py, and fields.json (statistics).
The fields file lives in results/ because its content depends on the config (seed, size, split).
"""


include: "downscale_inputs.smk"


rule downscale_fetch:
    output:
        data=f"{DOWNSCALE_RAW}/{{file}}",
    log:
        f"{LOGS}/downscale/downscale_fetch/{{file}}.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_fetch/{{file}}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=500,
        runtime=240,
    params:
        entry=downscale_manifest_entry,
    script:
        "../workflow_scripts/downscale_fetch.py"


rule downscale_fields:
    input:
        sources=downscale_source_files,
    output:
        fields=f"{RESULTS}/downscale/fields.h5",
        summary=f"{RESULTS}/downscale/fields.json",
    log:
        f"{LOGS}/downscale/downscale_fields.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_fields.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        source=config_section("downscale", "source"),
        seed=config_section("downscale", "seed"),
        synthetic=config_section("downscale", "synthetic"),
        split=config_section("downscale", "split"),
    script:
        "../workflow_scripts/downscale_fields.py"


include: "downscale_models.smk"


register_targets("downscale", downscale_targets)
register_comparisons(
    "downscale",
    downscale_unit_stats,
    downscale_comparison_kinds,
    downscale_comparison_settings,
)
