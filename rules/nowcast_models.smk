"""Nowcast models: train each learned model and ablation once per seed, forecast the test split with
every (model, seed) and baseline, score each forecaster and seed (scores and per-episode statistics),
compare them (rule comparisons) and collect one table with figures.

cache/{train,val}.h5 -> nowcast_train{model}{seed} (GPU) -> nowcast_forecast{name}{seed} (GPU) and
nowcast_baseline{baseline} (CPU: persistence, optical flow; deterministic, seed label 0) ->
nowcast_score{name}{seed} -> comparisons (results/nowcast/comparisons.json) -> nowcast_table.
"""


rule nowcast_train:
    input:
        unpack(nowcast_train_choice),
        train=f"{RESULTS}/nowcast/cache/train.h5",
        val=f"{RESULTS}/nowcast/cache/val.h5",
    output:
        model=f"{RESULTS}/nowcast/models/{{model}}/seed{{seed}}/model.pt",
        history=f"{RESULTS}/nowcast/models/{{model}}/seed{{seed}}/history.csv",
        metrics=f"{RESULTS}/nowcast/models/{{model}}/seed{{seed}}/metrics.json",
    log:
        f"{LOGS}/nowcast/nowcast_train/{{model}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_train/{{model}}/seed{{seed}}.tsv"
    wildcard_constraints:
        model=NOWCAST_MODEL_PATTERN,
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        spec=nowcast_model_spec,
        train=nowcast_train_settings(),
        augment=config_section("nowcast", "augment"),
    script:
        "../workflow_scripts/nowcast_train.py"


rule nowcast_loss_candidate:
    input:
        train=f"{RESULTS}/nowcast/cache/train.h5",
        val=f"{RESULTS}/nowcast/cache/val.h5",
    output:
        model=f"{RESULTS}/nowcast/loss_choice/{{candidate}}/seed{{seed}}/model.pt",
        history=f"{RESULTS}/nowcast/loss_choice/{{candidate}}/seed{{seed}}/history.csv",
        metrics=f"{RESULTS}/nowcast/loss_choice/{{candidate}}/seed{{seed}}/metrics.json",
    log:
        f"{LOGS}/nowcast/nowcast_loss_candidate/{{candidate}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_loss_candidate/{{candidate}}/seed{{seed}}.tsv"
    wildcard_constraints:
        candidate="|".join(map(re.escape, NOWCAST_CANDIDATES)) or "(?!)",
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        spec=nowcast_candidate_spec,
        train=nowcast_train_settings(),
        augment=config_section("nowcast", "augment"),
    script:
        "../workflow_scripts/nowcast_train.py"


rule nowcast_loss_choice:
    input:
        metrics=nowcast_candidate_metrics,
    output:
        choice=f"{RESULTS}/nowcast/loss_choice.json",
    log:
        f"{LOGS}/nowcast/nowcast_loss_choice.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_loss_choice.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        choice=nowcast_loss_choice_block(),
    script:
        "../workflow_scripts/nowcast_loss_choice.py"


rule nowcast_forecast:
    input:
        model=f"{RESULTS}/nowcast/models/{{name}}/seed{{seed}}/model.pt",
        test=f"{RESULTS}/nowcast/cache/test.h5",
    output:
        forecast=f"{RESULTS}/nowcast/forecasts/{{name}}/seed{{seed}}.h5",
    log:
        f"{LOGS}/nowcast/nowcast_forecast/{{name}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_forecast/{{name}}/seed{{seed}}.tsv"
    wildcard_constraints:
        name=NOWCAST_MODEL_PATTERN,
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=120,
    params:
        device=config_section("nowcast", "train", "device"),
    script:
        "../workflow_scripts/nowcast_forecast.py"


rule nowcast_baseline:
    input:
        test=f"{RESULTS}/nowcast/cache/test.h5",
    output:
        forecast=f"{RESULTS}/nowcast/forecasts/{{name}}/seed{NOWCAST_BASELINE_SEED}.h5",
    log:
        f"{LOGS}/nowcast/nowcast_baseline/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_baseline/{{name}}.tsv"
    wildcard_constraints:
        name=NOWCAST_BASELINE_PATTERN,
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        frames_out=nowcast_frames_out,
    script:
        "../workflow_scripts/nowcast_baseline.py"


rule nowcast_oracle:
    input:
        test=f"{RESULTS}/nowcast/cache/test.h5",
    output:
        forecast=f"{RESULTS}/nowcast/forecasts/{nowcast_names.ORACLE}/seed{NOWCAST_BASELINE_SEED}.h5",
    log:
        f"{LOGS}/nowcast/nowcast_oracle.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_oracle.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        seed=config_section("nowcast", "seed"),
        synthetic=config_section("nowcast", "synthetic"),
    script:
        "../workflow_scripts/nowcast_oracle.py"


rule nowcast_score:
    input:
        forecast=f"{RESULTS}/nowcast/forecasts/{{name}}/seed{{seed}}.h5",
        truth=f"{RESULTS}/nowcast/cache/test.h5",
        catalog=rules.nowcast_catalog.output.catalog,
    output:
        scores=f"{RESULTS}/nowcast/scores/{{name}}/seed{{seed}}.json",
        units=f"{RESULTS}/nowcast/scores/{{name}}/seed{{seed}}_units.csv",
    log:
        f"{LOGS}/nowcast/nowcast_score/{{name}}/seed{{seed}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_score/{{name}}/seed{{seed}}.tsv"
    wildcard_constraints:
        name=NOWCAST_NAME_PATTERN,
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        scoring=config_section("nowcast", "scoring"),
    script:
        "../workflow_scripts/nowcast_score.py"


rule nowcast_table:
    input:
        unpack(nowcast_table_inputs),
        test=f"{RESULTS}/nowcast/cache/test.h5",
        comparisons=f"{RESULTS}/nowcast/comparisons.json",
    output:
        csv=report(
            f"{RESULTS}/nowcast/scores.csv",
            caption="../report/nowcast/scores_csv.rst",
            category="nowcast",
            subcategory="table",
        ),
        markdown=report(
            f"{RESULTS}/nowcast/scores.md",
            caption="../report/nowcast/scores_md.rst",
            category="nowcast",
            subcategory="table",
        ),
        long_csv=report(
            f"{RESULTS}/nowcast/scores_long.csv",
            caption="../report/nowcast/scores_long_csv.rst",
            category="nowcast",
            subcategory="table",
        ),
        csi_by_lead=report(
            f"{RESULTS}/nowcast/csi_by_lead.png",
            caption="../report/nowcast/csi_by_lead.rst",
            category="nowcast",
            subcategory="figure",
        ),
        event_panel=report(
            f"{RESULTS}/nowcast/event_panel.png",
            caption="../report/nowcast/event_panel.rst",
            category="nowcast",
            subcategory="figure",
        ),
    log:
        f"{LOGS}/nowcast/nowcast_table.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_table.tsv"
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        files=nowcast_table_files(),
        kinds=nowcast_kinds(),
        event_index=config_section("nowcast", "scoring", "event_index"),
        comparison=nowcast_comparison_settings(),
        bootstrap=config_section("nowcast", "bootstrap"),
        frames_out=nowcast_frames_out,
    script:
        "../workflow_scripts/nowcast_table.py"


rule nowcast_loss_shares:
    input:
        histories=nowcast_flat(nowcast_histories()),
    output:
        csv=f"{RESULTS}/nowcast/loss_shares.csv",
        markdown=report(
            f"{RESULTS}/nowcast/loss_shares.md",
            caption="../report/nowcast/loss_shares.rst",
            category="nowcast",
            subcategory="table",
        ),
    log:
        f"{LOGS}/nowcast/nowcast_loss_shares.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_loss_shares.tsv"
    conda:
        "../envs/data.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        histories=nowcast_histories(),
        kinds=nowcast_kinds(),
    script:
        "../workflow_scripts/nowcast_loss_shares.py"
