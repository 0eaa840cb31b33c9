"""CBH models, leave-one-flight-out: one fold per flight, every approach one job per fold (and seed).

cache.h5 -> cbh_folds (the fold table) -> per {fold}: cbh_baselines (climatology, LCL, shadow
geometry raw and bias-calibrated), cbh_ridge (linear, penalty by inner CV), cbh_gbdt (boosted trees),
cbh_oracle (synthetic only: the generator's noiseless cloud base), cbh_pretrain_mae{encoder}{seed}
(strict: never sees the fold's test flight; GPU), cbh_train{variant}{seed} (network, frozen encoder of
the same seed + head; trains and predicts the test flight; GPU) -> cbh_unit_stats{approach}{seed}
(per-sample errors of every test flight) -> comparisons (rules/comparisons.smk: paired intervals and
verdicts; the oracle is scored, never compared) -> cbh_results; cbh_gbdt_pooled (the trees on a pooled
random k-fold, to show the leakage LOFO avoids) -> cbh_results.
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
        lcl=f"{CBH}/predictions/lcl/fold{{fold}}.csv",
        geometry=f"{CBH}/predictions/geometry/fold{{fold}}.csv",
        geometry_calibrated=f"{CBH}/predictions/geometry_calibrated/fold{{fold}}.csv",
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


rule cbh_ridge:
    input:
        cache=CBH_CACHE,
        folds=rules.cbh_folds.output.folds,
    output:
        predictions=f"{CBH}/predictions/ridge/fold{{fold}}.csv",
        facts=f"{CBH}/ridge/fold{{fold}}.json",
    log:
        f"{LOGS}/cbh/cbh_ridge/fold{{fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_ridge/fold{{fold}}.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        ridge=config_section("cbh", "ridge"),
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_ridge.py"


rule cbh_oracle:
    input:
        cache=CBH_CACHE,
        folds=rules.cbh_folds.output.folds,
        flight=cbh_test_flight_file,
    output:
        predictions=f"{CBH}/predictions/oracle/fold{{fold}}.csv",
    log:
        f"{LOGS}/cbh/cbh_oracle/fold{{fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_oracle/fold{{fold}}.tsv"
    wildcard_constraints:
        fold=CBH_FOLD_PATTERN,
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        validation=config_section("cbh", "validation"),
    script:
        "../workflow_scripts/cbh_oracle.py"


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
        model=f"{CBH}/mae/{{encoder}}/seed{{seed}}/fold{{pretrain_fold}}/model.pt",
        history=f"{CBH}/mae/{{encoder}}/seed{{seed}}/fold{{pretrain_fold}}/history.csv",
        metrics=f"{CBH}/mae/{{encoder}}/seed{{seed}}/fold{{pretrain_fold}}/metrics.json",
    log:
        f"{LOGS}/cbh/cbh_pretrain_mae/{{encoder}}/seed{{seed}}/fold{{pretrain_fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_pretrain_mae/{{encoder}}/seed{{seed}}/fold{{pretrain_fold}}.tsv"
    wildcard_constraints:
        encoder=CBH_ENCODER_PATTERN,
        seed=CBH_PRETRAIN_SEED_PATTERN,
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
        model=f"{CBH}/models/{{variant}}/seed{{seed}}/fold{{fold}}/model.pt",
        history=f"{CBH}/models/{{variant}}/seed{{seed}}/fold{{fold}}/history.csv",
        metrics=f"{CBH}/models/{{variant}}/seed{{seed}}/fold{{fold}}/metrics.json",
        predictions=f"{CBH}/predictions/{{variant}}/seed{{seed}}/fold{{fold}}.csv",
    log:
        f"{LOGS}/cbh/cbh_train/{{variant}}/seed{{seed}}/fold{{fold}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_train/{{variant}}/seed{{seed}}/fold{{fold}}.tsv"
    wildcard_constraints:
        variant=CBH_VARIANT_PATTERN,
        seed=r"\d+",
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


rule cbh_unit_stats:
    input:
        folds=rules.cbh_folds.output.folds,
        predictions=cbh_seed_predictions,
    output:
        unit_stats=f"{CBH}/unit_stats/{{approach}}/seed{{seed}}.csv",
    log:
        f"{LOGS}/cbh/cbh_unit_stats/{{approach}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_unit_stats/{{approach}}/seed{{seed}}.tsv"
    wildcard_constraints:
        approach=CBH_APPROACH_PATTERN,
        seed=r"\d+",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/cbh_unit_stats.py"


register_comparisons("cbh", cbh_unit_stats_files, cbh_kinds, cbh_comparison_settings)


rule cbh_results:
    input:
        folds=rules.cbh_folds.output.folds,
        predictions=cbh_all_predictions,
        comparisons=f"{CBH}/comparisons.json",
        baseline_facts=expand(f"{CBH}/baselines/fold{{fold}}.json", fold=CBH_FOLDS),
        ridge_facts=expand(f"{CBH}/ridge/fold{{fold}}.json", fold=CBH_FOLDS),
        pooled=rules.cbh_gbdt_pooled.output.scores,
        mae_metrics=cbh_first_mae_metrics(),
    output:
        reports=cbh_report_files(),
        all_json=f"{CBH}/reports/{cbh_products.ALL_REPORTS_FILE}",
        long_csv=f"{CBH}/cbh_scores_long.csv",
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
        f"{LOGS}/cbh/cbh_results.log",
    benchmark:
        f"{BENCHMARKS}/cbh/cbh_results.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        predictions=cbh_report_predictions(),
        pretraining=config_section("cbh", "mae", "pretraining"),
        validation=config_section("cbh", "validation"),
        mae_folds=CBH_PRETRAIN_FOLDS if cbh_first_mae_metrics() else [],
    script:
        "../workflow_scripts/cbh_results.py"
