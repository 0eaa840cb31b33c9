"""Nowcast (SEVIR) data stage.

nowcast_source_catalog (the source's full CATALOG.csv) -> nowcast_catalog (checkpoint: the selected
events; the data files to fetch are known only after it ran) -> nowcast_fetch (one job per SEVIR data
file) -> nowcast_split (events -> train/val/test) -> nowcast_cache (one chunked HDF5 cache per split).
resources/nowcast/sevir/ mirrors SEVIR's layout (CATALOG.csv + data/<type>/<year>/*.h5) whatever
the source.
"""


include: "nowcast_inputs.smk"


rule nowcast_source_catalog:
    output:
        catalog=f"{SEVIR_ROOT}/CATALOG.csv",
    log:
        f"{LOGS}/nowcast/nowcast_source_catalog.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_source_catalog.tsv"
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
        "../workflow_scripts/nowcast_source_catalog.py"


checkpoint nowcast_catalog:
    input:
        catalog=rules.nowcast_source_catalog.output.catalog,
    output:
        catalog=f"{RESULTS}/nowcast/catalog.csv",
    log:
        f"{LOGS}/nowcast/nowcast_catalog.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_catalog.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        selection=config_section("nowcast", "selection"),
    script:
        "../workflow_scripts/nowcast_catalog.py"


rule nowcast_fetch:
    input:
        catalog=rules.nowcast_source_catalog.output.catalog,
    output:
        data=f"{SEVIR_ROOT}/data/{{sevir_file}}",
    log:
        f"{LOGS}/nowcast/nowcast_fetch/{{sevir_file}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_fetch/{{sevir_file}}.tsv"
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
        "../workflow_scripts/nowcast_fetch.py"


rule nowcast_split:
    input:
        catalog=rules.nowcast_catalog.output.catalog,
    output:
        split=f"{RESULTS}/nowcast/split.csv",
    log:
        f"{LOGS}/nowcast/nowcast_split.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_split.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        split=config_section("nowcast", "split"),
        seed=config_section("nowcast", "seed"),
    script:
        "../workflow_scripts/nowcast_split.py"


rule nowcast_cache:
    input:
        catalog=rules.nowcast_catalog.output.catalog,
        split=rules.nowcast_split.output.split,
        data=sevir_data_files,
    output:
        cache=f"{RESULTS}/nowcast/cache/{{split}}.h5",
        summary=f"{RESULTS}/nowcast/cache/{{split}}.json",
    log:
        f"{LOGS}/nowcast/nowcast_cache/{{split}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_cache/{{split}}.tsv"
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
        "../workflow_scripts/nowcast_cache.py"


include: "nowcast_models.smk"


register_targets("nowcast", nowcast_targets)
register_comparisons(
    "nowcast", nowcast_unit_stats, nowcast_kinds, nowcast_comparison_settings
)
