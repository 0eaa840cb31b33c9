"""Paths, names and input functions of the nowcast rules (kept apart from the rules: snakemake --lint)."""

import re

import atmo.nowcast.products as nowcast_names  # one namespace for every .smk: no bare names
from atmo.errors import ConfigError
from atmo.io.download import without_transfer
from atmo.nowcast.sevir_files import data_file_names, read_catalog
from atmo.nowcast.loss_choice import (
    candidate_spec,
    check_loss_choice,
    loss_choice_settings,
)

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
    selected = checkpoints.nowcast_catalog.get().output.catalog
    return [
        f"{SEVIR_ROOT}/data/{name}" for name in data_file_names(read_catalog(selected))
    ]


def nowcast_targets(wildcards):
    """Final outputs of the nowcast module: the score table and its figures."""
    return [*rules.nowcast_table.output, *rules.nowcast_loss_shares.output]


NOWCAST_MODELS = list(config["nowcast"]["models"])
NOWCAST_LOSS_CHOICE = loss_choice_settings(config["nowcast"].get("loss_choice"))
NOWCAST_CANDIDATES = NOWCAST_LOSS_CHOICE.labels() if NOWCAST_LOSS_CHOICE else {}
# The baselines are deterministic: one forecast, under this seed label.
NOWCAST_BASELINE_SEED = nowcast_names.DETERMINISTIC_SEED
NOWCAST_BASELINES = list(config["nowcast"]["baselines"])
# The synthetic generator's own forecast (atmo.nowcast.oracle): what its data allow; real SEVIR has none.
NOWCAST_ORACLES = nowcast_names.oracles(config["nowcast"])
NOWCAST_NAMES = NOWCAST_MODELS + NOWCAST_BASELINES + NOWCAST_ORACLES
NOWCAST_MODEL_PATTERN = "|".join(map(re.escape, NOWCAST_MODELS)) or "(?!)"
NOWCAST_BASELINE_PATTERN = "|".join(map(re.escape, NOWCAST_BASELINES)) or "(?!)"
NOWCAST_NAME_PATTERN = "|".join(map(re.escape, NOWCAST_NAMES)) or "(?!)"


def _check_nowcast_entries():
    """Build every model entry once (meta device: no memory, no compute) before any job runs, so a
    setting its constructor refuses stops the workflow with one line naming the key; the same for a
    comparison that names an entry the config does not run."""
    from atmo.nowcast.training import (
        build_entry,
    )  # torch and torch_geometric: seconds to import
    from atmo.train import check_entries

    from atmo.nowcast.comparison import check_comparison

    check_comparison(config["nowcast"])
    if NOWCAST_LOSS_CHOICE:
        check_loss_choice(NOWCAST_LOSS_CHOICE, config["nowcast"]["models"])
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


def nowcast_entry_spec(name):
    """Only what changes this entry's weights: its entry of `nowcast.models` without its seed list
    (the job's own seed comes from the wildcard) or comparison role, so editing one model retrains only
    that model, and editing its seeds adds or removes only those jobs."""
    spec = config_section("nowcast", "models", name)
    return {
        key: value for key, value in spec.items() if key not in ("seeds", "ablation_of")
    }


def nowcast_model_spec(wildcards):
    """The params `spec` of the training job of model `wildcards.model`."""
    return nowcast_entry_spec(wildcards.model)


def nowcast_train_choice(wildcards):
    """``{"choice": loss_choice.json}`` for an entry of `nowcast.loss_choice.applies_to`, else nothing."""
    if NOWCAST_LOSS_CHOICE and wildcards.model in NOWCAST_LOSS_CHOICE.applies_to:
        return {"choice": f"{RESULTS}/nowcast/loss_choice.json"}
    return {}


def nowcast_candidate_spec(wildcards):
    """The tuned entry's spec with this candidate's value of the chosen loss weight."""
    spec = nowcast_entry_spec(NOWCAST_LOSS_CHOICE.model)
    return candidate_spec(
        NOWCAST_LOSS_CHOICE, spec, NOWCAST_CANDIDATES[wildcards.candidate]
    )


def nowcast_candidate_metrics(wildcards):
    """Every candidate's metrics.json, in the config's order of values."""
    return [
        f"{RESULTS}/nowcast/loss_choice/{label}/seed{NOWCAST_LOSS_CHOICE.seed}/metrics.json"
        for label in NOWCAST_CANDIDATES
    ]


def nowcast_loss_choice_block():
    """`nowcast.loss_choice`, or nothing for a config that chooses no weight (full.yaml, sevir_vil.yaml):
    the block is optional, and rule nowcast_loss_choice then has no job, but its params are read at parse time.
    """
    return config_section("nowcast", "loss_choice") if NOWCAST_LOSS_CHOICE else {}


def nowcast_train_settings():
    """`nowcast.train` without its run-only keys and `seed`: each job's seed replaces train.seed."""
    settings = train_section("nowcast")
    settings.pop("seed", None)
    return settings


def nowcast_run_files(pattern, names=None):
    """``{forecaster: {seed: pattern.format(run=run)}}`` of every forecaster, or of ``names`` only.

    Forecasters, seed labels and runs as atmo.nowcast.products names them.
    """
    labels = nowcast_names.seed_labels(config["nowcast"])
    return {
        name: {
            seed: pattern.format(run=nowcast_names.run_name(name, seed))
            for seed in seeds
        }
        for name, seeds in labels.items()
        if names is None or name in names
    }


def nowcast_flat(files):
    """The paths of a ``{forecaster: {seed: path}}`` mapping as one list (a rule's input)."""
    return [path for by_seed in files.values() for path in by_seed.values()]


def nowcast_histories():
    """``{model: {seed: history.csv}}`` of the learned entries (those with a training history)."""
    return nowcast_run_files(
        f"{RESULTS}/nowcast/models/{{run}}/history.csv", NOWCAST_MODELS
    )


def nowcast_unit_stats():
    """``{forecaster: {seed: its per-episode statistics}}``, for rule comparisons."""
    return nowcast_run_files(f"{RESULTS}/nowcast/scores/{{run}}_units.csv")


def nowcast_comparison_settings():
    """The config the nowcast comparison plan reads (atmo.nowcast.comparison.comparison_settings)."""
    from atmo.nowcast.comparison import comparison_settings

    return comparison_settings(config["nowcast"])


def nowcast_table_files():
    """Every (forecaster, seed)'s scores, unit statistics and forecast: ``{what: {forecaster: {seed: path}}}``."""
    return {
        "scores": nowcast_run_files(f"{RESULTS}/nowcast/scores/{{run}}.json"),
        "units": nowcast_unit_stats(),
        "forecasts": nowcast_run_files(f"{RESULTS}/nowcast/forecasts/{{run}}.h5"),
    }


def nowcast_table_inputs(wildcards):
    """The files of :func:`nowcast_table_files`, one flat list each (the rule's input)."""
    return {what: nowcast_flat(files) for what, files in nowcast_table_files().items()}


def nowcast_frames_out(wildcards):
    """Lead times a baseline must produce: the cache's output frame count."""
    return config["nowcast"]["cache"]["frames_out"]


def nowcast_kinds():
    """Role of every forecaster in the table: model, ablation (from the config), baseline or oracle."""
    return nowcast_names.kinds(config_section("nowcast"))
