"""cbh_flights: write one flight's HDF5 file, synthetic or the validated local campaign file."""

from pathlib import Path

import numpy as np

from atmo.cbh.flight_files import import_local_flight
from atmo.cbh.synthetic.flights import CameraSettings, write_synthetic_flight
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0])
names = [flight["name"] for flight in snakemake.params.flights]
index = names.index(snakemake.wildcards.flight)
flight = snakemake.params.flights[index]
if snakemake.params.source == "local":
    source = Path(snakemake.params.local_dir) / f"{flight['name']}.h5"
    track = import_local_flight(source, snakemake.output.flight, flight["name"], flight["samples"])
else:
    track = write_synthetic_flight(
        snakemake.output.flight,
        flight["name"],
        index,
        len(names),
        flight["hours"],
        build_block(CameraSettings, snakemake.params.synthetic, "cbh.synthetic"),
        snakemake.params.seed,
    )
log.info(
    "wrote %s (%s, %d frames, %d labelled)",
    snakemake.output.flight,
    snakemake.params.source,
    track.n_samples,
    np.isfinite(track.cbh_km).sum(),
)
