"""cbh_era5: one ERA5 NetCDF covering every flight, synthetic or from the Copernicus CDS."""

from atmo.cbh.era5_files import Era5Settings, fetch_era5_cds
from atmo.cbh.flight_files import read_flight_track
from atmo.cbh.synthetic.era5 import write_synthetic_era5
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0])
settings = build_block(Era5Settings, snakemake.params.era5, "cbh.era5")
tracks = [read_flight_track(path) for path in snakemake.input.flights]
if settings.source == "era5_cds":
    fetch_era5_cds(snakemake.output.era5, tracks, settings)
else:
    write_synthetic_era5(snakemake.output.era5, tracks, settings, snakemake.params.seed)
log.info("wrote %s (%s, %d flights)", snakemake.output.era5, settings.source, len(tracks))
