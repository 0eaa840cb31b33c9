"""Riskseg models: oversampling -> one training job per (variant, seed) -> georeferenced rasters -> scores.

riskseg_oversample{scheme} (training tiles only) -> riskseg_train{variant}{seed} (GPU) ->
riskseg_predict{variant}{seed}{mode} (sliding windows, mode plain or tta, the variant's head; a
variant with weights_from predicts with another's models; GPU) -> riskseg_decision{variant}
(argmax, ordinal median or cumulative thresholds, fitted on the validation blocks only) ->
riskseg_ensemble{variant} (mean probabilities, entropy, classes) -> riskseg_crf{variant}{crf}
(tiled dense CRF, Potts or ordinal) -> riskseg_score (test blocks only; per-block unit
statistics) -> comparisons (rules/comparisons.smk) -> riskseg_results.
"""


rule riskseg_oversample:
    input:
        tiles=RISKSEG_TILES,
    output:
        tiles=f"{RISKSEG}/oversampled/{{scheme}}.h5",
        summary=f"{RISKSEG}/oversampled/{{scheme}}.json",
    log:
        f"{LOGS}/riskseg/riskseg_oversample/{{scheme}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_oversample/{{scheme}}.tsv"
    wildcard_constraints:
        scheme=RISKSEG_SCHEME_PATTERN,
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=riskseg_scheme_settings,
    script:
        "../workflow_scripts/riskseg_oversample.py"


rule riskseg_train:
    input:
        tiles=RISKSEG_TILES,
        train_tiles=riskseg_train_tiles,
    output:
        model=f"{RISKSEG}/models/{{variant}}/seed{{seed}}/model.pt",
        history=f"{RISKSEG}/models/{{variant}}/seed{{seed}}/history.csv",
        metrics=f"{RISKSEG}/models/{{variant}}/seed{{seed}}/metrics.json",
    log:
        f"{LOGS}/riskseg/riskseg_train/{{variant}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_train/{{variant}}/seed{{seed}}.tsv"
    wildcard_constraints:
        variant=RISKSEG_TRAINED_PATTERN,
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        spec=riskseg_training_spec,
        train=train_section("riskseg"),
        augment=config_section("riskseg", "augment"),
    script:
        "../workflow_scripts/riskseg_train.py"


rule riskseg_predict:
    input:
        scene=rules.riskseg_scene.output.scene,
        tiles=RISKSEG_TILES,
        model=riskseg_model,
    output:
        probabilities=f"{RISKSEG}/probabilities/{{variant}}/seed{{seed}}_{{mode}}.tif",
    log:
        f"{LOGS}/riskseg/riskseg_predict/{{variant}}/seed{{seed}}_{{mode}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_predict/{{variant}}/seed{{seed}}_{{mode}}.tsv"
    wildcard_constraints:
        variant=RISKSEG_VARIANT_PATTERN,
        seed=r"\d+",
        mode="plain|tta",
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
    params:
        inference=riskseg_inference_settings,
        head=riskseg_head,
        weights_of=riskseg_weights_variant,
    script:
        "../workflow_scripts/riskseg_predict.py"


rule riskseg_decision:
    input:
        labels=rules.riskseg_scene.output.labels,
        tiles=RISKSEG_TILES,
        probabilities=riskseg_seed_probabilities,
    output:
        decision=RISKSEG_DECISION,
    log:
        f"{LOGS}/riskseg/riskseg_decision/{{variant}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_decision/{{variant}}.tsv"
    wildcard_constraints:
        variant=RISKSEG_VARIANT_PATTERN,
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        decision=config_section("riskseg", "decision"),
    script:
        "../workflow_scripts/riskseg_decision.py"


rule riskseg_ensemble:
    input:
        probabilities=riskseg_seed_probabilities,
        decision=RISKSEG_DECISION,
    output:
        probabilities=f"{RISKSEG}/ensemble/{{variant}}/probabilities.tif",
        uncertainty=f"{RISKSEG}/ensemble/{{variant}}/uncertainty.tif",
        classes=f"{RISKSEG}/ensemble/{{variant}}/classes.tif",
    log:
        f"{LOGS}/riskseg/riskseg_ensemble/{{variant}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_ensemble/{{variant}}.tsv"
    wildcard_constraints:
        variant=RISKSEG_VARIANT_PATTERN,
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow_scripts/riskseg_ensemble.py"


rule riskseg_crf:
    input:
        probabilities=rules.riskseg_ensemble.output.probabilities,
        scene=rules.riskseg_scene.output.scene,
        tiles=RISKSEG_TILES,
        decision=RISKSEG_DECISION,
    output:
        classes=f"{RISKSEG}/crf/{{variant}}/{{crf}}.tif",
    log:
        f"{LOGS}/riskseg/riskseg_crf/{{variant}}/{{crf}}.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_crf/{{variant}}/{{crf}}.tsv"
    wildcard_constraints:
        variant=RISKSEG_VARIANT_PATTERN,
        crf=RISKSEG_CRF_PATTERN,
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        crf=riskseg_crf_settings,
    script:
        "../workflow_scripts/riskseg_crf.py"


rule riskseg_score:
    input:
        labels=rules.riskseg_scene.output.labels,
        tiles=RISKSEG_TILES,
        decision=RISKSEG_DECISION_JSON,
        decisions=list(riskseg_decision_files().values()),
        products=list(riskseg_products().values()),
    output:
        scores=f"{RISKSEG}/scores.json",
        confusion=f"{RISKSEG}/confusion.csv",
        units=list(riskseg_unit_files().values()),
    log:
        f"{LOGS}/riskseg/riskseg_score.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_score.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        products=riskseg_products(),
        units=riskseg_unit_files(),
        fixed_decisions=riskseg_decisions(),
        decisions=riskseg_product_decisions(),
    script:
        "../workflow_scripts/riskseg_score.py"


rule riskseg_results:
    input:
        scores=rules.riskseg_score.output.scores,
        references=RISKSEG_REFERENCE_SCORES,
        comparisons=f"{RISKSEG}/comparisons.json",
        decisions=list(riskseg_decision_files().values()),
        scene=rules.riskseg_scene.output.scene,
        labels=rules.riskseg_scene.output.labels,
        tiles=RISKSEG_TILES,
        ensemble=f"{RISKSEG}/ensemble/{RISKSEG_FULL}/classes.tif",
        uncertainty=f"{RISKSEG}/ensemble/{RISKSEG_FULL}/uncertainty.tif",
        crf=f"{RISKSEG}/crf/{RISKSEG_FULL}/{RISKSEG_VARIANTS[RISKSEG_FULL]['crf']}.tif",
        oversampling=list(riskseg_oversampling_summaries().values()),
    output:
        success=report(
            f"{RISKSEG}/success_report.md",
            caption="../report/riskseg/success_report.rst",
            category="riskseg",
            subcategory="table",
        ),
        ablation=report(
            f"{RISKSEG}/ablation.md",
            caption="../report/riskseg/ablation.rst",
            category="riskseg",
            subcategory="table",
        ),
        scores=report(
            f"{RISKSEG}/scores.md",
            caption="../report/riskseg/scores.rst",
            category="riskseg",
            subcategory="table",
        ),
        scores_csv=f"{RISKSEG}/scores.csv",
        maps=report(
            f"{RISKSEG}/test_blocks.png",
            caption="../report/riskseg/test_blocks.rst",
            category="riskseg",
            subcategory="figure",
        ),
        confusion=report(
            f"{RISKSEG}/confusion.png",
            caption="../report/riskseg/confusion.rst",
            category="riskseg",
            subcategory="figure",
        ),
    log:
        f"{LOGS}/riskseg/riskseg_results.log",
    benchmark:
        f"{BENCHMARKS}/riskseg/riskseg_results.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        context=riskseg_report_context(),
        targets=config_section("riskseg", "targets"),
        baseline_metrics=config_section("riskseg", "baseline_metrics"),
        oversampling=riskseg_oversampling_summaries(),
        decisions=riskseg_decision_files(),
    script:
        "../workflow_scripts/riskseg_results.py"
