"""Paths, names and input functions of the nowcast rules (kept apart from the rules: snakemake --lint)."""

import re

from atmo.errors import ConfigError
from atmo.io.download import without_transfer
from atmo.io.sevir import data_file_names, read_catalog

SEVIR_ROOT = f"{RESOURCES}/nowcast/sevir"
NOWCAST_SPLITS = ["train", "val", "test"]


def sevir_source_setting(key):
    """A params function: ``nowcast.<key>`` if the configured source reads it, else a fixed value.

    The synthetic source reads `seed` and `synthetic`; the real ones read only `sevir`. A setting the
    source ignores must not rerun the catalog and fetch jobs (for sevir_s3: download everything again),
    nor must the download's timeout, retries and back-off (the scripts read those from the config).
    """
    real = config["nowcast"]["source"] != "synthetic"
    used = {"seed": not real, "synthetic": not real, "sevir": real}[key]
    unused = {"seed": 0, "synthetic": {}, "sevir": {}}[key]

    def setting(wildcards):
        if not used:
            return unused
        block = config_section("nowcast", key)
        return without_transfer(block) if key == "sevir" else block

    return setting


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
NOWCAST_BASELINE_PATTERN = "|".join(map(re.escape, NOWCAST_BASELINES)) or "(?!)"
NOWCAST_NAME_PATTERN = "|".join(map(re.escape, NOWCAST_NAMES)) or "(?!)"


def _check_nowcast_entries():
    """Build every model entry once (meta device: no memory, no compute) before any job runs, so a
    setting its constructor refuses stops the workflow with one line naming the key."""
    from atmo.nowcast.training import (
        build_entry,
    )  # torch and torch_geometric: seconds to import
    from atmo.train import check_entries

    cache = config["nowcast"]["cache"]
    check_entries(
        "nowcast",
        config["nowcast"]["models"],
        lambda spec: build_entry(spec, cache["frames_in"], cache["frames_out"]),
    )


# Checked once, by the snakemake the user started; a job it spawns (a cluster job step) need not.
if workflow.is_main_process:
    try:
        run_unless_passed(
            "nowcast", config["nowcast"], _check_nowcast_entries, WORKFLOW_CODE
        )
    except ConfigError as error:
        stop_with_one_line(error)


def nowcast_model_spec(wildcards):
    """Only this model's entry of `nowcast.models`: editing one model retrains only that model."""
    return config_section("nowcast", "models", wildcards.model)


def nowcast_frames_out(wildcards):
    """Lead times a baseline must produce: the cache's output frame count."""
    return config["nowcast"]["cache"]["frames_out"]


def nowcast_kinds():
    """Role of every forecaster in the table: model, ablation (from the config) or baseline."""
    kinds = {name: spec["kind"] for name, spec in config["nowcast"]["models"].items()}
    return {**kinds, **{name: "baseline" for name in NOWCAST_BASELINES}}
