"""Input functions of the summary rule (kept apart from the rule: snakemake --lint)."""

SUMMARY_SOURCE_KEYS = {
    "nowcast": "sevir",
    "riskseg": "local",
    "downscale": "local",
    "cbh": "local_dir",
}


def summary_inputs(wildcards):
    """Each enabled module's metrics files the summary reads, plus its final targets (run order)."""
    inputs = {"targets": all_targets(wildcards)}
    modules = config["modules"]
    if "nowcast" in modules:
        inputs["nowcast"] = f"{RESULTS}/nowcast/scores.csv"
    if "cbh" in modules:
        inputs["cbh"] = f"{RESULTS}/cbh/reports/WP4_Report_All.json"
    if "riskseg" in modules:
        inputs["riskseg"] = f"{RESULTS}/riskseg/scores.json"
    if "downscale" in modules:
        inputs["downscale"] = list(summary_downscale_scores().values())
    return inputs


def summary_sources():
    """Per enabled module: its data source and, for a real one, where it reads from."""
    sources = {}
    for module in config["modules"]:
        block = config[module]
        source = block["source"]
        if source == "synthetic":
            sources[module] = f"synthetic (atmo.synth, seed {block['seed']})"
        else:
            detail = block.get(SUMMARY_SOURCE_KEYS[module]) or block.get("url") or {}
            sources[module] = f"{source}: {detail}"
    return sources


def summary_riskseg_roles():
    """The riskseg comparison roles and each variant's CRF (which products the headline shows)."""
    if "riskseg" not in config["modules"]:
        return {}
    variants = config["riskseg"]["variants"]
    return {
        "comparison": config_section("riskseg", "comparison"),
        "crf": {name: spec["crf"] for name, spec in variants.items()},
    }


def summary_downscale_scores():
    """The downscale score files by run name."""
    if "downscale" not in config["modules"]:
        return {}
    return downscale_runs(f"{RESULTS}/downscale/scores/{{run}}.json")
