"""Helpers shared by the downscale unit and workflow tests."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from atmo.io.downscale import DownscaleFields


def time_subset(fields: DownscaleFields, keep: slice | np.ndarray) -> DownscaleFields:
    """The samples ``keep`` (a slice, or a boolean or index array over time) of ``fields``; grid and metadata kept."""
    return replace(
        fields,
        precip_hr_mm=fields.precip_hr_mm[keep],
        precip_lr_mm=fields.precip_lr_mm[keep],
        predictors_lr=fields.predictors_lr[keep],
        time_s=fields.time_s[keep],
    )
