"""Input functions and config checks of the downscale rules (kept apart from the rules: snakemake --lint)."""

from atmo.io.download import read_manifest

DOWNSCALE_RAW = f"{RESOURCES}/downscale/raw"


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


def downscale_targets(wildcards):
    """Final outputs of the downscale module (data stage: the fields file and its statistics)."""
    return [f"{RESULTS}/downscale/fields.h5", f"{RESULTS}/downscale/fields.json"]
