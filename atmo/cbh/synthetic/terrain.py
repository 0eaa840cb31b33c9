"""Synthetic terrain under a CBH flight: an analytic height field, cheap to evaluate anywhere.

The terrain is a sum of random plane waves (cosines), so the flight generator, the renderer and
the ERA5 generator evaluate the same surface at any point without sharing a map. Two scales:

- **large** (wavelengths 60-200 km): what a 0.25-degree model grid resolves; the boundary layer and
  its cloud base follow it;
- **small** (wavelengths 4-25 km): hills inside one camera frame. The cloud base follows them only
  in part (:data:`atmo.cbh.synthetic.state.TERRAIN_FOLLOWING`), so the base above ground differs from
  hill to valley, and shadows fall on ground of varying height.

Over the ocean both amplitudes are zero. Heights are metres, positions kilometres east and north of
the flight's centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LARGE_WAVELENGTH_KM = (60.0, 200.0)
SMALL_WAVELENGTH_KM = (4.0, 25.0)
N_MODES = 8


@dataclass(frozen=True)
class Terrain:
    """Height field ``mean_m + large + small``; each part is (N_MODES,) plane waves.

    ``k_*`` are wavenumbers (rad/km) east and north, ``amp_*`` amplitudes (m), ``phase_*`` radians.
    """

    mean_m: float
    k_large: np.ndarray  # (N_MODES, 2)
    amp_large: np.ndarray
    phase_large: np.ndarray
    k_small: np.ndarray
    amp_small: np.ndarray
    phase_small: np.ndarray

    def large_m(self, east_km: np.ndarray, north_km: np.ndarray) -> np.ndarray:
        """Mean height plus the large-scale part at the points, m (what a coarse model grid sees)."""
        return self.mean_m + _waves(self.k_large, self.amp_large, self.phase_large, east_km, north_km)

    def small_m(self, east_km: np.ndarray, north_km: np.ndarray) -> np.ndarray:
        """The small-scale part (hills inside one frame) at the points, m; zero mean."""
        return _waves(self.k_small, self.amp_small, self.phase_small, east_km, north_km)

    def small_on_grid(self, east_km: np.ndarray, north_km: np.ndarray) -> np.ndarray:
        """(H, W) small-scale part on the grid of (W,) ``east_km`` by (H,) ``north_km``.

        Each plane wave is separable (``cos(a + b) = cos a cos b - sin a sin b``), so a frame costs
        two outer products per wave instead of a cosine per pixel.
        """
        out = np.zeros((north_km.size, east_km.size))
        for (k_east, k_north), amp, phase in zip(self.k_small, self.amp_small, self.phase_small, strict=True):
            a = k_east * east_km + phase
            b = k_north * north_km
            out += amp * (np.outer(np.cos(b), np.cos(a)) - np.outer(np.sin(b), np.sin(a)))
        return out


def _waves(k: np.ndarray, amp: np.ndarray, phase: np.ndarray, east_km: np.ndarray, north_km: np.ndarray) -> np.ndarray:
    east, north = np.asarray(east_km, dtype=np.float64), np.asarray(north_km, dtype=np.float64)
    arg = east[..., None] * k[:, 0] + north[..., None] * k[:, 1] + phase
    return (amp * np.cos(arg)).sum(axis=-1)


def random_terrain(rng: np.random.Generator, mean_m: float, large_std_m: float, small_std_m: float) -> Terrain:
    """Terrain whose large and small parts have standard deviations ``large_std_m`` and ``small_std_m``."""

    def modes(wavelengths_km: tuple[float, float], std_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wavelength = np.exp(rng.uniform(*np.log(wavelengths_km), N_MODES))
        direction = rng.uniform(0.0, 2 * np.pi, N_MODES)
        k = (2 * np.pi / wavelength)[:, None] * np.stack([np.sin(direction), np.cos(direction)], axis=1)
        return k, np.full(N_MODES, std_m * np.sqrt(2.0 / N_MODES)), rng.uniform(0.0, 2 * np.pi, N_MODES)

    k_large, amp_large, phase_large = modes(LARGE_WAVELENGTH_KM, large_std_m)
    k_small, amp_small, phase_small = modes(SMALL_WAVELENGTH_KM, small_std_m)
    return Terrain(mean_m, k_large, amp_large, phase_large, k_small, amp_small, phase_small)
