"""Paths, names and input functions of the riskseg rules (kept apart from the rules: snakemake --lint)."""

import re

from atmo.errors import ConfigError
from atmo.riskseg.entries import entries as riskseg_entries

RISKSEG = f"{RESULTS}/riskseg"
RISKSEG_TILES = f"{RISKSEG}/tiles/tiles.h5"

RISKSEG_VARIANTS = config["riskseg"]["variants"]
RISKSEG_COMPARISON = config["riskseg"]["comparison"]
RISKSEG_FULL = RISKSEG_COMPARISON["full"]
# Probabilities the ensemble, CRF and scores use: with or without test-time augmentation.
RISKSEG_MODE = "tta" if config["riskseg"]["inference"]["tta"] else "plain"
RISKSEG_OTHER_MODE = "plain" if RISKSEG_MODE == "tta" else "tta"
# Argmax or ordinal median, chosen on the validation blocks by the riskseg_decision job.
RISKSEG_DECISION_JSON = f"{RISKSEG}/decision.json"
RISKSEG_VARIANT_PATTERN = "|".join(map(re.escape, RISKSEG_VARIANTS)) or "(?!)"
RISKSEG_SCHEMES = list(config["riskseg"]["oversampling"])
RISKSEG_SCHEME_PATTERN = "|".join(map(re.escape, RISKSEG_SCHEMES)) or "(?!)"
RISKSEG_CRF_PATTERN = "|".join(map(re.escape, config["riskseg"]["crf"])) or "(?!)"
# The pixel baselines and, on the synthetic source, the generator's oracle (rules/riskseg_references.smk).
RISKSEG_BASELINES = list(config["riskseg"].get("baselines", {}))
RISKSEG_ORACLES = ["oracle"] if config["riskseg"]["source"] == "synthetic" else []
RISKSEG_BASELINE_PATTERN = "|".join(map(re.escape, RISKSEG_BASELINES)) or "(?!)"
RISKSEG_REFERENCE_PATTERN = (
    "|".join(map(re.escape, RISKSEG_BASELINES + RISKSEG_ORACLES)) or "(?!)"
)
RISKSEG_REFERENCE_SCORES = f"{RISKSEG}/reference_scores.json"


def _check_riskseg_names():
    """Every name a variant or the comparison refers to exists: one line naming the key otherwise."""
    block = config["riskseg"]
    for name, spec in RISKSEG_VARIANTS.items():
        for key, known in (
            ("oversampling", block["oversampling"]),
            ("crf", block["crf"]),
        ):
            value = spec.get(key)
            if value is not None and value not in known:
                raise ConfigError(
                    f"invalid config: key 'riskseg.variants.{name}.{key}': {value!r} is not an entry of "
                    f"riskseg.{key} {sorted(known)}"
                )
    roles = {
        "full": RISKSEG_COMPARISON["full"],
        "v2": RISKSEG_COMPARISON.get("v2"),
        **{
            f"ablations.{k}": v
            for k, v in RISKSEG_COMPARISON.get("ablations", {}).items()
        },
    }
    for role, name in roles.items():
        if name is not None and name not in RISKSEG_VARIANTS:
            raise ConfigError(
                f"invalid config: key 'riskseg.comparison.{role}': {name!r} is not an entry of "
                f"riskseg.variants {sorted(RISKSEG_VARIANTS)}"
            )
    for name in RISKSEG_BASELINES:
        if name in RISKSEG_VARIANTS or name in RISKSEG_ORACLES:
            raise ConfigError(
                f"invalid config: key 'riskseg.baselines.{name}': the name is taken by "
                f"{'a variant' if name in RISKSEG_VARIANTS else 'the oracle'}; rename the baseline"
            )


def _check_riskseg_entries():
    """Build every variant once on the meta device; window and tile sizes must fit its stride; build every baseline."""
    from atmo.config_blocks import build_block
    from atmo.riskseg.baselines import (
        BaselineSettings,
    )  # scikit-learn: a second to import
    from atmo.riskseg.training import build_variant_entry  # torch: seconds to import
    from atmo.train import check_entries

    block = config["riskseg"]
    for name, spec in block.get("baselines", {}).items():
        build_block(BaselineSettings, spec, f"riskseg.baselines.{name}")
    n_bands = (
        5 if block["source"] == "synthetic" else 1
    )  # the constructors accept any band count
    sizes = {
        "riskseg.inference.window": block["inference"]["window"],
        "riskseg.tiles.tile_size": block["tiles"]["tile_size"],
    }
    for name, spec in RISKSEG_VARIANTS.items():
        stride = 2 ** spec.get("params", {}).get("encoder_depth", 5)
        for key, size in sizes.items():
            if size % stride:
                raise ConfigError(
                    f"invalid config: key '{key}': {size} px is not a multiple of {stride}, the stride of "
                    f"riskseg.variants.{name} (2 ** encoder_depth)"
                )
    check_entries(
        "riskseg",
        RISKSEG_VARIANTS,
        lambda spec: build_variant_entry("entry", spec, n_bands),
        block="variants",
    )


# Checked once, by the snakemake the user started; a job it spawns (a cluster job step) need not.
if workflow.is_main_process:
    try:
        _check_riskseg_names()
        run_unless_passed(
            "riskseg", config["riskseg"], _check_riskseg_entries, WORKFLOW_CODE
        )
    except ConfigError as error:
        stop_with_one_line(error)


def riskseg_source_rasters(wildcards):
    """The real scene and label rasters (local paths or downloaded files); none when synthetic."""
    source = config["riskseg"]["source"]
    if source == "local":
        return config_section("riskseg", "local")
    if source == "url":
        return dict(rules.riskseg_fetch.output)
    return {}


def riskseg_manifest(wildcards):
    """The download manifest of the url source."""
    return config_section("riskseg", "url", "manifest")


def riskseg_training_spec(wildcards):
    """What changes a variant's weights: arch, params, loss and oversampling (not its CRF or seed list)."""
    spec = config_section("riskseg", "variants", wildcards.variant)
    return {key: spec.get(key) for key in ("arch", "params", "loss", "oversampling")}


def riskseg_scheme_settings(wildcards):
    """Only this scheme's entry of `riskseg.oversampling`."""
    return config_section("riskseg", "oversampling", wildcards.scheme)


def riskseg_train_tiles(wildcards):
    """The variant's oversampled training tiles, or the original tiles when it does not oversample."""
    scheme = RISKSEG_VARIANTS[wildcards.variant].get("oversampling")
    return RISKSEG_TILES if scheme is None else f"{RISKSEG}/oversampled/{scheme}.h5"


def riskseg_inference_settings(wildcards):
    """The inference block without `tta`: the {mode} wildcard decides, so toggling tta adds jobs, reruns none."""
    settings = config_section("riskseg", "inference")
    settings.pop("tta", None)
    return settings


def riskseg_seed_probabilities(wildcards, variant=None):
    """The probabilities of every seed of a variant (``wildcards.variant``), in the configured inference mode."""
    variant = variant or wildcards.variant
    return [
        f"{RISKSEG}/probabilities/{variant}/seed{seed}_{RISKSEG_MODE}.tif"
        for seed in RISKSEG_VARIANTS[variant]["seeds"]
    ]


def riskseg_crf_settings(wildcards):
    """Only this entry of `riskseg.crf`."""
    return config_section("riskseg", "crf", wildcards.crf)


def riskseg_decision_probabilities(wildcards):
    """The full variant's seed probabilities: their mean on the validation blocks picks the decision rule."""
    return riskseg_seed_probabilities(wildcards, RISKSEG_FULL)


def riskseg_products():
    """Every raster the score job scores, by product name: ``<variant>/<what>``.

    Per seed in the configured mode; the full variant's first seed in the other mode too (the TTA
    row); every variant's ensemble; the final products (ensemble after the variant's own CRF) of
    the full variant and V2, which the headline compares; the full variant's ensemble under every
    other CRF setting (the enhanced-CRF row) and under both decision rules (the decision row).
    Ablations get no CRF: they are compared per seed, and a CRF job per ablation would cost time
    no comparison uses.
    """
    products = {}
    for name, spec in RISKSEG_VARIANTS.items():
        for seed in spec["seeds"]:
            products[f"{name}/seed{seed}_{RISKSEG_MODE}"] = (
                f"{RISKSEG}/probabilities/{name}/seed{seed}_{RISKSEG_MODE}.tif"
            )
        products[f"{name}/ensemble"] = f"{RISKSEG}/ensemble/{name}/classes.tif"
    crfs = {RISKSEG_FULL: list(config["riskseg"]["crf"])}
    v2 = RISKSEG_COMPARISON.get("v2")
    if v2 is not None:
        crfs.setdefault(v2, [RISKSEG_VARIANTS[v2]["crf"]])
    for name, names in crfs.items():
        for crf in names:
            products[f"{name}/crf_{crf}"] = f"{RISKSEG}/crf/{name}/{crf}.tif"
    for decision in riskseg_decisions().values():
        products[f"{RISKSEG_FULL}/ensemble_{decision}"] = (
            f"{RISKSEG}/ensemble/{RISKSEG_FULL}/probabilities.tif"
        )
    first = RISKSEG_VARIANTS[RISKSEG_FULL]["seeds"][0]
    products[f"{RISKSEG_FULL}/seed{first}_{RISKSEG_OTHER_MODE}"] = (
        f"{RISKSEG}/probabilities/{RISKSEG_FULL}/seed{first}_{RISKSEG_OTHER_MODE}.tif"
    )
    return products


def riskseg_decisions():
    """Products scored with each fixed decision, whatever validation chose (the decision row's pair)."""
    return {f"{RISKSEG_FULL}/ensemble_{d}": d for d in ("argmax", "median")}


def riskseg_unit_files():
    """Each product's per-test-block statistics file (the comparisons' units)."""
    return {name: f"{RISKSEG}/units/{name}.csv" for name in riskseg_products()}


def riskseg_comparison_inputs():
    """What the comparison entries are made of: roles, mode, each variant's CRF and seeds."""
    return {
        "full": RISKSEG_FULL,
        "v2": RISKSEG_COMPARISON.get("v2"),
        "ablations": RISKSEG_COMPARISON.get("ablations", {}),
        "mode": RISKSEG_MODE,
        "crf": {name: spec["crf"] for name, spec in RISKSEG_VARIANTS.items()},
        "seeds": {name: list(spec["seeds"]) for name, spec in RISKSEG_VARIANTS.items()},
        "references": riskseg_reference_kinds(),
    }


def riskseg_reference_kinds():
    """``{name: kind}`` of the references: each baseline (kind baseline), the oracle (kind oracle)."""
    return {
        **{name: "baseline" for name in RISKSEG_BASELINES},
        **{name: "oracle" for name in RISKSEG_ORACLES},
    }


def riskseg_reference_products():
    """Each reference's probability raster, by name."""
    return {
        **{
            name: f"{RISKSEG}/baselines/{name}/probabilities.tif"
            for name in RISKSEG_BASELINES
        },
        **{name: f"{RISKSEG}/{name}/probabilities.tif" for name in RISKSEG_ORACLES},
    }


def riskseg_reference_decisions():
    """Each reference's decision record, chosen on its own validation blocks."""
    return {
        name: f"{RISKSEG}/decisions/{name}.json"
        for name in riskseg_reference_products()
    }


def riskseg_reference_unit_files():
    """Each reference's per-test-block statistics file."""
    return {
        name: f"{RISKSEG}/units/{name}.csv" for name in riskseg_reference_products()
    }


def riskseg_reference_probabilities(wildcards):
    """The probability raster of one reference (``wildcards.reference``), as the one-item list the decision reads."""
    return [riskseg_reference_products()[wildcards.reference]]


def riskseg_baseline_settings(wildcards):
    """Only this entry of `riskseg.baselines`."""
    return config_section("riskseg", "baselines", wildcards.baseline)


def riskseg_comparison_unit_stats():
    """``{entry: {seed label: unit statistics file}}`` of every compared entry."""
    files = {**riskseg_unit_files(), **riskseg_reference_unit_files()}
    return {
        name: {seed: files[product] for seed, product in entry["products"].items()}
        for name, entry in riskseg_entries(riskseg_comparison_inputs()).items()
    }


def riskseg_comparison_kinds():
    """``{entry: kind}``: model, baseline or ablation."""
    return {
        name: entry["kind"]
        for name, entry in riskseg_entries(riskseg_comparison_inputs()).items()
    }


def riskseg_comparison_settings():
    """Only what atmo.riskseg.comparison.plan reads: the full variant, its CRF, the mode, the ablations, the baselines."""
    return {
        "full": RISKSEG_FULL,
        "crf": {RISKSEG_FULL: RISKSEG_VARIANTS[RISKSEG_FULL]["crf"]},
        "mode": RISKSEG_MODE,
        "ablations": RISKSEG_COMPARISON.get("ablations", {}),
        "baselines": RISKSEG_BASELINES,
    }


def riskseg_oversampling_summaries():
    """The summary JSON of every oversampling scheme a variant uses."""
    schemes = sorted(
        {
            spec["oversampling"]
            for spec in RISKSEG_VARIANTS.values()
            if spec.get("oversampling")
        }
    )
    return {scheme: f"{RISKSEG}/oversampled/{scheme}.json" for scheme in schemes}


def riskseg_report_context():
    """What the report needs besides the scores: roles, modes, CRF names and each variant's CRF."""
    return {
        "comparison": config_section("riskseg", "comparison"),
        "mode": RISKSEG_MODE,
        "other_mode": RISKSEG_OTHER_MODE,
        "crf": {name: spec["crf"] for name, spec in RISKSEG_VARIANTS.items()},
        "seeds": {name: list(spec["seeds"]) for name, spec in RISKSEG_VARIANTS.items()},
        "references": riskseg_reference_kinds(),
    }


def riskseg_targets(wildcards):
    """Final outputs of the riskseg module: the report (tables, figures) and every class raster."""
    return [*rules.riskseg_report.output]
