"""Training items of one split: the normalised coarse input and the fine target in mm.

Coarse input ``(C, h, w)`` float32, ``C = 1 + n_predictors``:

- channel 0: ``log1p(precip_lr_mm)`` — compresses the heavy tail to a range a conv handles (0..~5)
  without any fitted statistic;
- channels 1..: each predictor standardised, ``(x - mean) / std``, with mean and std over every
  cell and day of the *training* split only (a constant channel keeps ``std = 1``).

Fine target ``fine_mm (H, W)`` float32 in mm, untransformed: the decoder's distribution
(:mod:`atmo.downscale.likelihood`) is over mm, so samples are in mm with no inverse transform to
forget. (The encoder applies ``log1p`` to it internally.)

Base field ``base_mm (H, W)`` float32: the mass-consistent bicubic interpolation of the coarse
precipitation (:func:`atmo.downscale.baselines.bicubic_mm`, the bicubic baseline itself), on which
a residual model's mean is built. It is a function of the coarse input alone, so it leaks nothing.

The normalisation statistics travel in the model's ``meta`` (:meth:`CoarseNormaliser.to_dict`),
so sampling a checkpoint normalises the test inputs exactly as training did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from atmo.downscale.baselines import bicubic_mm
from atmo.downscale.field_files import DownscaleFields


@dataclass(frozen=True)
class CoarseNormaliser:
    """Per-predictor mean and std of the training split, and the transform of the module docstring."""

    predictor_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, fields: DownscaleFields, train_indices: Sequence[int] | np.ndarray) -> CoarseNormaliser:
        """Statistics of ``fields.predictors_lr`` over the training samples ``train_indices`` only."""
        train = fields.predictors_lr[np.asarray(train_indices, dtype=np.int64)].astype(np.float64)
        if train.shape[0] == 0:
            raise ValueError("the training split is empty: no statistics to normalise with")
        mean = train.mean(axis=(0, 2, 3))
        std = train.std(axis=(0, 2, 3))
        std = np.where(std > 0, std, 1.0)
        return cls(tuple(fields.predictor_names), tuple(map(float, mean)), tuple(map(float, std)))

    @property
    def in_channels(self) -> int:
        return 1 + len(self.predictor_names)

    def transform(self, precip_lr_mm: np.ndarray, predictors_lr: np.ndarray) -> np.ndarray:
        """``(N, h, w)`` mm and ``(N, C, h, w)`` -> the model input ``(N, 1 + C, h, w)`` float32."""
        mean = np.asarray(self.mean, np.float64)[None, :, None, None]
        std = np.asarray(self.std, np.float64)[None, :, None, None]
        if predictors_lr.shape[1] != len(self.mean):
            raise ValueError(f"{predictors_lr.shape[1]} predictors, but the statistics are of {len(self.mean)}")
        precip = np.log1p(np.clip(precip_lr_mm.astype(np.float64), 0.0, None))[:, None]
        return np.concatenate([precip, (predictors_lr - mean) / std], axis=1).astype(np.float32)

    def transform_fields(self, fields: DownscaleFields, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """The model input of samples ``indices`` of ``fields``."""
        idx = np.asarray(indices, dtype=np.int64)
        return self.transform(fields.precip_lr_mm[idx], fields.predictors_lr[idx])

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint's ``meta``."""
        return {"predictor_names": list(self.predictor_names), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CoarseNormaliser:
        return cls(tuple(d["predictor_names"]), tuple(map(float, d["mean"])), tuple(map(float, d["std"])))


def base_fields_mm(fields: DownscaleFields, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """The base field ``(N, H, W)`` float32 mm of samples ``indices``: mass-consistent bicubic of ``precip_lr_mm``."""
    idx = np.asarray(indices, dtype=np.int64)
    return bicubic_mm(fields.precip_lr_mm[idx], fields.factor, mass_consistent=True).astype(np.float32)


class DownscaleDataset(Dataset):
    """Samples ``indices`` of ``fields`` as ``{"coarse" (C, h, w), "fine_mm" (H, W), "base_mm" (H, W), "index"}``,
    in memory.

    The arrays are built once in the constructor, so ``DataLoader(num_workers > 0)`` forks no file handle.
    """

    def __init__(
        self, fields: DownscaleFields, indices: Sequence[int] | np.ndarray, normaliser: CoarseNormaliser
    ) -> None:
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if tuple(fields.predictor_names) != normaliser.predictor_names:
            raise ValueError(
                f"fields have predictors {list(fields.predictor_names)}, "
                f"the normaliser was fitted on {list(normaliser.predictor_names)}"
            )
        self.coarse = np.ascontiguousarray(normaliser.transform_fields(fields, self.indices))
        self.fine_mm = np.ascontiguousarray(fields.precip_hr_mm[self.indices], dtype=np.float32)
        self.base_mm = np.ascontiguousarray(base_fields_mm(fields, self.indices))

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        return {
            "coarse": torch.from_numpy(self.coarse[i]),
            "fine_mm": torch.from_numpy(self.fine_mm[i]),
            "base_mm": torch.from_numpy(self.base_mm[i]),
            "index": int(self.indices[i]),
        }
