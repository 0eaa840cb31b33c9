"""Paths, names and input functions of the riskseg rules (kept apart from the rules: snakemake --lint)."""

import re

import atmo.riskseg.products as riskseg_names  # one namespace for every .smk: no bare names
from atmo.errors import ConfigError
from atmo.riskseg.entries import entries as riskseg_entries

RISKSEG = f"{RESULTS}/riskseg"
RISKSEG_TILES = f"{RISKSEG}/tiles/tiles.h5"

RISKSEG_VARIANTS = config["riskseg"]["variants"]
RISKSEG_COMPARISON = config["riskseg"]["comparison"]
RISKSEG_FULL = RISKSEG_COMPARISON["full"]
# Probabilities the ensemble, CRF and scores use: with or without test-time augmentation.
RISKSEG_MODE, RISKSEG_OTHER_MODE = riskseg_names.inference_modes(config["riskseg"])
# Each variant's decision rule, fitted on the validation blocks by its riskseg_decision job; the full
# variant's is the run's default for any product without its own.
RISKSEG_DECISION = f"{RISKSEG}/decision/{{variant}}.json"
RISKSEG_DECISION_JSON = RISKSEG_DECISION.format(variant=RISKSEG_FULL)
RISKSEG_VARIANT_PATTERN = "|".join(map(re.escape, RISKSEG_VARIANTS)) or "(?!)"
# Variants that train; the others predict with another variant's models (weights_from).
RISKSEG_TRAINED = [
    name for name, spec in RISKSEG_VARIANTS.items() if not spec.get("weights_from")
]
RISKSEG_TRAINED_PATTERN = "|".join(map(re.escape, RISKSEG_TRAINED)) or "(?!)"
RISKSEG_SCHEMES = list(config["riskseg"]["oversampling"])
RISKSEG_SCHEME_PATTERN = "|".join(map(re.escape, RISKSEG_SCHEMES)) or "(?!)"
RISKSEG_CRF_PATTERN = "|".join(map(re.escape, config["riskseg"]["crf"])) or "(?!)"
# The pixel baselines and, on the synthetic source, the generator's oracle (rules/riskseg_references.smk).
RISKSEG_REFERENCES = riskseg_names.reference_kinds(config["riskseg"])
RISKSEG_BASELINES = [n for n, kind in RISKSEG_REFERENCES.items() if kind == "baseline"]
RISKSEG_ORACLES = [n for n, kind in RISKSEG_REFERENCES.items() if kind == "oracle"]
RISKSEG_BASELINE_PATTERN = "|".join(map(re.escape, RISKSEG_BASELINES)) or "(?!)"
RISKSEG_REFERENCE_PATTERN = (
    "|".join(map(re.escape, RISKSEG_BASELINES + RISKSEG_ORACLES)) or "(?!)"
)
RISKSEG_REFERENCE_SCORES = f"{RISKSEG}/reference_scores.json"


def _check_weights_from(name, spec):
    """A variant predicting with another's models names a training variant, sets nothing of training, and
    uses some of its seeds."""
    source = spec["weights_from"]
    where = f"invalid config: key 'riskseg.variants.{name}"
    if source not in RISKSEG_TRAINED:
        raise ConfigError(
            f"{where}.weights_from': {source!r} is not a variant that trains {sorted(RISKSEG_TRAINED)}"
        )
    for key in ("arch", "params", "loss", "oversampling"):
        if spec.get(key):
            raise ConfigError(
                f"{where}.{key}': a variant with weights_from predicts with {source!r}'s models and sets no {key}"
            )
    extra = sorted(set(spec["seeds"]) - set(RISKSEG_VARIANTS[source]["seeds"]))
    if extra:
        raise ConfigError(
            f"{where}.seeds': {extra} are not seeds of {source!r}, whose models it uses"
        )


def _check_riskseg_head(name, spec):
    """A CORAL head needs the CORAL loss to have been trained (coral_weight > 0; absent: the default 0.3)."""
    trained = spec.get("weights_from") or name
    weight = (RISKSEG_VARIANTS[trained].get("loss") or {}).get("coral_weight")
    if spec["head"] == "coral" and weight is not None and not weight > 0:
        raise ConfigError(
            f"invalid config: key 'riskseg.variants.{name}.head': 'coral' but {trained!r} trains no CORAL loss "
            f"(coral_weight {weight}); use head: softmax"
        )


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
        if spec.get("weights_from"):
            _check_weights_from(name, spec)
        _check_riskseg_head(name, spec)
    crf_ablation = RISKSEG_COMPARISON.get("crf_ablation")
    if crf_ablation is not None and crf_ablation not in block["crf"]:
        raise ConfigError(
            f"invalid config: key 'riskseg.comparison.crf_ablation': {crf_ablation!r} is not an entry of "
            f"riskseg.crf {sorted(block['crf'])}"
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
    """Build every variant once on the meta device; window and tile sizes must fit its stride.

    (The baselines' and every other settings block are built with all modules' blocks, from spec.py.)
    """
    from atmo.riskseg.training import build_variant_entry  # torch: seconds to import
    from atmo.train import check_entries

    block = config["riskseg"]
    n_bands = (
        5 if block["source"] == "synthetic" else 1
    )  # the constructors accept any band count
    sizes = {
        "riskseg.inference.window": block["inference"]["window"],
        "riskseg.tiles.tile_size": block["tiles"]["tile_size"],
    }
    trained = {name: RISKSEG_VARIANTS[name] for name in RISKSEG_TRAINED}
    for name, spec in trained.items():
        stride = 2 ** spec.get("params", {}).get("encoder_depth", 5)
        for key, size in sizes.items():
            if size % stride:
                raise ConfigError(
                    f"invalid config: key '{key}': {size} px is not a multiple of {stride}, the stride of "
                    f"riskseg.variants.{name} (2 ** encoder_depth)"
                )
    check_entries(
        "riskseg",
        trained,
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


def riskseg_weights_variant(wildcards):
    """The variant whose trained models ``wildcards.variant`` predicts with: its weights_from, or itself."""
    return RISKSEG_VARIANTS[wildcards.variant].get("weights_from") or wildcards.variant


def riskseg_model(wildcards):
    """The model file one (variant, seed) prediction loads."""
    return f"{RISKSEG}/models/{riskseg_weights_variant(wildcards)}/seed{wildcards.seed}/model.pt"


def riskseg_head(wildcards):
    """Which head the variant predicts with (atmo/riskseg/heads.py)."""
    return RISKSEG_VARIANTS[wildcards.variant]["head"]


def riskseg_inference_settings(wildcards):
    """The inference block without `tta`: the {mode} wildcard decides, so toggling tta adds jobs, reruns none."""
    settings = config_section("riskseg", "inference")
    settings.pop("tta", None)
    return settings


def riskseg_probabilities(variant, seed, mode):
    """The probability raster rule riskseg_predict writes for one (variant, seed, mode)."""
    return f"{RISKSEG}/probabilities/{variant}/seed{seed}_{mode}.tif"


def riskseg_seed_probabilities(wildcards):
    """The probabilities of every seed of a variant (``wildcards.variant``), in the configured inference mode."""
    return [
        riskseg_probabilities(wildcards.variant, seed, RISKSEG_MODE)
        for seed in RISKSEG_VARIANTS[wildcards.variant]["seeds"]
    ]


def riskseg_crf_settings(wildcards):
    """Only this entry of `riskseg.crf`."""
    return config_section("riskseg", "crf", wildcards.crf)


def riskseg_decision_files():
    """Every variant's decision JSON, by variant."""
    return {name: RISKSEG_DECISION.format(variant=name) for name in RISKSEG_VARIANTS}


def riskseg_products():
    """Every raster the score job scores, by product name (atmo.riskseg.products builds them).

    Per seed in the configured mode; the full variant's seeds in the other mode too (the TTA
    row); every variant's ensemble; the final products (ensemble after the variant's own CRF) of
    the full variant and V2, which the headline compares; the full variant's ensemble under every
    other CRF setting (the CRF rows) and under the fixed argmax and median rules (the decision row).
    Ablations get no CRF: they are compared per seed, and a CRF job per ablation would cost time
    no comparison uses.
    """
    products = {}
    for name, spec in RISKSEG_VARIANTS.items():
        for seed in spec["seeds"]:
            products[riskseg_names.seed_product(name, seed, RISKSEG_MODE)] = (
                riskseg_probabilities(name, seed, RISKSEG_MODE)
            )
        products[riskseg_names.ensemble_entry(name)] = (
            f"{RISKSEG}/ensemble/{name}/classes.tif"
        )
    crfs = {RISKSEG_FULL: list(config["riskseg"]["crf"])}
    v2 = RISKSEG_COMPARISON.get("v2")
    if v2 is not None:
        crfs.setdefault(v2, [RISKSEG_VARIANTS[v2]["crf"]])
    for name, names in crfs.items():
        for crf in names:
            products[riskseg_names.final_entry(name, crf)] = (
                f"{RISKSEG}/crf/{name}/{crf}.tif"
            )
    for name in riskseg_decisions():
        products[name] = f"{RISKSEG}/ensemble/{RISKSEG_FULL}/probabilities.tif"
    for seed in RISKSEG_VARIANTS[RISKSEG_FULL]["seeds"]:
        products[riskseg_names.seed_product(RISKSEG_FULL, seed, RISKSEG_OTHER_MODE)] = (
            riskseg_probabilities(RISKSEG_FULL, seed, RISKSEG_OTHER_MODE)
        )
    return products


def riskseg_decisions():
    """Products scored with a fixed decision rule, whatever validation chose (the decision row)."""
    return {
        riskseg_names.fixed_decision_entry(RISKSEG_FULL, rule): rule
        for rule in ("argmax", "median")
    }


def riskseg_product_decisions():
    """The decision JSON of every other product of a variant: the one fitted for that variant."""
    fixed = riskseg_decisions()
    files = riskseg_decision_files()
    variants = {
        name: riskseg_names.parse_product(name).variant for name in riskseg_products()
    }
    return {
        name: files[variant]
        for name, variant in variants.items()
        if name not in fixed and variant in files
    }


def riskseg_unit_files():
    """Each product's per-test-block statistics file (the comparisons' units)."""
    return {name: f"{RISKSEG}/units/{name}.csv" for name in riskseg_products()}


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
        name: f"{RISKSEG}/reference_decisions/{name}.json"
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
        for name, entry in riskseg_entries(riskseg_comparison_settings()).items()
    }


def riskseg_comparison_kinds():
    """``{entry: kind}``: model, baseline or ablation."""
    return {
        name: entry["kind"]
        for name, entry in riskseg_entries(riskseg_comparison_settings()).items()
    }


def riskseg_comparison_settings():
    """What atmo.riskseg.comparison.plan reads: the entries' settings (it names its pairs from them)."""
    return riskseg_names.entry_settings(config_section("riskseg"))


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
    """What the report needs besides the scores: the entries' settings, each variant's head, each CRF's compat."""
    return riskseg_names.report_context(config_section("riskseg"))


def riskseg_targets(wildcards):
    """Final outputs of the riskseg module: the report (tables, figures) and every class raster."""
    return [*rules.riskseg_results.output]
