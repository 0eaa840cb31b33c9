"""Ordinal 3-class raster risk segmentation (low < medium < high) on a multi-band GeoTIFF scene.

Data stage: :mod:`atmo.riskseg.scene` brings a scene and its label raster (synthetic, a user's
local files, or files listed in a download manifest) into one checked, standard form;
:mod:`atmo.riskseg.tiles` cuts it into spatially blocked train/val/test tiles in HDF5.
"""

CLASSES = (0, 1, 2)
CLASS_NAMES = ("low", "medium", "high")
# The standard form every source is brought into (atmo.riskseg.scene): float32 covariates with
# this nodata value, uint8 labels with LABEL_NODATA wherever either raster has no data.
SCENE_NODATA = -9999.0
LABEL_NODATA = 255
