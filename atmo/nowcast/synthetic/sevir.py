"""Synthetic storm events written in SEVIR's exact on-disk format.

The default workflow cannot download SEVIR (~1 TB), so it generates events that exercise the same
readers and keep the nowcasting task meaningful: beyond what optical flow captures, storm cells
interact, split and appear, and a model that sees the cells (the Storm-Graph Transformer) has
something to learn. The physics, each part in its own module with its sources and assumptions:

* :mod:`atmo.nowcast.synthetic.steering`: a veering mean wind plus a divergence-free wave steers the cells;
  right and left movers (Bunkers et al. 2000) propagate off the steering flow, so tracks converge
  and diverge.
* :mod:`atmo.nowcast.synthetic.storm_cells`: every cell's history: asymmetric life cycle (growth, maturity,
  decay), merges (the weaker cell absorbed over 2-3 frames, the survivor intensified and living
  longer), supercell splits (daughters moving apart perpendicular to the motion), gust fronts from
  decaying cells with new cells initiating on their downwind side and where two meet, new cells on
  the flanks of growing strong cells, a few random initiations, and in storm events a strong cell
  near the centre mid-event (SEVIR's storm events are centred on a storm report). Each new cell is
  announced by a cumulus tower in IR 3-5 frames (15-25 min) before its VIL starts.
* :mod:`atmo.nowcast.synthetic.storm_render`: cells become VIL (elliptical cores plus stratiform skirts) and
  cumulus cloud.
* :mod:`atmo.nowcast.synthetic.rain_texture`: VIL is multiplied by a log-normal texture with a power-law
  spectrum (2-D power ~ k^-2.8) from 2 km to the domain, advected with the mean wind and evolving
  (small scales forget within a few frames), so fine detail is not predictable far ahead, as in
  real radar.
* here: IR cloud tops (IR107, and the IR069 water-vapour band slightly warmer) are cold over VIL with
  an anvil wider than the core, and over the precursor cumulus; lightning flashes are drawn where VIL
  is high, at rate proportional to the excess over 12 kg/m2.

VIP shares. Targets for the share of storm-event pixels (all frames) at or above each VIP
threshold, ``VIP_SHARE_TARGETS``: 16: 20 %, 74: 7 %, 133: 2 %, 160: 1 %, 181: 0.5 %, 219: 0.1 %.
No published per-threshold shares for SEVIR were found with the tools at hand (searched: papers
and code around Earthformer, CasCast and the SEVIR loaders), so these are our estimates: light
precipitation over about a fifth of a window centred on a storm report, convective cores (VIP 3,
~40 dBZ) about a tenth of the rain area, and each further level rarer, with VIP 6 (hail cores) about
1/200 of the rain area. The generator's cell peaks, density and texture are calibrated to them: over
6 x 16 storm events of 128 km (seeds 5, 7, ..., 15) the share / target ratios average 0.93, 1.04,
1.11, 1.06, 1.05, 0.98 for the six thresholds, single sets of 16 events ranging 0.76-1.24 (the unit
tests check one set stays within a factor 2 of every target).

Everything is deterministic by seed: the event plan from ``(seed, 0)`` and each event's fields from
``(seed, 1, event index)``, so any single data file can be regenerated alone (one fetch job per file)
and agrees with the catalog written by another job. Within an event the storm history is drawn
first, then the texture, then the IR background and the flashes; :func:`oracle_vil` makes the same
draws and renders the same history without the cells that start after a given frame.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter

from atmo.io.atomic import atomic_path
from atmo.nowcast.sevir_files import (
    FRAME_OFFSETS_MIN,
    MINUTE_OFFSETS,
    MODALITIES,
    N_FRAMES,
    PIXEL_KM,
    SEVIR_PROJ,
    data_file_name,
    encode_ir,
    encode_vil,
)
from atmo.nowcast.synthetic.rain_texture import gaussian_field, rain_texture
from atmo.nowcast.synthetic.storm_cells import StormHistory, simulate_storm_history
from atmo.nowcast.synthetic.storm_render import render_cells_kg_m2, render_cumulus
from atmo.settings import schema_default, settings_block

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6370997.0
PROJ_LAT0_DEG, PROJ_LON0_DEG = 38.0, -98.0
STORM_EVENT_TYPES = ("Hail", "Thunderstorm Wind", "Tornado", "Flash Flood", "Heavy Rain")
STORM_TYPE_WEIGHTS = (0.35, 0.3, 0.1, 0.15, 0.1)
#: Target share of storm-event pixels at or above each VIP threshold (estimates; see the module docstring).
VIP_SHARE_TARGETS = {16: 0.20, 74: 0.07, 133: 0.02, 160: 0.01, 181: 0.005, 219: 0.001}
LIGHTNING_THRESHOLD_KG_M2 = 12.0
LIGHTNING_RATE = 0.02  # expected flashes per km2, 5-min frame and kg/m2 of VIL above the threshold


@dataclass(frozen=True, kw_only=True)
class SyntheticSevirConfig(settings_block("nowcast", "synthetic")):
    """The ``nowcast.synthetic`` config block plus the module seed ``nowcast.seed``.

    ``image_size`` is the VIL side in 1 km pixels (SEVIR: 384); IR is at 2 km (``size/2``) and the
    lightning grid at 8 km (``size/8``), so the schema wants a multiple of 8.
    """

    seed: int = schema_default("nowcast", "seed")


@dataclass(frozen=True)
class EventPlan:
    """What the catalog says about one synthetic event; ``index`` seeds its fields."""

    index: int
    id: str
    storm: bool
    time_utc: datetime
    episode_id: float
    event_id: float
    event_type: str | float
    center_m: tuple[float, float]
    missing: frozenset[str]


# --------------------------------------------------------------------------------------------
# projection (SEVIR_PROJ: spherical Lambert azimuthal equal-area, Snyder 1987 eqs. 24-2 and 20-14)


def laea_inverse(x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected metres -> (lat, lon) in degrees for SEVIR's projection."""
    lat0, lon0 = np.radians(PROJ_LAT0_DEG), np.radians(PROJ_LON0_DEG)
    rho = np.maximum(np.hypot(x_m, y_m), 1e-9)
    c = 2.0 * np.arcsin(rho / (2.0 * EARTH_RADIUS_M))
    lat = np.arcsin(np.cos(c) * np.sin(lat0) + y_m * np.sin(c) * np.cos(lat0) / rho)
    lon = lon0 + np.arctan2(x_m * np.sin(c), rho * np.cos(lat0) * np.cos(c) - y_m * np.sin(lat0) * np.sin(c))
    return np.degrees(lat), np.degrees(lon)


def laea_forward(lat_deg: np.ndarray, lon_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) in degrees -> projected metres; the inverse of :func:`laea_inverse`."""
    lat0, lon0 = np.radians(PROJ_LAT0_DEG), np.radians(PROJ_LON0_DEG)
    lat, dlon = np.radians(lat_deg), np.radians(lon_deg) - lon0
    k = np.sqrt(2.0 / (1.0 + np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(dlon)))
    x = EARTH_RADIUS_M * k * np.cos(lat) * np.sin(dlon)
    y = EARTH_RADIUS_M * k * (np.cos(lat0) * np.sin(lat) - np.sin(lat0) * np.cos(lat) * np.cos(dlon))
    return x, y


# --------------------------------------------------------------------------------------------
# event plan and catalog


def plan_events(cfg: SyntheticSevirConfig) -> list[EventPlan]:
    """The events of the synthetic set, sorted by time (then id), with ids/times/places/types."""
    rng = np.random.default_rng([cfg.seed, 0])
    n_storm = round(cfg.n_events * cfg.storm_fraction)
    storm = rng.permutation(np.arange(cfg.n_events) < n_storm)
    start, end = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    span_min = int((end - start).total_seconds() // 60)
    minutes = rng.integers(0, span_min, cfg.n_events)
    storm_numbers = rng.choice(np.arange(700000, 900000), cfg.n_events, replace=False)
    centers = np.stack([rng.uniform(-1.6e6, 1.6e6, cfg.n_events), rng.uniform(-1.2e6, 0.9e6, cfg.n_events)], 1)
    types = rng.choice(len(STORM_EVENT_TYPES), cfg.n_events, p=STORM_TYPE_WEIGHTS)
    drop = rng.random((cfg.n_events, len(MODALITIES))) < cfg.missing_fraction
    rows = []
    for i in range(cfg.n_events):
        time_utc = (start + timedelta(minutes=int(minutes[i]))).to_pydatetime()
        missing = frozenset(m for m, d in zip(MODALITIES, drop[i], strict=True) if d and m != "vil")
        if storm[i]:
            number = int(storm_numbers[i])
            rows.append((f"S{number}", True, time_utc, np.nan, float(number), STORM_EVENT_TYPES[types[i]]))
        else:
            event_id = f"R{time_utc:%y%m%d%H%M}{i % 10000:04d}"
            rows.append((event_id, False, time_utc, np.nan, np.nan, np.nan))
        rows[-1] = (*rows[-1], (float(centers[i, 0]), float(centers[i, 1])), missing)
    rows.sort(key=lambda r: (r[2], r[0]))
    plans = [EventPlan(i, *row) for i, row in enumerate(rows)]
    # As in SEVIR, several storm events belong to one NWS episode: here consecutive pairs in time.
    storms = [k for k, p in enumerate(plans) if p.storm]
    for rank, k in enumerate(storms):
        plans[k] = replace(plans[k], episode_id=float(100000 + rank // 2))
    return plans


def _corners(center_m: tuple[float, float], size_km: int) -> dict[str, float]:
    half = size_km * 500.0
    ll_lat, ll_lon = laea_inverse(np.array(center_m[0] - half), np.array(center_m[1] - half))
    ur_lat, ur_lon = laea_inverse(np.array(center_m[0] + half), np.array(center_m[1] + half))
    return {
        "llcrnrlat": float(ll_lat),
        "llcrnrlon": float(ll_lon),
        "urcrnrlat": float(ur_lat),
        "urcrnrlon": float(ur_lon),
    }


def synthetic_catalog(cfg: SyntheticSevirConfig) -> pd.DataFrame:
    """SEVIR-format catalog of the synthetic set: one row per (event, available modality).

    ``data_min``/``data_max`` are the stored (raw) values' range, so each event is simulated once
    here; lightning rows carry NaN there (a flash list has no raster range) and ``file_index`` 0.
    """
    size_km = cfg.image_size * PIXEL_KM["vil"]
    rows = []
    for plan in plan_events(cfg):
        fields = simulate_event(plan, cfg)
        for img_type in MODALITIES:
            if img_type in plan.missing:
                continue
            raw = fields[img_type]
            pixels = size_km // PIXEL_KM[img_type]
            rows.append(
                {
                    "id": plan.id,
                    "file_name": data_file_name(img_type, plan.storm, plan.time_utc),
                    "file_index": 0,
                    "img_type": img_type,
                    "time_utc": plan.time_utc,
                    "minute_offsets": MINUTE_OFFSETS,
                    "episode_id": plan.episode_id,
                    "event_id": plan.event_id,
                    "event_type": plan.event_type,
                    **_corners(plan.center_m, size_km),
                    "proj": SEVIR_PROJ,
                    "size_x": pixels,
                    "size_y": pixels,
                    "height_m": size_km * 1000.0,
                    "width_m": size_km * 1000.0,
                    "data_min": np.nan if img_type == "lght" else float(raw.min()),
                    "data_max": np.nan if img_type == "lght" else float(raw.max()),
                    "pct_missing": 0.0,
                }
            )
    catalog = pd.DataFrame(rows)
    rasters = catalog["img_type"] != "lght"
    catalog.loc[rasters, "file_index"] = catalog[rasters].groupby("file_name").cumcount()
    return catalog


def write_synthetic_file(
    catalog: pd.DataFrame, file_name: str, dest: str | os.PathLike[str], cfg: SyntheticSevirConfig
) -> Path:
    """Generate SEVIR data file ``file_name`` (catalog ``file_name``, relative to ``data/``) at
    ``dest``, holding the events ``catalog`` puts there. ``catalog`` must be
    :func:`synthetic_catalog` of ``cfg`` (or a subset that keeps whole files)."""
    rows = catalog[catalog["file_name"] == file_name].sort_values("file_index", kind="stable")
    if rows.empty:
        raise ValueError(f"no catalog rows for {file_name}")
    img_type = rows["img_type"].iloc[0]
    plans = {p.id: p for p in plan_events(cfg)}
    with atomic_path(dest) as tmp, h5py.File(tmp, "w") as handle:
        if img_type == "lght":
            for event_id in rows["id"]:
                handle.create_dataset(event_id, data=simulate_event(plans[event_id], cfg)["lght"])
        else:
            if not np.array_equal(rows["file_index"].to_numpy(), np.arange(len(rows))):
                raise ValueError(f"{file_name}: catalog file_index values are not 0..{len(rows) - 1}")
            handle.create_dataset("id", data=np.array(list(rows["id"]), dtype="S"))
            height, width = int(rows["size_y"].iloc[0]), int(rows["size_x"].iloc[0])
            data = handle.create_dataset(
                img_type,
                shape=(len(rows), height, width, N_FRAMES),
                dtype=np.uint8 if img_type == "vil" else np.int16,
                chunks=(1, height, width, N_FRAMES),
            )
            for k, event_id in enumerate(rows["id"]):
                data[k] = simulate_event(plans[event_id], cfg)[img_type]
    log.info("wrote %s (%d events)", dest, len(rows))
    return Path(dest)


# --------------------------------------------------------------------------------------------
# fields of one event


def _seeded(plan: EventPlan, cfg: SyntheticSevirConfig) -> tuple[np.random.Generator, StormHistory]:
    """The event's generator after its storm history has been drawn, and that history."""
    rng = np.random.default_rng([cfg.seed, 1, plan.index])
    return rng, simulate_storm_history(rng, plan.storm, cfg.image_size * PIXEL_KM["vil"])


def _texture(rng: np.random.Generator, history: StormHistory, size_km: int) -> np.ndarray:
    """The event's rain texture ``(49, S, S)``, moving with the mean wind."""
    displacement = np.stack([history.flow.mean(f - 0.5) for f in range(N_FRAMES)])
    return rain_texture(rng, size_km, displacement)


def _vil_kg_m2(history: StormHistory, texture: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """VIL ``(49, S, S)`` kg/m2: the cells' fields times the texture (``visible`` hides cells)."""
    vil = render_cells_kg_m2(history, texture.shape[-1], visible)
    vil *= texture
    return vil


def _ir_degc(
    rng: np.random.Generator, plan: EventPlan, vil_kg_m2: np.ndarray, cumulus: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(IR069, IR107) ``(S/2, S/2, 49)`` in degC at 2 km: cold tops over VIL (an anvil spreading beyond
    the core) and over precursor cumulus ``(49, S/2, S/2)``; warm ground / moist-band background."""
    n = vil_kg_m2.shape[-1] // 2
    coarse = vil_kg_m2.reshape(N_FRAMES, n, 2, n, 2).mean(axis=(2, 4))
    cloud = gaussian_filter(coarse, sigma=(0.0, 2.5, 2.5)) + cumulus
    opacity = 1.0 - np.exp(-cloud / np.float32(0.4))
    top_degc = -38.0 - 30.0 * np.tanh(cloud / np.float32(12.0))
    season = np.cos(2 * np.pi * (plan.time_utc.timetuple().tm_yday - 200) / 365.0)
    surface_degc = 14.0 + 10.0 * season + 3.0 * gaussian_field(rng, n)
    vapour_degc = -33.0 + 3.0 * season + 4.0 * gaussian_field(rng, n)
    noise = rng.standard_normal((2, *opacity.shape), dtype=np.float32) * np.float32(0.3)
    ir107 = surface_degc * (1 - opacity) + top_degc * opacity + noise[0]
    ir069 = vapour_degc * (1 - opacity) + (top_degc + 3.0) * opacity + noise[1]
    return np.moveaxis(ir069, 0, -1), np.moveaxis(ir107, 0, -1)


def _flashes(rng: np.random.Generator, plan: EventPlan, vil_kg_m2: np.ndarray, size_km: int) -> np.ndarray:
    """Lightning ``(n, 5)`` = [t_s, lat, lon, x, y]: Poisson flashes where VIL ``(S, S, 49)`` exceeds 12 kg/m2.

    A flash counted in frame ``k`` happened in the 5 minutes before that frame's time; ``x, y``
    are in 8 km lightning pixels (column, row; row 0 is the image's first/northern row).
    """
    rows, cols, frames = np.nonzero(vil_kg_m2 > LIGHTNING_THRESHOLD_KG_M2)
    rate = LIGHTNING_RATE * (vil_kg_m2[rows, cols, frames] - LIGHTNING_THRESHOLD_KG_M2)
    counts = rng.poisson(rate)
    rows, cols, frames = (np.repeat(a, counts) for a in (rows, cols, frames))
    x_km = cols + rng.random(len(cols))
    y_km = rows + rng.random(len(rows))
    t_s = np.asarray(FRAME_OFFSETS_MIN)[frames] * 60.0 - rng.uniform(0.0, 300.0, len(frames))
    half_m = size_km * 500.0
    lat, lon = laea_inverse(plan.center_m[0] - half_m + x_km * 1000.0, plan.center_m[1] + half_m - y_km * 1000.0)
    lght_km = PIXEL_KM["lght"] // PIXEL_KM["vil"]
    flashes = np.stack([t_s, lat, lon, x_km / lght_km, y_km / lght_km], axis=1)
    return flashes[np.argsort(t_s, kind="stable")]


def storm_history(plan: EventPlan, cfg: SyntheticSevirConfig) -> StormHistory:
    """The cell tracks, merges, splits, initiations and gust fronts behind :func:`simulate_event`."""
    return _seeded(plan, cfg)[1]


def simulate_event(plan: EventPlan, cfg: SyntheticSevirConfig) -> dict[str, np.ndarray]:
    """Raw stored arrays of one event: vil uint8 ``(S, S, 49)``, ir069/ir107 int16
    ``(S/2, S/2, 49)`` (degC x 100), lght float64 ``(n_flashes, 5)``."""
    size_km = cfg.image_size * PIXEL_KM["vil"]
    rng, history = _seeded(plan, cfg)
    vil = _vil_kg_m2(history, _texture(rng, history, size_km))
    ir_px = size_km // PIXEL_KM["ir107"]
    ir069, ir107 = _ir_degc(rng, plan, vil, render_cumulus(history, ir_px, PIXEL_KM["ir107"]))
    vil = np.moveaxis(vil, 0, -1)
    return {
        "vil": encode_vil(vil),
        "ir069": encode_ir(ir069),
        "ir107": encode_ir(ir107),
        "lght": _flashes(rng, plan, vil, size_km),
    }


def oracle_vil(plan: EventPlan, cfg: SyntheticSevirConfig, last_input_frame: int) -> np.ndarray:
    """VIL codes ``(S, S, 49)`` uint8 of the event without the cells that start after ``last_input_frame``.

    Frames up to ``last_input_frame`` equal :func:`simulate_event`'s; later frames hold the true
    evolution (motion, growth and decay, merges, splits; the same texture) of the cells whose lineage
    had VIL by then, and none of the cells initiated later (random or triggered), whose absence is the
    only difference. This is the ceiling of a forecaster that knows the dynamics perfectly but cannot
    predict initiation. Present cells keep their true tracks even where a hidden newcomer merges with
    them (their intensification or absorption stays), so the ceiling leaks that little.
    """
    if not 0 <= last_input_frame < N_FRAMES:
        raise ValueError(f"last_input_frame must be in 0..{N_FRAMES - 1}, got {last_input_frame}")
    size_km = cfg.image_size * PIXEL_KM["vil"]
    rng, history = _seeded(plan, cfg)
    visible = np.ones(history.amplitude_kg_m2.shape, dtype=bool)
    visible[:, last_input_frame + 1 :] = history.present(last_input_frame)[:, None]
    vil = _vil_kg_m2(history, _texture(rng, history, size_km), visible)
    return encode_vil(np.moveaxis(vil, 0, -1))
