"""Paths, names and input functions of the cbh rules (kept apart from the rules: snakemake --lint)."""

import re

import atmo.cbh.approaches as cbh_approaches  # one namespace for every .smk: no bare names
import atmo.cbh.products as cbh_products
from atmo.errors import ConfigError

CBH = f"{RESULTS}/cbh"

CBH_FLIGHTS = [flight["name"] for flight in config_section("cbh", "flights")]
CBH_FLIGHT_FILES = expand(f"{RESOURCES}/cbh/flights/{{flight}}.h5", flight=CBH_FLIGHTS)
CBH_GEOMETRY_FILES = expand(f"{CBH}/geometry/{{flight}}.h5", flight=CBH_FLIGHTS)
CBH_CACHE = f"{CBH}/cache.h5"


CBH_FOLDS = [str(fold) for fold in range(len(CBH_FLIGHTS))]
CBH_FOLD_PATTERN = "|".join(CBH_FOLDS)
CBH_VARIANTS = list(config["cbh"]["models"])
CBH_ENCODERS = list(config["cbh"]["mae"]["encoders"])
CBH_STRICT = config["cbh"]["mae"]["pretraining"] == "strict"
# strict: one encoder per fold, never trained on its test flight; transductive: one on every image
CBH_PRETRAIN_FOLDS = CBH_FOLDS if CBH_STRICT else ["all"]
CBH_VARIANT_PATTERN = "|".join(map(re.escape, CBH_VARIANTS)) or "(?!)"
CBH_ENCODER_PATTERN = "|".join(map(re.escape, CBH_ENCODERS)) or "(?!)"
CBH_PRETRAIN_FOLD_PATTERN = "|".join(CBH_PRETRAIN_FOLDS)
# {approach: kind} and {approach: [seed label]}: a network model trains once per seed, a baseline has one
CBH_KINDS = cbh_approaches.approach_kinds(config["cbh"])
CBH_SEEDS = cbh_approaches.approach_seeds(config["cbh"])
CBH_APPROACH_PATTERN = "|".join(map(re.escape, CBH_KINDS))


def _check_cbh_entries():
    """Build every encoder and network variant once on the meta device: refused settings stop the run here.

    The frame is the cache's (channels of the synthetic camera; 3 for campaign files); the count of
    physical features only sizes a linear layer, so any positive number checks the constructors.
    """
    from atmo.cbh.training import (
        build_encoder_entry,
        build_variant_entry,
    )  # torch: seconds to import
    from atmo.train import check_entries

    block = config["cbh"]
    cbh_approaches.check_model_names(block)
    cbh_approaches.check_comparison(block)
    for name, spec in block["models"].items():
        if spec["encoder"] not in block["mae"]["encoders"]:
            known = sorted(block["mae"]["encoders"])
            raise ConfigError(
                f"invalid config: key 'cbh.models.{name}.encoder': {spec['encoder']!r} is not an entry of "
                f"cbh.mae.encoders {known}"
            )
    channels = block["synthetic"]["channels"] if block["source"] == "synthetic" else 3
    frame = (channels, block["cache"]["image_height"], block["cache"]["image_width"])
    n_physical = len(block["era5"]["variables"]) + 3
    encoders = block["mae"]["encoders"]
    check_entries(
        "cbh",
        encoders,
        lambda encoder: build_encoder_entry(encoder, frame),
        block="mae.encoders",
    )
    check_entries(
        "cbh",
        block["models"],
        lambda spec: build_variant_entry(
            spec, encoders[spec["encoder"]], frame, n_physical
        ),
    )


# Checked once, by the snakemake the user started; a job it spawns (a cluster job step) need not.
if workflow.is_main_process:
    try:
        run_unless_passed("cbh", config["cbh"], _check_cbh_entries, WORKFLOW_CODE)
    except ConfigError as error:
        stop_with_one_line(error)


def cbh_variant_spec(wildcards):
    """Only this variant's entry of `cbh.models` plus its encoder's view: editing one variant reruns it alone.

    Without its seed list (each job gets its own seed from the wildcard): adding a seed adds jobs, it
    reruns none of the others.
    """
    spec = config_section("cbh", "models", wildcards.variant)
    spec.pop("seeds", None)
    spec["view"] = config_section("cbh", "mae", "encoders", spec["encoder"], "view")
    return spec


def cbh_test_flight_file(wildcards):
    """The flight file of fold ``wildcards.fold``'s test flight (fold k tests on flight k, in config order)."""
    return CBH_FLIGHT_FILES[int(wildcards.fold)]


def cbh_encoder_spec(wildcards):
    """Only this encoder's entry of `cbh.mae.encoders`."""
    return config_section("cbh", "mae", "encoders", wildcards.encoder)


def cbh_encoder_checkpoint(wildcards):
    """The MAE encoder a network job freezes: its seed's, for its fold (strict) or on all images (transductive)."""
    encoder = config["cbh"]["models"][wildcards.variant]["encoder"]
    fold = wildcards.fold if CBH_STRICT else "all"
    return f"{CBH}/mae/{encoder}/seed{wildcards.seed}/fold{fold}/model.pt"


def cbh_pretrain_seed_pattern(encoder_seeds_of):
    """The seeds some model pretrains an encoder with, as one regex (an encoder no model uses: none)."""
    labels = sorted({seed for seeds in encoder_seeds_of.values() for seed in seeds})
    return "|".join(labels) or "(?!)"


CBH_PRETRAIN_SEED_PATTERN = cbh_pretrain_seed_pattern(
    cbh_approaches.encoder_seeds(config["cbh"])
)


def cbh_first_mae_metrics():
    """One pretraining job's metrics.json per pretraining fold (the first encoder's first seed):
    what the report says each fold's encoder trained on. None when no model freezes an encoder.
    """
    used = {
        name: seeds
        for name, seeds in cbh_approaches.encoder_seeds(config["cbh"]).items()
        if seeds
    }
    if not used:
        return []
    encoder, seeds = next(iter(used.items()))
    return [
        f"{CBH}/mae/{encoder}/seed{seeds[0]}/fold{fold}/metrics.json"
        for fold in CBH_PRETRAIN_FOLDS
    ]


def cbh_prediction_file(approach, seed, fold):
    """One fold's test-flight predictions: per seed for a network model, one file for a deterministic baseline."""
    if CBH_KINDS[approach] == "model":
        return f"{CBH}/predictions/{approach}/seed{seed}/fold{fold}.csv"
    return f"{CBH}/predictions/{approach}/fold{fold}.csv"


def cbh_seed_predictions(wildcards):
    """Every fold's predictions of one approach and seed (rule cbh_unit_stats)."""
    return [
        cbh_prediction_file(wildcards.approach, wildcards.seed, fold)
        for fold in CBH_FOLDS
    ]


def cbh_report_predictions():
    """``{approach: [kind, {seed: {fold: predictions}}]}``: what the report reads, for its params."""
    return {
        name: [
            kind,
            {
                seed: {
                    fold: cbh_prediction_file(name, seed, fold) for fold in CBH_FOLDS
                }
                for seed in CBH_SEEDS[name]
            },
        ]
        for name, kind in CBH_KINDS.items()
    }


def cbh_all_predictions(wildcards):
    """Test-flight predictions of every approach, seed and fold, as the report reads them."""
    return [
        path
        for _, by_seed in cbh_report_predictions().values()
        for by_fold in by_seed.values()
        for path in by_fold.values()
    ]


def cbh_unit_stats_files():
    """``{approach: {seed: unit statistics file}}``: what rule comparisons compares."""
    return {
        name: {seed: f"{CBH}/unit_stats/{name}/seed{seed}.csv" for seed in seeds}
        for name, seeds in CBH_SEEDS.items()
    }


def cbh_kinds():
    """``{approach: kind}`` for rule comparisons."""
    return dict(CBH_KINDS)


def cbh_comparison_settings():
    """Only the config atmo.cbh.comparison.plan reads (the comparisons rule reruns when it changes)."""
    return cbh_approaches.comparison_settings(config["cbh"])


def cbh_report_files():
    """The write-up-format JSON report of every approach (file names: atmo.cbh.products)."""
    return [
        f"{CBH}/reports/{cbh_products.report_file_name(name, kind)}"
        for name, kind in CBH_KINDS.items()
    ]


def cbh_targets(wildcards):
    """Final outputs of the cbh module: the leave-one-flight-out reports, tables and figures."""
    return [*rules.cbh_results.output]
