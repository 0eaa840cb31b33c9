"""Download the riskseg scene and label rasters listed in the configured manifest (source: url)."""

from pathlib import Path

from atmo.io.download import DOWNLOAD_PROGRESS, transfer_settings
from atmo.riskseg.scene import fetch_scene
from atmo.runlog import log_to

log = log_to(snakemake.log[0], console=DOWNLOAD_PROGRESS)
transfer = transfer_settings(snakemake.config["riskseg"]["url"])  # not params: a timeout changes no file
paths = fetch_scene(snakemake.input.manifest, Path(snakemake.output.scene).parent, **transfer)
log.info("downloaded and verified %s", [str(path) for path in paths])
