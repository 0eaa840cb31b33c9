"""Nowcast models: train each learned model and ablation, forecast the test split with every model
and baseline, score each forecaster, and collect one table with figures.

cache/{train,val}.h5 -> nowcast_train{model} (GPU) -> nowcast_forecast{model} (GPU) and
nowcast_baseline{baseline} (CPU: persistence, optical flow) -> nowcast_score{name} -> nowcast_table.
"""


rule nowcast_train:
    input:
        train=f"{RESULTS}/nowcast/cache/train.h5",
        val=f"{RESULTS}/nowcast/cache/val.h5",
    output:
        model=f"{RESULTS}/nowcast/models/{{model}}/model.pt",
        history=f"{RESULTS}/nowcast/models/{{model}}/history.csv",
        metrics=f"{RESULTS}/nowcast/models/{{model}}/metrics.json",
    log:
        f"{LOGS}/nowcast/nowcast_train/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_train/{{model}}.tsv"
    wildcard_constraints:
        model=NOWCAST_MODEL_PATTERN,
    conda:
        "../envs/torch.yaml"
    threads: MODEL_THREADS
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        spec=nowcast_model_spec,
        train=train_section("nowcast"),
        augment=config_section("nowcast", "augment"),
    script:
        "../workflow_scripts/nowcast_train.py"


rule nowcast_forecast:
    input:
        model=f"{RESULTS}/nowcast/models/{{name}}/model.pt",
        test=f"{RESULTS}/nowcast/cache/test.h5",
    output:
        forecast=f"{RESULTS}/nowcast/forecasts/{{name}}.h5",
    log:
        f"{LOGS}/nowcast/nowcast_forecast/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_forecast/{{name}}.tsv"
    wildcard_constraints:
        name=NOWCAST_MODEL_PATTERN,
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
        forecast=f"{RESULTS}/nowcast/forecasts/{{name}}.h5",
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


rule nowcast_score:
    input:
        forecast=f"{RESULTS}/nowcast/forecasts/{{name}}.h5",
        truth=f"{RESULTS}/nowcast/cache/test.h5",
    output:
        scores=f"{RESULTS}/nowcast/scores/{{name}}.json",
    log:
        f"{LOGS}/nowcast/nowcast_score/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_score/{{name}}.tsv"
    wildcard_constraints:
        name=NOWCAST_NAME_PATTERN,
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
        scores=expand(f"{RESULTS}/nowcast/scores/{{name}}.json", name=NOWCAST_NAMES),
        forecasts=expand(f"{RESULTS}/nowcast/forecasts/{{name}}.h5", name=NOWCAST_NAMES),
        test=f"{RESULTS}/nowcast/cache/test.h5",
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
        names=NOWCAST_NAMES,
        kinds=nowcast_kinds(),
        event_index=config_section("nowcast", "scoring", "event_index"),
    script:
        "../workflow_scripts/nowcast_table.py"
