"""Synthetic storm events written in SEVIR's exact on-disk format.

The default workflow cannot download SEVIR (~1 TB), so it generates events that exercise the same
readers and that keep the nowcasting task meaningful:

* storm cells (elliptical Gaussian cores with a broad stratiform skirt) advect with a smooth wind
  field that varies in space and time (mean flow plus a travelling stream-function wave), so motion
  is learnable and persistence is beatable;
* each cell grows, peaks and decays over its life (asymmetric life-cycle curve), so intensity
  changes too; peak VIL is log-uniform up to ~70 kg/m2, so VIL codes above 181 and 219 (the
  benchmark's extreme thresholds) occur in a few percent of storm pixels;
* IR cloud tops (IR107, and the IR069 water-vapour band slightly warmer) are cold over strong VIL
  with an anvil wider than the core, warm surface / water-vapour background elsewhere;
* lightning flashes are drawn where VIL is high, at rate proportional to the excess over 12 kg/m2.

Everything is deterministic by seed: the event plan from ``(seed, 0)`` and each event's fields from
``(seed, 1, event index)``, so any single data file can be regenerated alone (one fetch job per file)
and agrees with the catalog written by another job.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import h5py
import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter

from atmo.config_blocks import check
from atmo.io.atomic import atomic_path
from atmo.io.sevir import (
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

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6370997.0
PROJ_LAT0_DEG, PROJ_LON0_DEG = 38.0, -98.0
STORM_EVENT_TYPES = ("Hail", "Thunderstorm Wind", "Tornado", "Flash Flood", "Heavy Rain")
STORM_TYPE_WEIGHTS = (0.35, 0.3, 0.1, 0.15, 0.1)
# Life cycle: amplitude ~ p**A (1-p)**B over the cell's life p in [0, 1]; peaks at A / (A + B).
_GROW, _DECAY = 1.5, 2.5
_PEAK_PHASE = _GROW / (_GROW + _DECAY)
LIGHTNING_THRESHOLD_KG_M2 = 12.0
LIGHTNING_RATE = 0.02  # expected flashes per km2, 5-min frame and kg/m2 of VIL above the threshold


@dataclass(frozen=True)
class SyntheticSevirConfig:
    """The ``nowcast.synthetic`` config block plus the module seed ``nowcast.seed``.

    ``image_size`` is the VIL side in 1 km pixels (SEVIR: 384); IR is at 2 km (``size/2``) and the
    lightning grid at 8 km (``size/8``), so it must be a multiple of 8.
    """

    WHERE: ClassVar[str] = "nowcast.synthetic"

    n_events: int = 80
    image_size: int = 128
    storm_fraction: float = 0.75
    missing_fraction: float = 0.05
    start: str = "2018-01-01"
    end: str = "2020-01-01"
    seed: int = 0

    def __post_init__(self) -> None:
        step = PIXEL_KM["lght"]
        check(self, [("image_size", self.image_size % step == 0, f"expected a multiple of {step}")])


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
# physics-flavoured fields


@dataclass(frozen=True)
class _Wind:
    """Mean flow plus a stream-function wave (divergence-free), in km per 5-min frame."""

    mean: np.ndarray  # (2,) u (along columns), v (along rows)
    amplitude: float
    wavenumber: float
    phase: np.ndarray  # (2,)
    drift: float  # wave phase change per frame

    def __call__(self, pos: np.ndarray, frame: float) -> np.ndarray:
        """Velocity ``(..., 2)`` at positions ``pos (..., 2)`` (x=column, y=row, km)."""
        ax = self.wavenumber * pos[..., 0] + self.phase[0] + self.drift * frame
        ay = self.wavenumber * pos[..., 1] + self.phase[1]
        u = self.mean[0] + self.amplitude * np.sin(ax) * np.cos(ay)
        v = self.mean[1] - self.amplitude * np.cos(ax) * np.sin(ay)
        return np.stack([u, v], axis=-1)


def _draw_wind(rng: np.random.Generator, size_km: int) -> _Wind:
    speed = rng.uniform(2.0, 6.0)  # 7-20 m/s
    heading = rng.normal(0.0, 0.8)  # mostly west -> east, as mid-latitude steering flow
    return _Wind(
        mean=speed * np.array([np.cos(heading), np.sin(heading)]),
        amplitude=rng.uniform(0.5, 1.5),
        wavenumber=2 * np.pi / (rng.uniform(1.0, 2.0) * size_km),
        phase=rng.uniform(0, 2 * np.pi, 2),
        drift=rng.uniform(-0.05, 0.05),
    )


def _trajectories(wind: _Wind, peak_frame: np.ndarray, peak_pos: np.ndarray) -> np.ndarray:
    """Positions ``(n_cells, 49, 2)`` integrated forwards and backwards from each cell's peak."""
    n = len(peak_frame)
    pos = np.zeros((n, N_FRAMES, 2))
    anchor = np.clip(np.rint(peak_frame), 0, N_FRAMES - 1).astype(int)
    pos[np.arange(n), anchor] = peak_pos
    for f in range(1, N_FRAMES):  # forwards: frames after the anchor
        step = f > anchor
        pos[step, f] = pos[step, f - 1] + wind(pos[step, f - 1], f - 0.5)
    for f in range(N_FRAMES - 2, -1, -1):  # backwards: frames before the anchor
        step = f < anchor
        pos[step, f] = pos[step, f + 1] - wind(pos[step, f + 1], f + 0.5)
    return pos


def _life_cycle(frames: np.ndarray, birth: float, life: float) -> np.ndarray:
    """Relative amplitude in [0, 1] (1 at the peak), 0 before birth and after death."""
    p = np.clip((frames - birth) / life, 0.0, 1.0)
    shape = (p / _PEAK_PHASE) ** _GROW * ((1.0 - p) / (1.0 - _PEAK_PHASE)) ** _DECAY
    return np.where((p > 0) & (p < 1), shape, 0.0)


def _texture(rng: np.random.Generator, x_km: np.ndarray, y_km: np.ndarray, shift: np.ndarray, n_modes: int = 6):
    """Smooth random field ``(len(y), len(x))`` in [-1, 1]: Fourier modes of 20-60 km wavelength,
    shifted by ``shift`` km. Each plane wave is separable (cos(a + b) = cos a cos b - sin a sin b),
    so no transcendental is evaluated on the full grid."""
    field = np.zeros((len(y_km), len(x_km)), dtype=np.float32)
    for _ in range(n_modes):
        k = 2 * np.pi / rng.uniform(20.0, 60.0)
        angle = rng.uniform(0, 2 * np.pi)
        a = (k * np.cos(angle) * (x_km - shift[0])).astype(np.float32)
        b = (k * np.sin(angle) * (y_km - shift[1]) + rng.uniform(0, 2 * np.pi)).astype(np.float32)
        field += np.outer(np.cos(b), np.cos(a)) - np.outer(np.sin(b), np.sin(a))
    return field / n_modes


def _vil_kg_m2(rng: np.random.Generator, plan: EventPlan, size_km: int) -> np.ndarray:
    """VIL ``(S, S, 49)`` in kg/m2: advecting, evolving cells over a weak moving stratiform field."""
    wind = _draw_wind(rng, size_km)
    n_cells = 3 + rng.poisson(5) if plan.storm else rng.poisson(2) * (rng.random() < 0.6)
    peak_kg_m2 = np.exp(rng.uniform(np.log(1.5), np.log(90.0) if plan.storm else np.log(6.0), n_cells))
    life = rng.uniform(10.0, 36.0, n_cells)
    peak_frame = rng.uniform(-10.0, N_FRAMES + 5.0, n_cells)
    peak_pos = rng.uniform(0.1 * size_km, 0.9 * size_km, (n_cells, 2))
    radius_km = rng.uniform(3.0, 9.0, n_cells) * (size_km / 128.0) ** 0.25
    aspect = rng.uniform(1.0, 2.2, n_cells)
    angle = rng.uniform(0, np.pi, n_cells)
    birth = peak_frame - _PEAK_PHASE * life
    path = _trajectories(wind, peak_frame, peak_pos).astype(np.float32)
    cos_a, sin_a = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
    coords = np.arange(size_km, dtype=np.float32) + 0.5
    xx, yy = np.meshgrid(coords, coords)  # rows = y, columns = x
    vil = np.zeros((size_km, size_km, N_FRAMES), dtype=np.float32)
    texture_seed = rng.integers(2**31)
    for f in range(N_FRAMES):
        texture = _texture(np.random.default_rng(texture_seed), coords, coords, wind.mean * f)
        field = 0.4 * np.maximum(texture, 0.0) ** 2  # weak stratiform rain moving with the mean flow
        for c in range(n_cells):
            stage = float(_life_cycle(np.float64(f), birth[c], life[c]))
            if stage <= 0:
                continue
            dx, dy = xx - path[c, f, 0], yy - path[c, f, 1]
            along = (dx * cos_a[c] + dy * sin_a[c]) / aspect[c]
            across = (dy * cos_a[c] - dx * sin_a[c]) * aspect[c] ** 0.5
            q = along**2 + across**2
            r2 = (radius_km[c] * (0.6 + 0.4 * stage)) ** 2  # cells widen as they grow
            core = np.exp(-q / (2 * r2)) * (1.0 + 0.25 * texture)
            skirt = 0.08 * np.exp(-q / (2 * 6.25 * r2))
            field += peak_kg_m2[c] * stage * (core + skirt)
        vil[:, :, f] = field
    return vil


def _ir_degc(rng: np.random.Generator, plan: EventPlan, vil_kg_m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(IR069, IR107) in degC at 2 km: cold anvil tops over VIL, warm/moist-band background."""
    n = vil_kg_m2.shape[0] // 2
    coarse = vil_kg_m2.reshape(n, 2, n, 2, N_FRAMES).mean(axis=(1, 3))
    cloud = gaussian_filter(coarse, sigma=(2.5, 2.5, 0.0))  # the anvil spreads beyond the core
    opacity = 1.0 - np.exp(-cloud / 0.4)
    top_degc = -38.0 - 30.0 * np.tanh(cloud / 12.0)
    coords = (np.arange(n) + 0.5) * 2.0
    season = np.cos(2 * np.pi * (plan.time_utc.timetuple().tm_yday - 200) / 365.0)
    surface_degc = (14.0 + 10.0 * season + 3.0 * _texture(rng, coords, coords, np.zeros(2)))[..., None]
    vapour_degc = (-33.0 + 3.0 * season + 4.0 * _texture(rng, coords, coords, np.zeros(2)))[..., None]
    ir107 = surface_degc * (1 - opacity) + top_degc * opacity + rng.normal(0, 0.3, opacity.shape)
    ir069 = vapour_degc * (1 - opacity) + (top_degc + 3.0) * opacity + rng.normal(0, 0.3, opacity.shape)
    return ir069, ir107


def _flashes(rng: np.random.Generator, plan: EventPlan, vil_kg_m2: np.ndarray, size_km: int) -> np.ndarray:
    """Lightning ``(n, 5)`` = [t_s, lat, lon, x, y]: Poisson flashes where VIL exceeds 12 kg/m2.

    A flash counted in frame ``k`` happened in the 5 minutes before that frame's time; ``x, y``
    are in 8 km lightning pixels (column, row; row 0 is the image's first/northern row).
    """
    rate = LIGHTNING_RATE * np.maximum(vil_kg_m2 - LIGHTNING_THRESHOLD_KG_M2, 0.0)
    counts = rng.poisson(rate)
    rows, cols, frames = np.nonzero(counts)
    repeat = counts[rows, cols, frames]
    rows, cols, frames = (np.repeat(a, repeat) for a in (rows, cols, frames))
    x_km = cols + rng.random(len(cols))
    y_km = rows + rng.random(len(rows))
    t_s = np.asarray(FRAME_OFFSETS_MIN)[frames] * 60.0 - rng.uniform(0.0, 300.0, len(frames))
    half_m = size_km * 500.0
    lat, lon = laea_inverse(plan.center_m[0] - half_m + x_km * 1000.0, plan.center_m[1] + half_m - y_km * 1000.0)
    lght_km = PIXEL_KM["lght"] // PIXEL_KM["vil"]
    flashes = np.stack([t_s, lat, lon, x_km / lght_km, y_km / lght_km], axis=1)
    return flashes[np.argsort(t_s, kind="stable")]


def simulate_event(plan: EventPlan, cfg: SyntheticSevirConfig) -> dict[str, np.ndarray]:
    """Raw stored arrays of one event: vil uint8 ``(S, S, 49)``, ir069/ir107 int16
    ``(S/2, S/2, 49)`` (degC x 100), lght float64 ``(n_flashes, 5)``."""
    rng = np.random.default_rng([cfg.seed, 1, plan.index])
    size_km = cfg.image_size * PIXEL_KM["vil"]
    vil = _vil_kg_m2(rng, plan, size_km)
    ir069, ir107 = _ir_degc(rng, plan, vil)
    return {
        "vil": encode_vil(vil),
        "ir069": encode_ir(ir069),
        "ir107": encode_ir(ir107),
        "lght": _flashes(rng, plan, vil, size_km),
    }
