"""Download one file of the downscale archive listed in the manifest, verified and resumable."""

from atmo.io.download import download
from atmo.runlog import log_to

log_to(snakemake.log[0])
entry, transfer = snakemake.params.entry, snakemake.params.transfer
download(
    entry["url"],
    snakemake.output.data,
    size=entry["size"],
    sha256=entry["sha256"],
    retries=transfer["retries"],
    timeout_s=transfer["timeout_s"],
    backoff_s=transfer["backoff_s"],
)
