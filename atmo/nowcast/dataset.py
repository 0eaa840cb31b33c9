"""PyTorch dataset over a nowcast cache file (``results/nowcast/cache/{split}.h5``).

It reuses :class:`atmo.io.h5dataset.H5ArrayDataset`, which opens the HDF5 file lazily once per
worker process, so a ``DataLoader`` with ``num_workers > 0`` is safe. On construction it checks the
file's layout against the cache contract so a stale or foreign cache fails with the file's name.
"""

from __future__ import annotations

import json
import os

import torch

from atmo.errors import InputError
from atmo.io.h5dataset import H5ArrayDataset
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.nowcast.sevir_files import MODALITIES
from atmo.settings import settings_block
from atmo.train.dihedral import draw_dihedral, transform_field, transform_vectors


class AugmentSettings(settings_block("nowcast", "augment")):
    """The ``nowcast.augment`` block: random flips and quarter turns of training samples.

    Storms move in every direction, so a flipped or turned sample (its motion prior turned with it)
    is as plausible as the original; it multiplies the few training samples of a CPU run by up to 8.
    """


REQUIRED_ATTRS = ("frames_in", "frames_out", "grid_size", "km_per_pixel", "modalities", "normalisation")


class NowcastDataset(H5ArrayDataset):
    """Item: ``{"x": (T_in, 4, H, W) f32, "y": (T_out, H, W) f32, "present": (4,) bool, "motion": (2, H, W) f32}``.

    Channels of ``x`` are ``[vil, ir069, ir107, lght]``; VIL in ``x`` and ``y`` is code/255, so
    persistence is ``x[:, -1, 0]``; ``motion`` is the optical-flow motion of the last input frames in
    pixels per frame, channels ``(x, y)`` (the SGT's motion prior). The file stores ``x``, ``y`` and
    ``motion`` as float16; items are float32 (:class:`H5ArrayDataset`). Attributes ``frames_in``,
    ``frames_out``, ``grid_size``, ``km_per_pixel`` and ``normalisation`` (dict) describe the file.
    With ``augment`` every item is flipped and turned at random (all fields alike, the motion's
    components too), for training.
    """

    def __init__(self, path: str | os.PathLike[str], augment: AugmentSettings | None = None) -> None:
        self.augment = augment
        with open_hdf5(path) as handle:
            absent = [a for a in REQUIRED_ATTRS if a not in handle.attrs]
            if absent:
                raise InputError(path, f"not a nowcast cache: attribute(s) {absent} missing")
            t_in, t_out, grid = (int(handle.attrs[a]) for a in ("frames_in", "frames_out", "grid_size"))
            if list(handle.attrs["modalities"]) != list(MODALITIES):
                raise InputError(path, f"channels {list(handle.attrs['modalities'])}, expected {list(MODALITIES)}")
            n = require_dataset(handle, "x", kinds="f", shape=(None, t_in, len(MODALITIES), grid, grid)).shape[0]
            require_dataset(handle, "y", kinds="f", shape=(n, t_out, grid, grid))
            require_dataset(handle, "present", kinds="b", shape=(n, len(MODALITIES)))
            require_dataset(handle, "motion", kinds="f", shape=(n, 2, grid, grid))
            self.frames_in, self.frames_out, self.grid_size = t_in, t_out, grid
            self.km_per_pixel = float(handle.attrs["km_per_pixel"])
            self.normalisation = json.loads(handle.attrs["normalisation"])
        super().__init__(path, ("x", "y", "present", "motion"))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = super().__getitem__(index)
        if self.augment is None:
            return item
        op = draw_dihedral(self.augment.flips, self.augment.rot90, square=True)  # the cache's grid is square
        item["x"], item["y"] = transform_field(item["x"], op), transform_field(item["y"], op)
        item["motion"] = transform_vectors(item["motion"], op)
        return item
