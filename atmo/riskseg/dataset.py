"""Training and validation tiles as a torch Dataset, read tile by tile from HDF5.

The validation split is read from the tiles file (``<split>`` groups of :mod:`atmo.riskseg.tiles`);
the training split from the oversampled file (:mod:`atmo.riskseg.oversample`) when the variant
oversamples, else from the tiles file. One tile is one HDF5 chunk, so a read is one decompression,
and the file is opened lazily in the process that reads it (safe with loader workers).
"""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.riskseg import LABEL_NODATA
from atmo.riskseg.augment import TileAugmenter


def band_names_of(path: str | os.PathLike[str]) -> list[str]:
    """The band names a tiles (or oversampled tiles) file was made from."""
    with open_hdf5(path) as handle:
        if "band_names" not in handle.attrs:
            raise InputError(path, "has no 'band_names' attribute; not a riskseg tiles file")
        return [str(name) for name in handle.attrs["band_names"]]


class RisksegTiles(Dataset):
    """``{"image": (C, h, w) float32, "label": (h, w) int64}`` per tile of ``split`` in ``path``."""

    def __init__(self, path: str | os.PathLike[str], split: str, augment: TileAugmenter | None = None) -> None:
        self.path, self.split, self.augment = os.fspath(path), split, augment
        with open_hdf5(path) as handle:
            if split not in handle:
                raise InputError(path, f"has no group {split!r}")
            image = require_dataset(handle[split], "image", kinds="f", ndim=4)
            label = require_dataset(handle[split], "label", kinds="u", ndim=3)
            if image.shape[0] != label.shape[0] or image.shape[2:] != label.shape[1:]:
                raise InputError(path, f"{split}: image {image.shape} and label {label.shape} do not match")
            self.n_tiles, self.n_bands = image.shape[0], image.shape[1]
            self.valid_pixels = int(sum(np.count_nonzero(label[i] != LABEL_NODATA) for i in range(len(label))))
        if self.n_tiles == 0 or self.valid_pixels == 0:
            raise InputError(path, f"split {split!r} has no tile with a labelled pixel (only nodata)")
        self._handle: h5py.File | None = None

    def __len__(self) -> int:
        return self.n_tiles

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self._handle is None:
            self._handle = h5py.File(self.path, "r")
        group = self._handle[self.split]
        image = torch.from_numpy(group["image"][index])
        label = torch.from_numpy(group["label"][index].astype(np.int64))
        if self.augment is not None:
            image, label = self.augment(image, label)
        return {"image": image.contiguous(), "label": label.contiguous()}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handle": None}
