"""Download one file of the downscale archive listed in the manifest, verified and resumable."""

from atmo.downscale.url_source import UrlSourceSettings
from atmo.io.download import DOWNLOAD_PROGRESS, download
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0], console=DOWNLOAD_PROGRESS)
entry = snakemake.params.entry  # url, size, sha256 of one manifest entry (read by read_manifest)
# the transfer keys are not params (a timeout changes no file): read from the config
transfer = build_block(UrlSourceSettings, snakemake.config["downscale"]["url"], "downscale.url")
download(
    entry["url"],
    snakemake.output.data,
    size=entry["size"],
    sha256=entry["sha256"],
    retries=transfer.retries,
    timeout_s=transfer.timeout_s,
    backoff_s=transfer.backoff_s,
)
