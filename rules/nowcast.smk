"""Nowcast (SEVIR) data stage.

sevir_source_catalog (the source's full CATALOG.csv) -> sevir_catalog (checkpoint: the selected
events; the data files to fetch are known only after it ran) -> sevir_fetch (one job per SEVIR data
file) -> sevir_split (events -> train/val/test) -> sevir_cache (one chunked HDF5 cache per split).
resources/nowcast/sevir/ mirrors SEVIR's layout (CATALOG.csv + data/<type>/<year>/*.h5) whatever
the source.
"""


include: "nowcast_inputs.smk"


rule sevir_source_catalog:
    output:
        catalog=f"{SEVIR_ROOT}/CATALOG.csv",
    log:
        f"{LOGS}/nowcast/sevir_source_catalog.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/sevir_source_catalog.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        source=config_section("nowcast", "source"),
        seed=sevir_source_setting("seed"),
        synthetic=sevir_source_setting("synthetic"),
        sevir=sevir_source_setting("sevir"),
    script:
        "../workflow_scripts/sevir_source_catalog.py"


checkpoint sevir_catalog:
    input:
        catalog=rules.sevir_source_catalog.output.catalog,
    output:
        catalog=f"{RESULTS}/nowcast/catalog.csv",
    log:
        f"{LOGS}/nowcast/sevir_catalog.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/sevir_catalog.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        selection=config_section("nowcast", "selection"),
    script:
        "../workflow_scripts/sevir_catalog.py"


rule sevir_fetch:
    input:
        catalog=rules.sevir_source_catalog.output.catalog,
    output:
        data=f"{SEVIR_ROOT}/data/{{sevir_file}}",
    log:
        f"{LOGS}/nowcast/sevir_fetch/{{sevir_file}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/sevir_fetch/{{sevir_file}}.tsv"
    wildcard_constraints:
        sevir_file=r"(vil|ir069|ir107|lght)/\d{4}/SEVIR_[A-Z0-9]+_[A-Z]+_\d{4}_\d{4}_\d{4}\.h5",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        source=config_section("nowcast", "source"),
        seed=sevir_source_setting("seed"),
        synthetic=sevir_source_setting("synthetic"),
        sevir=sevir_source_setting("sevir"),
    script:
        "../workflow_scripts/sevir_fetch.py"


rule sevir_split:
    input:
        catalog=rules.sevir_catalog.output.catalog,
    output:
        split=f"{RESULTS}/nowcast/split.csv",
    log:
        f"{LOGS}/nowcast/sevir_split.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/sevir_split.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        split=config_section("nowcast", "split"),
        seed=config_section("nowcast", "seed"),
    script:
        "../workflow_scripts/sevir_split.py"


rule sevir_cache:
    input:
        catalog=rules.sevir_catalog.output.catalog,
        split=rules.sevir_split.output.split,
        data=sevir_data_files,
    output:
        cache=f"{RESULTS}/nowcast/cache/{{split}}.h5",
        summary=f"{RESULTS}/nowcast/cache/{{split}}.json",
    log:
        f"{LOGS}/nowcast/sevir_cache/{{split}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/sevir_cache/{{split}}.tsv"
    wildcard_constraints:
        split="train|val|test",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        cache=config_section("nowcast", "cache"),
        data_dir=f"{SEVIR_ROOT}/data",
        # a damaged data file is moved here, so the next run fetches it again
        quarantine_dir=f"{SEVIR_ROOT}/quarantine",
    script:
        "../workflow_scripts/sevir_cache.py"


include: "nowcast_models.smk"


register_targets("nowcast", nowcast_targets)
register_comparisons(
    "nowcast", nowcast_unit_stats, nowcast_kinds, nowcast_comparison_settings
)
