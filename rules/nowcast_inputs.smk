"""Paths, names and input functions of the nowcast rules (kept apart from the rules: snakemake --lint)."""

import re

from atmo.io.sevir import data_file_names, read_catalog

SEVIR_ROOT = f"{RESOURCES}/nowcast/sevir"
NOWCAST_SPLITS = ["train", "val", "test"]


def sevir_data_files(wildcards):
    """The SEVIR data files the selected events need (read from the catalog checkpoint)."""
    selected = checkpoints.sevir_catalog.get().output.catalog
    return [
        f"{SEVIR_ROOT}/data/{name}" for name in data_file_names(read_catalog(selected))
    ]


def nowcast_targets(wildcards):
    """Final outputs of the nowcast module: the score table and its figures."""
    return list(rules.nowcast_table.output)


NOWCAST_MODELS = list(config["nowcast"]["models"])
NOWCAST_BASELINES = list(config["nowcast"]["baselines"])
NOWCAST_NAMES = NOWCAST_MODELS + NOWCAST_BASELINES
NOWCAST_MODEL_PATTERN = "|".join(map(re.escape, NOWCAST_MODELS)) or "(?!)"
NOWCAST_NAME_PATTERN = "|".join(map(re.escape, NOWCAST_NAMES)) or "(?!)"


def nowcast_model_spec(wildcards):
    """Only this model's entry of `nowcast.models`: editing one model retrains only that model."""
    return config_section("nowcast", "models", wildcards.model)


def nowcast_forecast_inputs(wildcards):
    """A learned model forecasts from its trained weights; a baseline needs only the test split."""
    inputs = {"test": f"{RESULTS}/nowcast/cache/test.h5"}
    if wildcards.name in NOWCAST_MODELS:
        inputs["model"] = f"{RESULTS}/nowcast/models/{wildcards.name}/model.pt"
    return inputs


def nowcast_frames_out(wildcards):
    """Lead times a baseline must produce: the cache's output frame count."""
    return config["nowcast"]["cache"]["frames_out"]


def nowcast_kinds():
    """Role of every forecaster in the table: model, ablation (from the config) or baseline."""
    kinds = {name: spec["kind"] for name, spec in config["nowcast"]["models"].items()}
    return {**kinds, **{name: "baseline" for name in NOWCAST_BASELINES}}
