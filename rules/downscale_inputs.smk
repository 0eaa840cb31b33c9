"""Input functions and config checks of the downscale rules (kept apart from the rules: snakemake --lint)."""

import re

from atmo.errors import ConfigError
from atmo.io.download import read_manifest

DOWNSCALE_RAW = f"{RESOURCES}/downscale/raw"
DOWNSCALE = f"{RESULTS}/downscale"
DOWNSCALE_FIELDS = f"{DOWNSCALE}/fields.h5"
DOWNSCALE_VARIANTS = list(config["downscale"]["variants"])
DOWNSCALE_VARIANT_PATTERN = "|".join(map(re.escape, DOWNSCALE_VARIANTS)) or "(?!)"
DOWNSCALE_EPOCHS = list(config["downscale"]["sampling"]["epochs"])
DOWNSCALE_MODES = list(config["downscale"]["sampling"]["modes"])
DOWNSCALE_BASELINES = ["bicubic", "bicubic_noise"]


def _check_downscale_entries():
    """Sampling epochs that training checkpoints, K >= 2, and every variant built once on the meta device."""
    from atmo.downscale.training import (
        build_variant_entry,
        check_sampling_epochs,
    )  # torch: seconds
    from atmo.synth.downscale import PREDICTORS
    from atmo.train import check_entries

    block = config["downscale"]
    check_sampling_epochs(DOWNSCALE_EPOCHS, block["train"])
    if block["sampling"]["k"] < 2:
        raise ConfigError(
            "invalid config: key 'downscale.sampling.k': CRPS spread, rank histograms and spread-skill "
            f"need an ensemble of at least 2 samples per case, got {block['sampling']['k']}"
        )
    if (
        block["source"] == "synthetic"
    ):  # the data's shape is known before the fields exist
        synthetic, n_predictors = block["synthetic"], len(PREDICTORS)
        factor = synthetic["factor"]
        shape = {
            "in_channels": 1 + n_predictors,
            "coarse_shape": [
                synthetic["height"] // factor,
                synthetic["width"] // factor,
            ],
            "factor": factor,
        }
        check_entries(
            "downscale",
            block["variants"],
            lambda spec: build_variant_entry(spec, **shape),
            block="variants",
        )


# Checked once, by the snakemake the user started; a job it spawns (a cluster job step) need not.
if workflow.is_main_process:
    try:
        run_unless_passed(
            "downscale", config["downscale"], _check_downscale_entries, WORKFLOW_CODE
        )
    except ConfigError as error:
        stop_with_one_line(error)


def downscale_manifest():
    """Manifest entries keyed by destination path ({} unless source is url)."""
    if config["downscale"]["source"] != "url":
        return {}
    return {e.path: e for e in read_manifest(config["downscale"]["url"]["manifest"])}


DOWNSCALE_MANIFEST = downscale_manifest()


def downscale_source_files(wildcards):
    """Archive files the fields step reads: none (synthetic), the local paths, or the downloads."""
    source = config["downscale"]["source"]
    if source == "local":
        return config["downscale"]["local"]["paths"]
    return [f"{DOWNSCALE_RAW}/{path}" for path in DOWNSCALE_MANIFEST]


def downscale_manifest_entry(wildcards):
    """url, size and sha256 of the manifest entry that downscale_fetch writes."""
    entry = DOWNSCALE_MANIFEST[wildcards.file]
    return {"url": entry.url, "size": entry.size, "sha256": entry.sha256}


def downscale_variant_spec(wildcards):
    """Only this variant's entry of `downscale.variants`: editing one variant reruns it alone."""
    return config_section("downscale", "variants", wildcards.variant)


def downscale_baseline_k(wildcards):
    """Members of a baseline: K for the stochastic one (same K as the models), 1 for bicubic."""
    return (
        config["downscale"]["sampling"]["k"]
        if wildcards.method == "bicubic_noise"
        else 1
    )


def downscale_runs(pattern):
    """Every scored samples file by run name (``<variant>/epoch<E>_<mode>``, ``baseline/<method>``).

    Each variant is sampled at every configured epoch in every mode, plus its posterior mean at
    the last epoch (the deterministic reference); then the baselines.
    """
    runs = [
        f"{variant}/epoch{epoch}_{mode}"
        for variant in DOWNSCALE_VARIANTS
        for epoch in DOWNSCALE_EPOCHS
        for mode in DOWNSCALE_MODES
    ]
    runs += [
        f"{variant}/epoch{DOWNSCALE_EPOCHS[-1]}_posterior_mean"
        for variant in DOWNSCALE_VARIANTS
    ]
    runs += [f"baseline/{method}" for method in DOWNSCALE_BASELINES]
    return {run: pattern.format(run=run) for run in runs}


def downscale_targets(wildcards):
    """Final outputs of the downscale module: the fields statistics, the tables and figures."""
    return [f"{DOWNSCALE}/fields.json", *rules.downscale_report.output]
