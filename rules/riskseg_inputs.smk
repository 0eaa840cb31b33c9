"""Paths and input functions of the riskseg rules (kept apart from the rules: snakemake --lint)."""

RISKSEG = f"{RESULTS}/riskseg"


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


def riskseg_targets(wildcards):
    """Final outputs of the riskseg module (data stage: the tiles and their summary)."""
    return list(rules.riskseg_tiles.output)
