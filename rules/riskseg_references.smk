"""Riskseg references: the pixel baselines and the synthetic scene's oracle, scored like every product.

riskseg_baseline{baseline} (training tiles, tuned on the validation tiles) and riskseg_oracle
(synthetic source only) -> probability rasters -> riskseg_reference_decision{reference} (the run's
decision setting, chosen on the reference's own validation blocks) -> riskseg_reference_score
(test blocks only; per-block unit statistics for the comparisons) -> riskseg_results.
"""


rule riskseg_baseline:
    input:
        scene=rules.riskseg_scene.output.scene,
        tiles=RISKSEG_TILES,
    output:
        probabilities=f"{RISKSEG}/baselines/{{baseline}}/probabilities.tif",
        record=f"{RISKSEG}/baselines/{{baseline}}/fit.json",
    log:
        f"{LOGS}/riskseg/riskseg_baseline/{{baseline}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_baseline/{{baseline}}.tsv"
    wildcard_constraints:
        baseline=RISKSEG_BASELINE_PATTERN,
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        settings=riskseg_baseline_settings,
        seed=config_section("riskseg", "seed"),
    script:
        "../workflow_scripts/riskseg_baseline.py"


rule riskseg_oracle:
    input:
        scene=rules.riskseg_scene.output.scene,
        labels=rules.riskseg_scene.output.labels,
    output:
        probabilities=f"{RISKSEG}/oracle/probabilities.tif",
        record=f"{RISKSEG}/oracle/oracle.json",
    log:
        f"{LOGS}/riskseg/riskseg_oracle.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_oracle.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=12000,
        runtime=120,
    params:
        synthetic=config_section("riskseg", "synthetic"),
        seed=config_section("riskseg", "seed"),
        oracle=config_section("riskseg", "oracle"),
    script:
        "../workflow_scripts/riskseg_oracle.py"


rule riskseg_reference_decision:
    input:
        labels=rules.riskseg_scene.output.labels,
        tiles=RISKSEG_TILES,
        probabilities=riskseg_reference_probabilities,
    output:
        decision=f"{RISKSEG}/reference_decisions/{{reference}}.json",
    log:
        f"{LOGS}/riskseg/riskseg_reference_decision/{{reference}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_reference_decision/{{reference}}.tsv"
    wildcard_constraints:
        reference=RISKSEG_REFERENCE_PATTERN,
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        decision=config_section("riskseg", "decision"),
    script:
        "../workflow_scripts/riskseg_decision.py"


rule riskseg_reference_score:
    input:
        labels=rules.riskseg_scene.output.labels,
        tiles=RISKSEG_TILES,
        products=list(riskseg_reference_products().values()),
        decisions=list(riskseg_reference_decisions().values()),
    output:
        scores=RISKSEG_REFERENCE_SCORES,
        units=list(riskseg_reference_unit_files().values()),
    log:
        f"{LOGS}/riskseg/riskseg_reference_score.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_reference_score.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        products=riskseg_reference_products(),
        decisions=riskseg_reference_decisions(),
        units=riskseg_reference_unit_files(),
    script:
        "../workflow_scripts/riskseg_reference_score.py"
