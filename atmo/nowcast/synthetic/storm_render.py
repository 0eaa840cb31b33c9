"""Storm history -> fields: VIL of the cells (1 km) and the cumulus of their IR precursors (2 km).

Why separate from the history: the initiation-free oracle renders the same history with some cells
hidden, so rendering must be a pure function of the history and a per-cell mask, and hiding a cell
must change nothing outside its own footprint (bit for bit): each cell's contribution is exactly zero
beyond a fixed number of its widths, and hidden cells still take part in every sum with amplitude 0
so sums keep their order.

A cell's VIL is an elliptical Gaussian core plus a broad circular skirt (its stratiform rain, sigma
2.5 core radii), scaled by its life-cycle amplitude: the core linearly, the skirt with its square
root (0.22 kg/m2 x sqrt(peak): 22 % of a 1 kg/m2 cell, 4 % of a 25 kg/m2 one), so weak showers are
mostly light rain, strong cores stand out, and the rain area is shared among many cells rather than
taken by the few strongest. The sum over cells is then multiplied by the log-normal rain texture.
Cores are evaluated on small windows (4 widths), skirts as separable outer products for all cells of
a frame at once (one matrix product).
"""

from __future__ import annotations

import numpy as np

from atmo.nowcast.synthetic.storm_cells import N_FRAMES, StormHistory

SKIRT_KG_M2 = 0.22  # skirt peak = this x sqrt(core peak in kg/m2)
SKIRT_WIDTH = 2.5  # skirt sigma / core radius
SKIRT_CUT = 3.5  # skirt sigmas beyond which it is exactly 0
CORE_CUT = 4.0  # core sigmas (along the long axis) beyond which it is exactly 0
# Cloud amount of a precursor cumulus tower (units of the IR renderer's VIL-derived cloud, see
# atmo.nowcast.synthetic.sevir): BASE + GROWTH x g^2 for its growth g in (0, 1], so the top cools by ~20-30 degC in
# its first frame (amount ~0.25) and keeps cooling, ever faster, to an anvil-like amount of 2.5 when
# its VIL starts, as growing cumulus tops cool frame after frame before the first echo; Gaussian of
# 3 km sigma.
CUMULUS_BASE, CUMULUS_GROWTH, CUMULUS_SIGMA_KM = 0.15, 2.35, 3.0


def footprint_km(radius_km: np.ndarray, aspect: np.ndarray) -> np.ndarray:
    """Half-width of the square outside which a cell's VIL is exactly zero (core or skirt)."""
    return np.maximum(CORE_CUT * radius_km * aspect, SKIRT_CUT * SKIRT_WIDTH * radius_km)


def _gaussian_rows(coords: np.ndarray, centre: np.ndarray, sigma: np.ndarray, cut: float) -> np.ndarray:
    """``(n, len(coords))`` float32: exp(-d^2 / 2 sigma^2), exactly 0 beyond ``cut`` sigmas."""
    d = (coords[None, :] - centre[:, None]) / sigma[:, None]
    return np.where(np.abs(d) < cut, np.exp(-0.5 * d * d), 0.0).astype(np.float32)


def _add_core(field: np.ndarray, coords: np.ndarray, xy: np.ndarray, r: float, aspect: float, angle: float, amp: float):
    """Add one elliptical core (sigma ``r * aspect`` along ``angle``, ``r / sqrt(aspect)`` across) to ``field``.

    The quadratic form is split as ``exp(-a dx^2) exp(-c dy^2) exp(-b dx dy)`` so only one exponential
    runs over the window.
    """
    size = len(coords)
    half = CORE_CUT * r * aspect
    x0, x1 = max(int(xy[0] - half), 0), min(int(np.ceil(xy[0] + half)), size)
    y0, y1 = max(int(xy[1] - half), 0), min(int(np.ceil(xy[1] + half)), size)
    if x0 >= x1 or y0 >= y1:
        return
    cos, sin = np.cos(angle), np.sin(angle)
    along, across = 1.0 / (aspect * aspect), aspect
    scale = 0.5 / (r * r)
    a = scale * (cos * cos * along + sin * sin * across)
    c = scale * (sin * sin * along + cos * cos * across)
    b = 2.0 * scale * cos * sin * (along - across)
    dx = (coords[x0:x1] - xy[0]).astype(np.float32)
    dy = (coords[y0:y1] - xy[1]).astype(np.float32)
    window = np.exp(np.multiply.outer(dy, np.float32(-b) * dx))
    window *= (amp * np.exp(-c * dy * dy))[:, None]
    window *= np.exp(-a * dx * dx)[None, :]
    field[y0:y1, x0:x1] += window


def render_cells_kg_m2(history: StormHistory, size_km: int, visible: np.ndarray | None = None) -> np.ndarray:
    """VIL of the cells, ``(49, S, S)`` float32 kg/m2, before texture.

    ``visible (n, 49)`` bool hides a cell at the frames where it is False (default: every cell shown).
    """
    coords = np.arange(size_km, dtype=np.float32) + 0.5
    out = np.empty((N_FRAMES, size_km, size_km), dtype=np.float32)
    reach = footprint_km(history.radius_km, history.aspect[:, None])
    xy = history.xy_km
    inside = np.all((xy + reach[..., None] > 0) & (xy - reach[..., None] < size_km), axis=-1)
    drawn = (history.amplitude_kg_m2 > 0) & inside
    for f in range(N_FRAMES):
        cells = np.flatnonzero(drawn[:, f])
        amp = history.amplitude_kg_m2[cells, f]
        if visible is not None:
            amp = np.where(visible[cells, f], amp, np.float32(0.0))
        radius = history.radius_km[cells, f]
        sigma = SKIRT_WIDTH * radius
        skirt_x = _gaussian_rows(coords, xy[cells, f, 0], sigma, SKIRT_CUT)
        skirt_y = _gaussian_rows(coords, xy[cells, f, 1], sigma, SKIRT_CUT) * (SKIRT_KG_M2 * np.sqrt(amp))[:, None]
        field = skirt_y.T @ skirt_x
        for k, cell in enumerate(cells):
            if amp[k] > 0:
                _add_core(field, coords, xy[cell, f], radius[k], history.aspect[cell], history.angle[cell], amp[k])
        out[f] = field
    return out


def render_cumulus(history: StormHistory, size_px: int, pixel_km: float) -> np.ndarray:
    """Cloud amount of the precursor cumulus towers, ``(49, size_px, size_px)`` float32 on a grid of
    ``pixel_km`` pixels (the IR grid)."""
    coords = (np.arange(size_px, dtype=np.float32) + 0.5) * pixel_km
    out = np.zeros((N_FRAMES, size_px, size_px), dtype=np.float32)
    extent = size_px * pixel_km
    xy = history.xy_km
    near = np.all((xy > -4 * CUMULUS_SIGMA_KM) & (xy < extent + 4 * CUMULUS_SIGMA_KM), axis=-1)
    for f in np.flatnonzero(np.any((history.cumulus > 0) & near, axis=0)):
        cells = np.flatnonzero((history.cumulus[:, f] > 0) & near[:, f])
        amount = CUMULUS_BASE + CUMULUS_GROWTH * history.cumulus[cells, f] ** 2
        sigma = np.full(len(cells), CUMULUS_SIGMA_KM, dtype=np.float32)
        gx = _gaussian_rows(coords, xy[cells, f, 0], sigma, 4.0)
        gy = _gaussian_rows(coords, xy[cells, f, 1], sigma, 4.0) * amount[:, None]
        out[f] = gy.T @ gx
    return out
