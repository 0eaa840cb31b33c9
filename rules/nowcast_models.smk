"""Nowcast models: train each learned model and ablation, forecast the test split with every model
and baseline, score each forecaster, and collect one table with figures.

cache/{train,val}.h5 -> nowcast_train{model} (GPU) -> nowcast_forecast{name} (models and the
untrained baselines) -> nowcast_score{name} -> nowcast_table.
"""


rule nowcast_train:
    input:
        train=f"{RESULTS}/nowcast/cache/train.h5",
        val=f"{RESULTS}/nowcast/cache/val.h5",
    output:
        model=f"{RESULTS}/nowcast/models/{{model}}/model.pt",
    log:
        f"{LOGS}/nowcast/nowcast_train/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_train/{{model}}.tsv"
    wildcard_constraints:
        model=NOWCAST_MODEL_PATTERN,
    conda:
        "../envs/torch.yaml"
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        spec=nowcast_model_spec,
        train=config_section("nowcast", "train"),
    script:
        "../workflow_scripts/nowcast_train.py"


rule nowcast_forecast:
    input:
        unpack(nowcast_forecast_inputs),
    output:
        forecast=f"{RESULTS}/nowcast/forecasts/{{name}}.h5",
    log:
        f"{LOGS}/nowcast/nowcast_forecast/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/nowcast/nowcast_forecast/{{name}}.tsv"
    wildcard_constraints:
        name=NOWCAST_NAME_PATTERN,
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        device=config_section("nowcast", "train", "device"),
        frames_out=nowcast_frames_out,
    script:
        "../workflow_scripts/nowcast_forecast.py"


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
        csv=f"{RESULTS}/nowcast/scores.csv",
        markdown=f"{RESULTS}/nowcast/scores.md",
        csi_by_lead=f"{RESULTS}/nowcast/csi_by_lead.png",
        event_panel=f"{RESULTS}/nowcast/event_panel.png",
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
