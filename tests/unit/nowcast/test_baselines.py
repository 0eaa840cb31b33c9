"""Persistence and optical-flow baselines on storms the test builds (translating Gaussian cells)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from atmo.metrics.contingency import ContingencyAccumulator
from atmo.nowcast.baselines import BASELINES, lk_motion, optical_flow, persistence

T_IN, T_OUT, SIZE = 5, 6, 64


def translating_cells(velocity_px: tuple[float, float], seed: int, size: int = SIZE) -> np.ndarray:
    """``(T_IN + T_OUT, size, size)`` code/255 field: three Gaussian cells moving ``velocity_px`` per frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    centres = rng.uniform(0.2 * size, 0.5 * size, size=(3, 2))
    widths = rng.uniform(3.0, 6.0, size=3)
    peaks = rng.uniform(0.5, 0.9, size=3)
    frames = np.zeros((T_IN + T_OUT, size, size))
    for t in range(T_IN + T_OUT):
        for (cy, cx), width, peak in zip(centres, widths, peaks, strict=True):
            dy, dx = yy - cy - velocity_px[0] * t, xx - cx - velocity_px[1] * t
            frames[t] += peak * np.exp(-(dy**2 + dx**2) / (2 * width**2))
    return np.clip(frames, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def storms() -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(2, T_IN, H, W)`` and future truth ``(2, T_OUT, H, W)`` for two storms moving at (1, 2) px/frame."""
    data = np.stack([translating_cells((1.0, 2.0), seed) for seed in (0, 1)])
    return data[:, :T_IN], data[:, T_IN:]


def csi74(forecast: np.ndarray, truth: np.ndarray) -> float:
    acc = ContingencyAccumulator([74], n_leads=forecast.shape[1])
    acc.update(forecast, truth)
    return float(acc.scores()["csi_all"][0])


def test_persistence_repeats_last_frame(storms: tuple[np.ndarray, np.ndarray]) -> None:
    inputs, _ = storms
    out = persistence(inputs, T_OUT)
    assert out.shape == (2, T_OUT, SIZE, SIZE) and out.dtype == np.float32
    for k in range(T_OUT):
        np.testing.assert_array_equal(out[:, k], inputs[:, -1])


def test_optical_flow_tracks_the_moving_storm(storms: tuple[np.ndarray, np.ndarray]) -> None:
    inputs, truth = storms
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pysteps: few features -> outlier-detection warning
        flow = optical_flow(inputs, T_OUT)
    assert flow.shape == truth.shape and flow.dtype == np.float32
    assert np.isfinite(flow).all() and flow.min() >= 0 and flow.max() <= 1
    flow_csi, persistence_csi = csi74(flow, truth), csi74(persistence(inputs, T_OUT), truth)
    assert flow_csi > persistence_csi + 0.2
    assert flow_csi > 0.9  # rigid translation: extrapolation should be almost exact
    # per sample: the loop over the batch gives the same result as one sample at a time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(optical_flow(inputs[1:], T_OUT)[0], flow[1], atol=1e-6)


def test_optical_flow_inflow_boundary_is_zero_not_nan() -> None:
    # Storm moving right over a weak uniform echo: the left edge has no upstream data (pysteps gives
    # NaN there), which must become 0, not NaN and not the echo persisted.
    data = np.clip(translating_cells((0.0, 3.0), seed=4) + 0.2, 0, 1)[None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        flow = optical_flow(data[:, :T_IN], T_OUT)
    assert np.isfinite(flow).all()
    assert (flow[0, -1, :, :3] == 0).all()
    assert (flow[0, -1, 8:-8, -3:] >= 0.2 - 1e-6).all()  # downstream the echo is carried along


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match=r"\(B, T_in, H, W\)"):
        persistence(np.zeros((4, 8, 8)), 3)
    with pytest.raises(ValueError, match="at least 3 input frames"):
        optical_flow(np.zeros((1, 2, 8, 8)), 3)
    with pytest.raises(ValueError, match="n_motion_frames"):
        optical_flow(np.zeros((1, 4, 8, 8)), 3, n_motion_frames=1)
    with pytest.raises(ValueError, match="NaN"):
        persistence(np.full((1, 2, 8, 8), np.nan), 3)
    with pytest.raises(ValueError, match="n_leads"):
        persistence(np.zeros((1, 2, 8, 8)), 0)
    assert set(BASELINES) == {"persistence", "optical_flow"}


def test_optical_flow_on_empty_field_is_zero() -> None:
    # A sample whose VIL is missing (all zeros in the cache) has no features to track: zero motion.
    out = optical_flow(np.zeros((1, T_IN, 32, 32), dtype=np.float32), T_OUT)
    assert out.shape == (1, T_OUT, 32, 32) and not out.any()


def test_motion_is_rounded_to_float16_within_a_thousandth_of_a_pixel(storms: tuple[np.ndarray, np.ndarray]) -> None:
    """The cache stores the prior as float16: the baseline's motion must be that same rounded field."""
    from pysteps import motion as pysteps_motion

    frames = storms[0][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        motion = lk_motion(frames)
        exact = pysteps_motion.get_method("LK")(frames[-3:].astype(np.float64))
    assert motion.dtype == np.float32 and np.abs(motion).max() > 1  # storms move (1, 2) px per frame
    np.testing.assert_array_equal(motion.astype(np.float16).astype(np.float32), motion)
    assert np.abs(motion - exact).max() < 1e-3
