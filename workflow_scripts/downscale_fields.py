"""Build results/downscale/fields.h5: generate or read (and validate) the fields, then split by time."""

from dataclasses import asdict

from atmo.downscale.describe import describe_fields
from atmo.downscale.field_files import load_fields, write_fields
from atmo.downscale.split import TimeSplitSettings, time_split
from atmo.downscale.synthetic.fields import SyntheticDownscaleSettings, generate_fields
from atmo.io.atomic import write_json
from atmo.runlog import log_to
from atmo.settings import build_block

log = log_to(snakemake.log[0])
params = snakemake.params
if params.source == "synthetic":
    synthetic = build_block(SyntheticDownscaleSettings, params.synthetic, "downscale.synthetic")
    fields = generate_fields(seed=params.seed, **asdict(synthetic))
else:
    fields = load_fields(snakemake.input.sources)
split_settings = build_block(TimeSplitSettings, params.split, "downscale.split")
split = time_split(fields.time_s, **asdict(split_settings), where=fields.source)
write_fields(snakemake.output.fields, fields, split)
write_json(snakemake.output.summary, describe_fields(fields, split))
log.info("split sizes: %s", {name: len(indices) for name, indices in split.items()})
