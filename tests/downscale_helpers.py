"""Helpers shared by the downscale unit and workflow tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from atmo.downscale.field_files import DownscaleFields, write_fields
from atmo.downscale.split import time_split
from atmo.downscale.synthetic.fields import generate_fields


def time_subset(fields: DownscaleFields, keep: slice | np.ndarray) -> DownscaleFields:
    """The samples ``keep`` (a slice, or a boolean or index array over time) of ``fields``; grid and metadata kept."""
    return replace(
        fields,
        precip_hr_mm=fields.precip_hr_mm[keep],
        precip_lr_mm=fields.precip_lr_mm[keep],
        predictors_lr=fields.predictors_lr[keep],
        time_s=fields.time_s[keep],
    )


#: A small synthetic configuration: 24 days of 16 x 16 cells, factor 4 (coarse 4 x 4).
TINY_SYNTHETIC = {
    "n_samples": 24,
    "height": 16,
    "width": 16,
    "factor": 4,
    "dry_fraction": 0.5,
    "intensity_mm": 8.5,
    "tail": 0.6,
    "predictability": 0.6,
    "persistence": 0.6,
    "texture_beta": 3.3,
    "texture_persistence": 0.3,
    "start_date": "2001-01-01",
    "south_lat_deg": 43.0,
    "west_lon_deg": 5.0,
    "spacing_deg": 0.0625,
}


def tiny_fields_file(path: Path, seed: int = 0, **override) -> Path:
    """Write synthetic fields (``TINY_SYNTHETIC`` updated by ``override``) with a time split to ``path``."""
    fields = generate_fields(seed=seed, **{**TINY_SYNTHETIC, **override})
    split = time_split(fields.time_s, val_fraction=0.2, test_fraction=0.2, gap_steps=1)
    write_fields(path, fields, split)
    return path
