"""Downscale models: one cVAE training job per (variant, seed), one sampling job per (variant, seed, epoch, mode).

fields.h5 -> downscale_train{variant}{seed} (GPU; model.pt + epochs/, the weights of every periodic
checkpoint) -> downscale_sample{variant}{seed}{epoch}{mode} (K samples per test case; GPU),
downscale_baseline{method} (bicubic, bicubic + residual noise, RainFARM) and, for synthetic data,
downscale_oracle (the generator's own ensemble) -> downscale_score{run} (one JSON per samples file,
and its per-day unit statistics) -> comparisons (rules/comparisons.smk: paired intervals over test
days) -> downscale_results (the write-up's layout table, the CRPS/FSS/RAPSD table, figures); the write-up pairs
on maximum, diversity and CRPS -> downscale_write_up. Every ensemble has K = sampling.k members.

The sampled epochs reach the sampling jobs only (their wildcard): the training job keeps every
periodic epoch, so editing downscale.sampling.epochs reruns no training.
"""


rule downscale_train:
    input:
        fields=DOWNSCALE_FIELDS,
    output:
        model=f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/model.pt",
        history=f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/history.csv",
        metrics=f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/metrics.json",
        epochs=directory(f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/epochs"),
    log:
        f"{LOGS}/downscale/downscale_train/{{variant}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_train/{{variant}}/seed{{seed}}.tsv"
    wildcard_constraints:
        variant=DOWNSCALE_VARIANT_PATTERN,
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        spec=downscale_variant_spec,
        train=train_section("downscale"),
    script:
        "../workflow_scripts/downscale_train.py"


rule downscale_sample:
    input:
        fields=DOWNSCALE_FIELDS,
        epochs=f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/epochs",
    output:
        samples=f"{DOWNSCALE}/samples/{{variant}}/seed{{seed}}/epoch{{epoch}}_{{mode}}.h5",
    log:
        f"{LOGS}/downscale/downscale_sample/{{variant}}/seed{{seed}}/epoch{{epoch}}_{{mode}}.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_sample/{{variant}}/seed{{seed}}/epoch{{epoch}}_{{mode}}.tsv"
    wildcard_constraints:
        variant=DOWNSCALE_VARIANT_PATTERN,
        seed=r"\d+",
        epoch=r"\d+",
        mode="prior|posterior|posterior_mean",
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
    params:
        sampling=downscale_sampling_settings,
    script:
        "../workflow_scripts/downscale_sample.py"


rule downscale_baseline:
    input:
        fields=DOWNSCALE_FIELDS,
    output:
        samples=f"{DOWNSCALE}/samples/baseline/{{method}}.h5",
    log:
        f"{LOGS}/downscale/downscale_baseline/{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_baseline/{{method}}.tsv"
    wildcard_constraints:
        method="|".join(DOWNSCALE_BASELINES),
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        baselines=config_section("downscale", "baselines"),
        k=downscale_baseline_k,
        seed=config_section("downscale", "sampling", "seed"),
    script:
        "../workflow_scripts/downscale_baseline.py"


rule downscale_oracle:
    input:
        fields=DOWNSCALE_FIELDS,
    output:
        samples=f"{DOWNSCALE}/samples/{DOWNSCALE_ORACLE}.h5",
    log:
        f"{LOGS}/downscale/downscale_oracle.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_oracle.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        synthetic=config_section("downscale", "synthetic"),
        data_seed=config_section("downscale", "seed"),
        k=config_section("downscale", "sampling", "k"),
        seed=config_section("downscale", "sampling", "seed"),
    script:
        "../workflow_scripts/downscale_oracle.py"


rule downscale_score:
    input:
        samples=f"{DOWNSCALE}/samples/{{run}}.h5",
    output:
        scores=f"{DOWNSCALE}/scores/{{run}}.json",
        units=f"{DOWNSCALE}/scores/{{run}}.units.csv",
    log:
        f"{LOGS}/downscale/downscale_score/{{run}}.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_score/{{run}}.tsv"
    wildcard_constraints:
        run=r"[a-z0-9_]+(/seed\d+)?/[a-z0-9_]+",
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        scoring=config_section("downscale", "scoring"),
    script:
        "../workflow_scripts/downscale_score.py"


rule downscale_results:
    input:
        scores=downscale_files(f"{DOWNSCALE}/scores/{{run}}.json"),
        samples=downscale_files(f"{DOWNSCALE}/samples/{{run}}.h5"),
        metrics=[
            path
            for by_seed in downscale_variant_files(
                f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/metrics.json"
            ).values()
            for path in by_seed.values()
        ],
        comparisons=f"{DOWNSCALE}/comparisons.json",
    output:
        write_up_table=report(
            f"{DOWNSCALE}/write_up_table.md",
            caption="../report/downscale/write_up_table.rst",
            category="downscale",
            subcategory="table",
        ),
        scores=report(
            f"{DOWNSCALE}/scores.md",
            caption="../report/downscale/scores.rst",
            category="downscale",
            subcategory="table",
        ),
        scores_csv=f"{DOWNSCALE}/scores.csv",
        case=report(
            f"{DOWNSCALE}/extreme_case.png",
            caption="../report/downscale/extreme_case.rst",
            category="downscale",
            subcategory="figure",
        ),
        distributions=report(
            f"{DOWNSCALE}/distributions.png",
            caption="../report/downscale/distributions.rst",
            category="downscale",
            subcategory="figure",
        ),
        rapsd=report(
            f"{DOWNSCALE}/rapsd.png",
            caption="../report/downscale/rapsd.rst",
            category="downscale",
            subcategory="figure",
        ),
        ranks=report(
            f"{DOWNSCALE}/rank_histograms.png",
            caption="../report/downscale/rank_histograms.rst",
            category="downscale",
            subcategory="figure",
        ),
    log:
        f"{LOGS}/downscale/downscale_results.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_results.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        scores=downscale_products(f"{DOWNSCALE}/scores/{{run}}.json"),
        samples=downscale_products(f"{DOWNSCALE}/samples/{{run}}.h5"),
        metrics=downscale_variant_files(
            f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/metrics.json"
        ),
        history=downscale_variant_files(
            f"{DOWNSCALE}/models/{{variant}}/seed{{seed}}/history.csv"
        ),
        dry_threshold_mm=config_section("downscale", "scoring", "dry_threshold_mm"),
        variants=config_section("downscale", "variants"),
    script:
        "../workflow_scripts/downscale_results.py"


rule downscale_write_up:
    input:
        downscale_write_up_files,
    output:
        json=f"{DOWNSCALE}/write_up.json",
        markdown=report(
            f"{DOWNSCALE}/write_up.md",
            caption="../report/downscale/write_up.rst",
            category="downscale",
            subcategory="table",
        ),
    log:
        f"{LOGS}/downscale/downscale_write_up.log",
    benchmark:
        f"{BENCHMARKS}/downscale/downscale_write_up.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        unit_stats=downscale_write_up_stats(),
        settings=downscale_comparison_settings(),
        bootstrap=config_section("downscale", "bootstrap"),
    script:
        "../workflow_scripts/downscale_write_up.py"
