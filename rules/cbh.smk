"""CBH data stage.

cbh_flights (one job per flight: synthetic, or the validated local campaign file) -> cbh_era5 (one
ERA5 NetCDF for all flights: synthetic, or CDS requests) -> cbh_geometry (per flight: shadow-geometry
features) -> cbh_cache (frames, labels, ERA5 and geometry features of every flight in one HDF5) -> the models
(cbh_models.smk).
"""


include: "cbh_inputs.smk"


wildcard_constraints:
    flight=r"[0-3][0-9][A-Z][a-z][a-z][0-9][0-9]",
    fold=r"\d+",


rule cbh_flights:
    output:
        flight=f"{RESOURCES}/cbh/flights/{{flight}}.h5",
    log:
        f"{LOGS}/cbh/cbh_flights/{{flight}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_flights/{{flight}}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        flights=config_section("cbh", "flights"),
        source=config_section("cbh", "source"),
        seed=config_section("cbh", "seed"),
        synthetic=config_section("cbh", "synthetic"),
        local_dir=config_section("cbh", "local_dir"),
    script:
        "../workflow_scripts/cbh_flights.py"


rule cbh_era5:
    input:
        flights=CBH_FLIGHT_FILES,
    output:
        era5=f"{RESOURCES}/cbh/era5.nc",
    log:
        f"{LOGS}/cbh/cbh_era5.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_era5.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        era5=config_section("cbh", "era5"),
        seed=config_section("cbh", "seed"),
    script:
        "../workflow_scripts/cbh_era5.py"


rule cbh_geometry:
    input:
        flight=rules.cbh_flights.output.flight,
    output:
        features=f"{CBH}/geometry/{{flight}}.h5",
    log:
        f"{LOGS}/cbh/cbh_geometry/{{flight}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_geometry/{{flight}}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        geometry=config_section("cbh", "geometry"),
    script:
        "../workflow_scripts/cbh_geometry.py"


rule cbh_cache:
    input:
        flights=CBH_FLIGHT_FILES,
        geometry=CBH_GEOMETRY_FILES,
        era5=rules.cbh_era5.output.era5,
    output:
        cache=CBH_CACHE,
    log:
        f"{LOGS}/cbh/cbh_cache.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_cache.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        flights=config_section("cbh", "flights"),
        variables=config_section("cbh", "era5", "variables"),
        cache=config_section("cbh", "cache"),
    script:
        "../workflow_scripts/cbh_cache.py"


include: "cbh_models.smk"


register_targets("cbh", cbh_targets)
