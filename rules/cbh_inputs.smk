"""Paths, names and input functions of the cbh rules (kept apart from the rules: snakemake --lint)."""

import re

from atmo.cbh.report_files import report_file_name
from atmo.errors import ConfigError

CBH = f"{RESULTS}/cbh"

CBH_FLIGHTS = [flight["name"] for flight in config_section("cbh", "flights")]
CBH_FLIGHT_FILES = expand(f"{RESOURCES}/cbh/flights/{{flight}}.h5", flight=CBH_FLIGHTS)
CBH_GEOMETRY_FILES = expand(f"{CBH}/geometry/{{flight}}.h5", flight=CBH_FLIGHTS)
CBH_CACHE = f"{CBH}/cache.h5"


CBH_FOLDS = [str(fold) for fold in range(len(CBH_FLIGHTS))]
CBH_VARIANTS = list(config["cbh"]["models"])
CBH_ENCODERS = list(config["cbh"]["mae"]["encoders"])
CBH_STRICT = config["cbh"]["mae"]["pretraining"] == "strict"
# strict: one encoder per fold, never trained on its test flight; transductive: one on every image
CBH_PRETRAIN_FOLDS = CBH_FOLDS if CBH_STRICT else ["all"]
CBH_VARIANT_PATTERN = "|".join(map(re.escape, CBH_VARIANTS)) or "(?!)"
CBH_ENCODER_PATTERN = "|".join(map(re.escape, CBH_ENCODERS)) or "(?!)"
CBH_PRETRAIN_FOLD_PATTERN = "|".join(CBH_PRETRAIN_FOLDS)
CBH_BASELINES = ["climatology", "geometry", "gbdt"]


def _check_cbh_entries():
    """Build every encoder and WP-4 variant once on the meta device: refused settings stop the run here.

    The frame is the cache's (channels of the synthetic camera; 3 for campaign files); the count of
    physical features only sizes a linear layer, so any positive number checks the constructors.
    """
    from atmo.cbh.training import (
        build_encoder_entry,
        build_variant_entry,
    )  # torch: seconds to import
    from atmo.train import check_entries

    block = config["cbh"]
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
    """Only this variant's entry of `cbh.models` plus its encoder's view: editing one variant reruns it alone."""
    spec = config_section("cbh", "models", wildcards.variant)
    spec["view"] = config_section("cbh", "mae", "encoders", spec["encoder"], "view")
    return spec


def cbh_encoder_spec(wildcards):
    """Only this encoder's entry of `cbh.mae.encoders`."""
    return config_section("cbh", "mae", "encoders", wildcards.encoder)


def cbh_encoder_checkpoint(wildcards):
    """The MAE encoder a WP-4 job freezes: its fold's (strict) or the one on all images (transductive)."""
    encoder = config["cbh"]["models"][wildcards.variant]["encoder"]
    fold = wildcards.fold if CBH_STRICT else "all"
    return f"{CBH}/mae/{encoder}/fold{fold}/model.pt"


def cbh_approaches():
    """Every approach in the report with its role: WP-4 variants are models, the rest baselines."""
    return {
        **{name: "model" for name in CBH_VARIANTS},
        **{name: "baseline" for name in CBH_BASELINES},
    }


def cbh_report_files():
    """The seed-format JSON report of every approach (file names as atmo.cbh.report gives them)."""
    return [
        f"{CBH}/reports/{report_file_name(name, kind)}"
        for name, kind in cbh_approaches().items()
    ]


def cbh_all_predictions(wildcards):
    """Test-flight predictions of every approach and fold, as the report reads them."""
    return expand(
        f"{CBH}/predictions/{{approach}}/fold{{fold}}.csv",
        approach=list(cbh_approaches()),
        fold=CBH_FOLDS,
    )


def cbh_targets(wildcards):
    """Final outputs of the cbh module: the leave-one-flight-out reports, table and figures."""
    return [*rules.cbh_report.output]
