"""The block mean that defines the coarse view of a high-resolution field.

The downscale format requires ``precip_lr_mm`` to be exactly the ``f x f`` block mean of
``precip_hr_mm``, the synthetic generator builds its coarse predictors with it, and a downscaled
field can be coarsened with it and compared with its input (mass consistency).
"""

from __future__ import annotations

import numpy as np


def coarsen(field: np.ndarray, factor: int) -> np.ndarray:
    """Block mean over the last two axes: ``(..., H, W) -> (..., H/f, W/f)``, float32.

    ``H`` and ``W`` must be multiples of ``factor`` (checked by the callers, which know the file or
    config key to blame); the mean is accumulated in float64 so that it matches a reader's check
    to float32 rounding.
    """
    *lead, height, width = field.shape
    if factor < 1 or height % factor or width % factor:
        raise ValueError(f"a {height}x{width} grid cannot be coarsened by factor {factor}")
    blocks = field.reshape(*lead, height // factor, factor, width // factor, factor)
    return blocks.mean(axis=(-3, -1), dtype=np.float64).astype(np.float32)
