"""CBH models, leave-one-flight-out: one fold per flight, every approach one job per fold.

cache.h5 -> cbh_folds (the fold table) -> per {fold}: cbh_baselines (climatology, WP-1 geometry
alone), cbh_gbdt (WP-3), cbh_pretrain_mae{encoder} (strict: never sees the fold's test flight; GPU),
cbh_train{variant} (WP-4, frozen encoder + head; trains and predicts the test flight; GPU) ->
cbh_gbdt_pooled (WP-3 on a pooled random k-fold, to show the leakage LOFO avoids) -> cbh_report.
"""


rule cbh_folds:
    input:
        cache=CBH_CACHE,
    output:
        folds=f"{CBH}/folds.csv",
    log:
        f"{LOGS}/cbh/cbh_folds.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_folds.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_folds.py"


rule cbh_baselines:
    input:
        cache=CBH_CACHE,
        folds=rules.cbh_folds.output.folds,
    output:
        climatology=f"{CBH}/predictions/climatology/fold{{fold}}.csv",
        geometry=f"{CBH}/predictions/geometry/fold{{fold}}.csv",
        facts=f"{CBH}/baselines/fold{{fold}}.json",
    log:
        f"{LOGS}/cbh/cbh_baselines/fold{{fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_baselines/fold{{fold}}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_baselines.py"


rule cbh_gbdt:
    input:
        cache=CBH_CACHE,
        folds=rules.cbh_folds.output.folds,
    output:
        predictions=f"{CBH}/predictions/gbdt/fold{{fold}}.csv",
    log:
        f"{LOGS}/cbh/cbh_gbdt/fold{{fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_gbdt/fold{{fold}}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        gbdt=config_section("cbh", "gbdt"),
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_gbdt.py"


rule cbh_gbdt_pooled:
    input:
        cache=CBH_CACHE,
    output:
        scores=f"{CBH}/gbdt_pooled.json",
    log:
        f"{LOGS}/cbh/cbh_gbdt_pooled.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_gbdt_pooled.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        gbdt=config_section("cbh", "gbdt"),
    script:
        "../workflow_scripts/cbh_gbdt_pooled.py"


rule cbh_pretrain_mae:
    input:
        cache=CBH_CACHE,
        folds=rules.cbh_folds.output.folds,
    output:
        model=f"{CBH}/mae/{{encoder}}/fold{{pretrain_fold}}/model.pt",
        history=f"{CBH}/mae/{{encoder}}/fold{{pretrain_fold}}/history.csv",
        metrics=f"{CBH}/mae/{{encoder}}/fold{{pretrain_fold}}/metrics.json",
    log:
        f"{LOGS}/cbh/cbh_pretrain_mae/{{encoder}}/fold{{pretrain_fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_pretrain_mae/{{encoder}}/fold{{pretrain_fold}}.tsv"
    wildcard_constraints:
        encoder=CBH_ENCODER_PATTERN,
        pretrain_fold=CBH_PRETRAIN_FOLD_PATTERN,
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    params:
        encoder=cbh_encoder_spec,
        train=train_section("cbh", "mae"),
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_pretrain_mae.py"


rule cbh_train:
    input:
        cache=CBH_CACHE,
        folds=rules.cbh_folds.output.folds,
        encoder=cbh_encoder_checkpoint,
    output:
        model=f"{CBH}/models/{{variant}}/fold{{fold}}/model.pt",
        history=f"{CBH}/models/{{variant}}/fold{{fold}}/history.csv",
        metrics=f"{CBH}/models/{{variant}}/fold{{fold}}/metrics.json",
        predictions=f"{CBH}/predictions/{{variant}}/fold{{fold}}.csv",
    log:
        f"{LOGS}/cbh/cbh_train/{{variant}}/fold{{fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_train/{{variant}}/fold{{fold}}.tsv"
    wildcard_constraints:
        variant=CBH_VARIANT_PATTERN,
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    params:
        spec=cbh_variant_spec,
        train=train_section("cbh"),
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_train.py"


rule cbh_report:
    input:
        folds=rules.cbh_folds.output.folds,
        predictions=cbh_all_predictions,
        baseline_facts=expand(f"{CBH}/baselines/fold{{fold}}.json", fold=CBH_FOLDS),
        pooled=rules.cbh_gbdt_pooled.output.scores,
    output:
        reports=cbh_report_files(),
        all_json=f"{CBH}/reports/WP4_Report_All.json",
        table=report(
            f"{CBH}/cbh_table.md",
            caption="../report/cbh/cbh_table.rst",
            category="cbh",
            subcategory="table",
        ),
        scatter=report(
            f"{CBH}/predicted_vs_measured.png",
            caption="../report/cbh/predicted_vs_measured.rst",
            category="cbh",
            subcategory="figure",
        ),
        bars=report(
            f"{CBH}/per_flight_scores.png",
            caption="../report/cbh/per_flight_scores.rst",
            category="cbh",
            subcategory="figure",
        ),
    log:
        f"{LOGS}/cbh/cbh_report.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_report.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        approaches=cbh_approaches(),
        pretraining=config_section("cbh", "mae", "pretraining"),
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_report.py"
