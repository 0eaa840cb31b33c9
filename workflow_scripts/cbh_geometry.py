"""cbh_geometry: shadow-geometry features of every sample of one flight."""

import numpy as np

from atmo.cbh.flight_files import read_flight_images, read_flight_track, write_features
from atmo.cbh.geometry import GEOMETRY_FEATURES, GeometrySettings, flight_shadow_features
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0])
track = read_flight_track(snakemake.input.flight, expected_name=snakemake.wildcards.flight)
settings = build_block(GeometrySettings, snakemake.params.geometry, "cbh.geometry")
features = flight_shadow_features(read_flight_images(snakemake.input.flight), track, settings)
write_features(
    snakemake.output.features,
    track.name,
    [name for name, _ in GEOMETRY_FEATURES],
    [unit for _, unit in GEOMETRY_FEATURES],
    features,
)
log.info("%s: shadow estimate for %d of %d samples", track.name, np.isfinite(features[:, 0]).sum(), track.n_samples)
