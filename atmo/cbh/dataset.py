"""PyTorch datasets over the CBH cache for MAE pretraining and network regression, read into memory once.

Both datasets open ``results/cbh/cache.h5`` once, in the constructor, read the frames of the
requested samples in slabs (never the whole file at once), keep only the encoder's view of each
(:mod:`atmo.cbh.views`) as uint8 patch tokens, and close the file. Items are then built from
memory, so nothing h5py crosses a ``fork`` and ``DataLoader(num_workers > 0)`` is safe and gives
the same batches as ``num_workers = 0``.

Items (collated into batches of ``B``)::

    CbhDataset: {"view": (T, P) float32 in [0, 1], "physical": (F,) float32, "cbh_km": () float32,
                 "prior_km": () float32 (0 unless given), "index": int}
    MaeDataset: {"view": (T, P) float32 in [0, 1], "index": int}

``index`` is the sample's row in the cache, so predictions can be joined back to flights.
``physical`` comes in already preprocessed (the fold's imputation and standardisation, fitted on
its training rows), one row per requested sample; ``F = 0`` for image-only runs.

:func:`load_encoder_into` (defined in :mod:`atmo.cbh.models`) is importable from here too: it is the
other thing a network job reads before training.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from atmo.cbh.models import load_encoder_into
from atmo.cbh.views import ViewSettings, n_tokens, patch_dim, patchify, select_view
from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5, require_dataset

__all__ = ["CbhDataset", "MaeDataset", "load_encoder_into", "read_view_patches"]

#: Bytes of frames read from the cache per slab.
SLAB_BYTES = 64 * 2**20


def read_view_patches(
    path: str | os.PathLike[str], indices: Sequence[int] | np.ndarray, view: ViewSettings
) -> tuple[np.ndarray, np.ndarray]:
    """``(patches (n, T, P) uint8, cbh_km (n,) float32)`` of the cache rows ``indices``, in their order.

    Opens ``path`` once; frames are read in slabs of consecutive rows (about ``SLAB_BYTES`` each)
    that contain requested rows. Raises :class:`InputError` for a cache without uint8 ``images``
    or ``cbh_km`` of matching length, and for indices outside the cache.
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    with open_hdf5(path) as handle:
        images = require_dataset(handle, "images", kinds="u", ndim=4)
        if images.dtype != np.uint8:
            raise InputError(path, f"dataset 'images' has dtype {images.dtype}, expected uint8")
        total, frame = images.shape[0], images.shape[1:]
        labels = require_dataset(handle, "cbh_km", kinds="f", shape=(total,))[...]
        if indices.size and (indices.min() < 0 or indices.max() >= total):
            raise InputError(path, f"sample indices {indices.min()}..{indices.max()} outside the {total} samples")
        patches = np.empty((indices.size, n_tokens(view, frame), patch_dim(view, frame)), np.uint8)
        order = np.argsort(indices, kind="stable")
        wanted = indices[order]
        rows = max(1, SLAB_BYTES // int(np.prod(frame)))
        for start in np.unique(wanted // rows) * rows:
            lo, hi = np.searchsorted(wanted, [start, start + rows])
            slab = images[start : min(start + rows, total)]
            selected = torch.from_numpy(select_view(slab[wanted[lo:hi] - start], view))
            patches[order[lo:hi]] = patchify(selected, view).numpy()
    return patches, labels[indices].astype(np.float32)


class MaeDataset(Dataset):
    """The views of cache rows ``indices`` for MAE pretraining: ``{"view", "index"}``."""

    def __init__(self, path: str | os.PathLike[str], indices: Sequence[int] | np.ndarray, view: ViewSettings) -> None:
        self.path = os.fspath(path)
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.view = view
        self.patches, self.cbh_km = read_view_patches(self.path, self.indices, view)

    def __len__(self) -> int:
        return int(self.indices.size)

    def _view(self, i: int) -> torch.Tensor:
        return torch.from_numpy(self.patches[i]).float().div_(255.0)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        return {"view": self._view(i), "index": int(self.indices[i])}


class CbhDataset(MaeDataset):
    """Views, physical features, labels and prior heights of cache rows ``indices`` (see the module doc).

    ``physical`` is (len(indices), F) float32, already imputed and standardised, row ``i`` for
    ``indices[i]``; ``None`` means no physical features (F = 0). Non-finite features or labels are
    refused (``ValueError`` / :class:`InputError`): they would silently turn the loss into NaN.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        indices: Sequence[int] | np.ndarray,
        view: ViewSettings,
        physical: np.ndarray | None = None,
        prior_km: np.ndarray | None = None,
    ) -> None:
        n = np.asarray(indices).size
        prior_km = np.zeros(n, np.float32) if prior_km is None else np.asarray(prior_km, np.float32).reshape(-1)
        if prior_km.shape != (n,) or not np.isfinite(prior_km).all():
            raise ValueError(f"prior_km must be {n} finite heights, one per index, got shape {prior_km.shape}")
        physical = np.zeros((n, 0), np.float32) if physical is None else np.asarray(physical, np.float32)
        if physical.ndim != 2 or physical.shape[0] != n:
            raise ValueError(f"physical features of shape {physical.shape}, expected ({n}, F): one row per index")
        bad = np.flatnonzero(~np.isfinite(physical).all(axis=1))
        if bad.size:
            first = bad[:5].tolist()
            raise ValueError(f"physical features are not finite in {bad.size} rows (first: {first}); impute them first")
        super().__init__(path, indices, view)
        bad = np.flatnonzero(~np.isfinite(self.cbh_km))
        if bad.size:
            raise InputError(path, f"cbh_km is not finite at samples {self.indices[bad[:5]].tolist()}")
        self.physical = np.ascontiguousarray(physical)
        self.prior_km = prior_km

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        return {
            "view": self._view(i),
            "physical": torch.from_numpy(self.physical[i]),
            "cbh_km": torch.tensor(self.cbh_km[i], dtype=torch.float32),
            "prior_km": torch.tensor(self.prior_km[i], dtype=torch.float32),
            "index": int(self.indices[i]),
        }
