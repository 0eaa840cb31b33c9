"""The synthetic rain texture: power-law spectrum, scale-dependent memory, advection, mean 1."""

from __future__ import annotations

import numpy as np

from atmo.nowcast.synthetic.rain_texture import BETA, SIGMA_LN, evolving_log_field, rain_texture

SIZE = 128
SLOPE_RANGE = (2.5, 3.5)  # 2-D power spectrum slopes of radar rain fields (the module's stated range)


def _wavenumber_px() -> np.ndarray:
    """|k| in cycles per image of the full fft2 grid."""
    return np.hypot(np.fft.fftfreq(SIZE)[:, None], np.fft.fftfreq(SIZE)[None, :]) * SIZE


def test_log_texture_has_the_power_law_spectrum() -> None:
    """Least-squares slope of log power on log |k| over every mode with a wavelength of 4-32 km."""
    rng = np.random.default_rng(0)
    fields = [evolving_log_field(rng, SIZE, np.zeros((4, 2))) for _ in range(6)]
    power = np.mean([np.abs(np.fft.fft2(z)) ** 2 for z in fields], axis=(0, 1))
    k = _wavenumber_px()
    band = (k >= SIZE / 32) & (k <= SIZE / 4)
    slope = -np.polyfit(np.log(k[band]), np.log(power[band]), 1)[0]
    assert SLOPE_RANGE[0] <= BETA <= SLOPE_RANGE[1]
    assert abs(slope - BETA) < 0.15 and SLOPE_RANGE[0] <= slope <= SLOPE_RANGE[1], slope


def _band(z: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``z (T, S, S)`` keeping the modes with lo <= |k| < hi cycles per image."""
    k = _wavenumber_px()
    return np.real(np.fft.ifft2(np.fft.fft2(z) * ((k >= lo) & (k < hi))))


def _lag_correlation(z: np.ndarray, lag: int) -> float:
    return float(np.mean([np.corrcoef(z[t].ravel(), z[t + lag].ravel())[0, 1] for t in range(len(z) - lag)]))


def test_small_scales_forget_within_a_few_frames_large_ones_persist() -> None:
    z = evolving_log_field(np.random.default_rng(1), SIZE, np.zeros((10, 2)))
    fine, coarse = _band(z, SIZE / 4, SIZE / 2), _band(z, SIZE / 64, SIZE / 32)  # 2-4 km, 32-64 km
    assert _lag_correlation(fine, 3) < 0.3
    assert _lag_correlation(coarse, 3) > 0.8


def test_texture_moves_with_the_wind() -> None:
    shift = np.tile([3.0, -2.0], (6, 1))  # 3 km east (columns), 2 km north (up the rows) per frame
    z = evolving_log_field(np.random.default_rng(2), SIZE, shift)

    def correlation(a: np.ndarray) -> float:
        return float(np.corrcoef(a.ravel(), z[1].ravel())[0, 1])

    along, still, against = (correlation(np.roll(z[0], (-2 * s, 3 * s), axis=(0, 1))) for s in (1, 0, -1))
    assert along > 0.9 and along > still + 0.1 and still > against


def test_texture_is_a_log_normal_multiplier_of_mean_one() -> None:
    texture = rain_texture(np.random.default_rng(3), SIZE, np.zeros((8, 2)))
    assert texture.dtype == np.float32 and texture.shape == (8, SIZE, SIZE) and texture.min() > 0
    assert abs(texture.mean() - 1.0) < 0.05
    assert abs(np.log(texture).std() - SIGMA_LN) < 0.05
