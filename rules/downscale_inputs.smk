"""Input functions and config checks of the downscale rules (kept apart from the rules: snakemake --lint)."""

import re

import atmo.downscale.products as downscale_names  # one namespace for every .smk: no bare names
from atmo.errors import ConfigError
from atmo.io.download import read_manifest

DOWNSCALE_RAW = f"{RESOURCES}/downscale/raw"
DOWNSCALE = f"{RESULTS}/downscale"
DOWNSCALE_FIELDS = f"{DOWNSCALE}/fields.h5"
DOWNSCALE_VARIANTS = list(config["downscale"]["variants"])
DOWNSCALE_SEEDS = {
    name: list(spec["seeds"]) for name, spec in config["downscale"]["variants"].items()
}
DOWNSCALE_VARIANT_PATTERN = "|".join(map(re.escape, DOWNSCALE_VARIANTS)) or "(?!)"
DOWNSCALE_EPOCHS = list(config["downscale"]["sampling"]["epochs"])
DOWNSCALE_BASELINES = list(downscale_names.BASELINES)
# The synthetic generator's own ensemble (atmo.downscale.oracle): the floor; real data have none.
DOWNSCALE_ORACLE = downscale_names.ORACLE_PRODUCT


def _check_downscale_entries():
    """Sampling epochs that training checkpoints, K >= 2, and every variant built once on the meta device."""
    from atmo.downscale.sampling import check_sampling_epochs  # torch: seconds
    from atmo.downscale.training import build_variant_entry
    from atmo.downscale.synthetic.fields import PREDICTORS
    from atmo.train import check_entries

    from atmo.downscale.comparison import plan_settings, resolve

    block = config["downscale"]
    check_sampling_epochs(DOWNSCALE_EPOCHS, block["train"])
    resolve(plan_settings(block))
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
    """This variant's entry of `downscale.variants` without its seed list: editing one variant reruns
    it alone, and adding a seed adds that seed's jobs only (the job's seed is its wildcard).
    """
    spec = config_section("downscale", "variants", wildcards.variant)
    spec.pop("seeds", None)
    return spec


def downscale_sampling_settings(wildcards):
    """`downscale.sampling` without the epochs and modes, which are the sampling jobs' wildcards: adding
    a sampled epoch adds that epoch's jobs and leaves the other sampling jobs alone.
    """
    sampling = config_section("downscale", "sampling")
    for key in ("epochs", "modes"):
        sampling.pop(key, None)
    return sampling


def downscale_baseline_k(wildcards):
    """Members of a baseline: K for the stochastic ones (``sampling.k``, the K of every ensemble), 1 for bicubic."""
    return config["downscale"]["sampling"]["k"] if wildcards.method != "bicubic" else 1


def downscale_products(pattern):
    """Every scored file by product and seed: ``{product: {seed: pattern.format(run=run)}}``.

    Products and runs (the path stems) as atmo.downscale.products.scored_runs names them.
    """
    return {
        product: {seed: pattern.format(run=run) for seed, run in runs.items()}
        for product, runs in downscale_names.scored_runs(config["downscale"]).items()
    }


def downscale_files(pattern):
    """The paths of :func:`downscale_products`, flat (a rule's input)."""
    return [
        path
        for by_seed in downscale_products(pattern).values()
        for path in by_seed.values()
    ]


def downscale_variant_files(pattern):
    """``{variant: {seed: path}}`` of a per-(variant, seed) training output."""
    return {
        variant: {
            str(seed): pattern.format(variant=variant, seed=seed) for seed in seeds
        }
        for variant, seeds in DOWNSCALE_SEEDS.items()
    }


def downscale_comparison_settings():
    """What atmo.downscale.comparison reads: variants, sampled epochs and modes, the comparison block."""
    from atmo.downscale.comparison import plan_settings

    return plan_settings(config["downscale"])


def downscale_comparison_kinds():
    """The compared products and their kinds (atmo.downscale.comparison.compared_entries)."""
    from atmo.downscale.comparison import compared_entries

    return compared_entries(downscale_comparison_settings())


def downscale_unit_stats():
    """``{product: {seed: unit statistics file}}`` of the compared products."""
    files = downscale_products(f"{DOWNSCALE}/scores/{{run}}.units.csv")
    return {product: files[product] for product in downscale_comparison_kinds()}


def downscale_write_up_stats():
    """``{product: {seed: unit statistics file}}`` of the products of the write-up pairs."""
    from atmo.downscale.write_up import pair_products

    files = downscale_products(f"{DOWNSCALE}/scores/{{run}}.units.csv")
    pairs = pair_products(downscale_comparison_settings())
    return {product: files[product] for pair in pairs for product in pair}


def downscale_write_up_files(wildcards):
    """The unit statistics files of :func:`downscale_write_up_stats`, flat (the rule's input)."""
    return sorted(
        {
            path
            for by_seed in downscale_write_up_stats().values()
            for path in by_seed.values()
        }
    )


def downscale_targets(wildcards):
    """Final outputs of the downscale module: the fields statistics, the tables and figures."""
    return [
        f"{DOWNSCALE}/fields.json",
        *rules.downscale_results.output,
        *rules.downscale_write_up.output,
    ]
