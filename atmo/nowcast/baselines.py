"""Untrained nowcasting baselines of the SEVIR benchmark: persistence and optical flow.

Both take the VIL history of a batch, ``(B, T_in, H, W)`` in code/255 scale (``x[:, :, 0]`` of a
nowcast batch), and return ``(B, T_out, H, W)`` float32 in the same scale, so they are scored exactly
like a trained model.

- Persistence repeats the last observed frame: the floor every model must beat.
- Optical flow estimates one motion field with Lucas-Kanade feature tracking over the last
  ``n_motion_frames`` frames (pysteps ``motion.get_method("LK")``) and advects the last frame along it
  with semi-Lagrangian extrapolation (pysteps ``nowcasts.get_method("extrapolation")``). Pixels whose
  backward trajectory leaves the domain come back as NaN (unknown inflow) and are set to 0 (no echo);
  the result is clipped to [0, 1]. pysteps works on one sample at a time, so the batch is looped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from atmo.pysteps_quiet import pysteps_module

log = logging.getLogger(__name__)

MOTION_FRAMES = 3  # frames the Lucas-Kanade motion is estimated from (the baseline and the cache's prior)


def persistence(vil_history: ArrayLike, n_leads: int) -> np.ndarray:
    """Repeat the last frame of ``(B, T_in, H, W)`` for ``n_leads`` steps -> ``(B, n_leads, H, W)``."""
    history = _check_history(vil_history, n_leads, min_frames=1)
    last = history[:, -1:]
    return np.repeat(last, n_leads, axis=1)


def _check_motion_frames(n_motion_frames: int) -> None:
    """Motion needs two frames at least; checked before any frame is read."""
    if n_motion_frames < 2:
        raise ValueError(f"n_motion_frames must be >= 2 (motion needs two frames), got {n_motion_frames}")


def lk_motion(frames: ArrayLike, n_motion_frames: int = MOTION_FRAMES) -> np.ndarray:
    """Lucas-Kanade motion ``(2, H, W)`` float32 of the last ``n_motion_frames`` of ``frames (T, H, W)``.

    Channels ``(x, y)`` (columns, rows) in pixels per frame interval, pysteps' ``(u, v)``. The nowcast
    cache stores this field per sample as the SGT's motion prior in float16 (half the disk), so it is
    rounded to float16 here: the prior and the optical-flow baseline stay exactly the same motion.
    The rounding is relative 2**-11, under 1e-3 px for the few pixels per step storms move.
    """
    _check_motion_frames(n_motion_frames)
    recent = np.asarray(frames, dtype=np.float64)[-n_motion_frames:]
    if recent.ndim != 3 or len(recent) < n_motion_frames:
        raise ValueError(f"need (T >= {n_motion_frames}, H, W) frames for the motion, got {np.shape(frames)}")
    motion_method, _ = _pysteps_methods()
    return motion_method(recent).astype(np.float16).astype(np.float32)


def optical_flow(vil_history: ArrayLike, n_leads: int, *, n_motion_frames: int = MOTION_FRAMES) -> np.ndarray:
    """Lucas-Kanade motion + semi-Lagrangian extrapolation of ``(B, T_in, H, W)`` -> ``(B, n_leads, H, W)``.

    The motion field is in pixels per frame interval, so lead ``k`` lies ``k`` intervals ahead.
    """
    _check_motion_frames(n_motion_frames)
    history = _check_history(vil_history, n_leads, min_frames=n_motion_frames)
    _, extrapolate = _pysteps_methods()
    out = np.empty((history.shape[0], n_leads, *history.shape[2:]), dtype=np.float32)
    for b, frames in enumerate(history):
        velocity = lk_motion(frames, n_motion_frames).astype(np.float64)
        advected = extrapolate(frames[-1].astype(np.float64), velocity, n_leads)
        out[b] = np.clip(np.nan_to_num(advected, nan=0.0), 0.0, 1.0)
        log.debug("sample %d: mean |motion| %.2f px/frame", b, float(np.hypot(*velocity).mean()))
    return out


#: Baselines by the names the workflow uses; each maps ``(vil_history, n_leads) -> forecast``.
BASELINES: dict[str, Callable[..., np.ndarray]] = {
    "persistence": persistence,
    "optical_flow": optical_flow,
}


def _pysteps_methods() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """pysteps' Lucas-Kanade motion and semi-Lagrangian extrapolation (imported on first use)."""
    return pysteps_module("motion").get_method("LK"), pysteps_module("nowcasts").get_method("extrapolation")


def _check_history(vil_history: ArrayLike, n_leads: int, *, min_frames: int) -> np.ndarray:
    """Validate ``(B, T_in, H, W)`` with ``T_in >= min_frames`` and finite values; return it as float32."""
    history = np.asarray(vil_history, dtype=np.float32)
    if history.ndim != 4:
        raise ValueError(f"VIL history must have shape (B, T_in, H, W), got {history.shape}")
    if history.shape[1] < min_frames:
        raise ValueError(f"need at least {min_frames} input frames, got {history.shape[1]}")
    if n_leads < 1:
        raise ValueError(f"n_leads must be >= 1, got {n_leads}")
    if not np.isfinite(history).all():
        raise ValueError("VIL history contains NaN or infinite values")
    return history
