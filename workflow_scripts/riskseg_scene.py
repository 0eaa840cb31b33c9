"""Write the riskseg scene and label GeoTIFFs in the standard form, from the configured source."""

from atmo.riskseg.scene import import_scene
from atmo.riskseg.synthetic.scene import SyntheticSceneSettings, write_synthetic_scene
from atmo.runlog import log_to
from atmo.settings import build_block

log_to(snakemake.log[0])
if snakemake.params.source == "synthetic":
    write_synthetic_scene(
        snakemake.output.scene,
        snakemake.output.labels,
        build_block(SyntheticSceneSettings, snakemake.params.synthetic, "riskseg.synthetic"),
        snakemake.params.seed,
    )
else:
    import_scene(snakemake.input.scene, snakemake.input.labels, snakemake.output.scene, snakemake.output.labels)
