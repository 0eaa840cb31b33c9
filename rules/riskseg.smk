"""Riskseg data stage (this file) and models (riskseg_models.smk).

riskseg_fetch (source url only: download the rasters listed in a manifest) -> riskseg_scene (scene
and label GeoTIFFs in the checked standard form, whatever the source) -> riskseg_tiles (spatially
blocked train/val/test tiles in one HDF5 file plus a JSON summary). Models: riskseg_models.smk;
the pixel baselines and the oracle: riskseg_references.smk.
"""


include: "riskseg_inputs.smk"


rule riskseg_fetch:
    input:
        manifest=riskseg_manifest,
    output:
        scene=f"{RESOURCES}/riskseg/scene.tif",
        labels=f"{RESOURCES}/riskseg/labels.tif",
    log:
        f"{LOGS}/riskseg/riskseg_fetch.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_fetch.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=120,
    script:
        "../workflow_scripts/riskseg_fetch.py"


rule riskseg_scene:
    input:
        unpack(riskseg_source_rasters),
    output:
        scene=f"{RISKSEG}/scene.tif",
        labels=f"{RISKSEG}/labels.tif",
    log:
        f"{LOGS}/riskseg/riskseg_scene.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_scene.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=12000,
        runtime=30,
    params:
        source=config_section("riskseg", "source"),
        seed=config_section("riskseg", "seed"),
        synthetic=config_section("riskseg", "synthetic"),
    script:
        "../workflow_scripts/riskseg_scene.py"


rule riskseg_tiles:
    input:
        scene=rules.riskseg_scene.output.scene,
        labels=rules.riskseg_scene.output.labels,
    output:
        tiles=RISKSEG_TILES,
        summary=f"{RISKSEG}/tiles/summary.json",
    log:
        f"{LOGS}/riskseg/riskseg_tiles.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_tiles.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        tiles=config_section("riskseg", "tiles"),
        seed=config_section("riskseg", "seed"),
    script:
        "../workflow_scripts/riskseg_tiles.py"


include: "riskseg_models.smk"
include: "riskseg_references.smk"


register_targets("riskseg", riskseg_targets)
register_comparisons(
    "riskseg",
    riskseg_comparison_unit_stats,
    riskseg_comparison_kinds,
    riskseg_comparison_settings,
)
