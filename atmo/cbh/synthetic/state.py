"""The synthetic atmosphere of one CBH flight: its regime, its evolving thermodynamic state and the true cloud base.

Everything here is a deterministic function of (seed, flight index, time, position). The flight
generator (frames, lidar labels) and the ERA5 generator each rebuild the same state from the seed,
so nothing derived from a label can reach ERA5; the cloud base follows from the state, never the
other way round.

**Regime** (:func:`flight_regime`, one per flight): boundary-layer type (well mixed or decoupled),
mean lifting condensation level (LCL), its trend, inversion strength, boundary-layer depth above
the LCL, temperature, low cloud fraction, share of the flight under a second, higher layer, surface
(ocean or hilly land), time of day (hence the sun), position, heading and wind. Mean LCL, type,
surface and upper-layer share are seeded permutations across the flights, so every pair of flights
differs and both boundary-layer types occur.

**State** (:class:`ThermoState`, at any times and positions): ``t2m``, ``d2m`` (the surface LCL is
``125 m/K * (t2m - d2m)``), boundary-layer height, inversion strength, coupling (1: the cloud layer
is fed by the surface, 0: decoupled), low cloud cover, upper layer (present or not, base), 10-m
wind, large-scale surface height. In time each varies as a smooth random process
(:class:`RandomProcess`, correlation ``exp(-lag**2 / 2 tau**2)``): LCL 200 m with tau = 15 min (the
correlation falls to 1/e in 21 min) plus 80 m with 90 min plus a per-flight trend (-40..+80 m/h);
inversion 0.8 K, 60 min; boundary-layer top 100 m, 60 min. In space the LCL has a weak gradient
(up to 0.5 m/km).

**Cloud base** (:func:`cloud_base_m`), above the large-scale surface: the LCL + 40 m when well mixed;
when decoupled the base sits higher, by ``(1 - coupling) * 0.8 * (BLH - LCL - 150 m)`` (a few
hundred metres), and never less than 80 m below the boundary-layer top; plus mesoscale variability
the state does not carry (:class:`CloudVariability`: 200 m, tau = 15 min). The flight generator adds
the nadir cloud's own offset from the layer (40 m, :data:`BASE_SPREAD_M`), the 30 % of the hills the
base does not follow (:data:`TERRAIN_FOLLOWING`) and the lidar noise. Over a 2.5-3.5 h flight the
labels vary by 0.15-0.35 km (standard deviation; 0.19-0.29 km for the default config's flights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy.special import ndtri

from atmo.cbh.synthetic.terrain import Terrain, random_terrain

METRES_PER_DEGREE = 111_320.0
LCL_M_PER_K = 125.0
#: Range of the flights' mean LCL, m; flights are spread evenly across it.
LCL_RANGE_M = (450.0, 1050.0)
#: LCL variability: (standard deviation m, correlation time s) of the fast and slow parts.
LCL_FAST = (200.0, 900.0)
LCL_SLOW = (80.0, 5400.0)
#: Distance from the flight's centre over which the state's spatial gradients apply, km.
GRADIENT_REACH_KM = 150.0
#: Inversion strength at which coupling is one half, K, and how fast coupling falls with it, 1/K.
INVERSION_HALF_COUPLED_K = 4.0
COUPLING_PER_K = 1.2
#: Cloud-base model: offset above the LCL when well mixed, share of the sub-inversion gap a decoupled
#: base rises by, the margin of that gap, and the least distance below the boundary-layer top, m.
WELL_MIXED_OFFSET_M = 40.0
DECOUPLED_GAP_SHARE = 0.8
GAP_MARGIN_M = 150.0
BELOW_TOP_M = 80.0
MIN_BASE_M = 100.0
#: Mesoscale variability of the base that no state variable carries: (std m, correlation time s).
MESOSCALE = (200.0, 900.0)
#: Spread of cloud bases within one layer (cloud to cloud), m: the nadir cloud's own offset.
BASE_SPREAD_M = 40.0
#: Share of the small-scale terrain the cloud base follows (0: flat base, 1: parallel to the ground).
TERRAIN_FOLLOWING = 0.7
#: Convective cell size (Gaussian correlation length of the cloud texture) per metre of boundary layer.
CELL_PER_BLH = 0.4
N_MODES = 96

BL_TYPES = ("well_mixed", "decoupled")
SURFACES = ("ocean", "land")


def flight_date(name: str) -> datetime:
    """Flight names follow the campaign convention ``DDMonYY`` (``30Oct24``): the flight's UTC date."""
    return datetime.strptime(name, "%d%b%y").replace(tzinfo=UTC)


@dataclass(frozen=True)
class RandomProcess:
    """A zero-mean, unit-variance process of time with covariance ``exp(-lag**2 / (2 tau**2))``.

    A sum of cosines with normally distributed frequencies (random Fourier features): a function of
    absolute time, so frames every 30 s and ERA5 hours sample one and the same realisation. The
    Gaussian covariance puts the variance at periods near ``2 pi tau``, so a flight a few ``tau``
    long sees nearly all of it; the correlation falls to 1/e after ``1.4 tau``.
    """

    omega_rad_s: np.ndarray
    phase_rad: np.ndarray

    def __call__(self, time_s: np.ndarray) -> np.ndarray:
        t = np.asarray(time_s, dtype=np.float64)[..., None]
        return math.sqrt(2.0 / self.omega_rad_s.size) * np.cos(t * self.omega_rad_s + self.phase_rad).sum(axis=-1)


def random_process(rng: np.random.Generator, tau_s: float) -> RandomProcess:
    """A :class:`RandomProcess` with correlation time ``tau_s``."""
    return RandomProcess(rng.standard_normal(N_MODES) / tau_s, rng.uniform(0.0, 2 * np.pi, N_MODES))


@dataclass(frozen=True)
class FlightRegime:
    """The weather, surface and illumination of one synthetic flight (see the module docstring)."""

    bl_type: str
    lcl_mean_m: float
    lcl_trend_m_per_h: float
    inversion_mean_k: float
    blh_above_lcl_m: float
    t2m_mean_k: float
    warming_k_per_h: float
    cloud_fraction: float
    upper_share: float
    upper_base_m: float
    upper_depth_m: float
    upper_fraction: float
    surface: str
    surface_brightness: float
    mid_local_hour: float
    center_lat_deg: float
    center_lon_deg: float
    heading_deg: float
    wind_speed_ms: float
    wind_from_deg: float

    def local_km(self, latitude_deg: np.ndarray, longitude_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(east, north) km of positions from the flight's centre (equirectangular, fine at 100 km)."""
        scale = METRES_PER_DEGREE / 1000.0
        east = (np.asarray(longitude_deg) - self.center_lon_deg) * scale * math.cos(math.radians(self.center_lat_deg))
        return east, (np.asarray(latitude_deg) - self.center_lat_deg) * scale

    def lat_lon(self, east_km: np.ndarray, north_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`local_km`."""
        scale = METRES_PER_DEGREE / 1000.0
        lon = self.center_lon_deg + east_km / (scale * math.cos(math.radians(self.center_lat_deg)))
        return self.center_lat_deg + north_km / scale, lon


def flight_regime(index: int, n_flights: int, seed: int, name: str) -> FlightRegime:
    """Regime of flight ``index`` of ``n_flights`` named ``name`` (its date sets the season)."""
    order = np.random.default_rng(seed)
    lcl_rank, type_rank, surface_rank, upper_rank = (order.permutation(n_flights)[index] for _ in range(4))
    spread = max(n_flights - 1, 1)
    decoupled = type_rank % 2 == 1
    land = surface_rank % 2 == 0
    season = math.cos(2 * math.pi * (flight_date(name).timetuple().tm_yday - 200) / 365.0)
    low, high = LCL_RANGE_M
    rng = np.random.default_rng([seed, index])
    return FlightRegime(
        bl_type=BL_TYPES[int(decoupled)],
        lcl_mean_m=float(low + (high - low) * lcl_rank / spread),
        lcl_trend_m_per_h=float(rng.uniform(-40.0, 80.0)),
        inversion_mean_k=float(rng.uniform(4.2, 5.2) if decoupled else rng.uniform(1.0, 2.5)),
        blh_above_lcl_m=float(rng.uniform(750.0, 1050.0) if decoupled else rng.uniform(300.0, 600.0)),
        t2m_mean_k=float(288.0 + 6.0 * season + rng.uniform(-3.0, 3.0)),
        warming_k_per_h=float(rng.uniform(0.2, 0.8)),
        cloud_fraction=float(rng.uniform(0.28, 0.38) if decoupled else rng.uniform(0.15, 0.28)),
        upper_share=float(0.4 * upper_rank / spread),
        upper_base_m=float(rng.uniform(2600.0, 3600.0)),
        upper_depth_m=float(rng.uniform(150.0, 300.0)),
        upper_fraction=float(rng.uniform(0.12, 0.25)),
        surface=SURFACES[int(land)],
        surface_brightness=float(rng.uniform(70.0, 105.0) if land else rng.uniform(35.0, 55.0)),
        mid_local_hour=float(rng.uniform(10.5, 13.5)),
        center_lat_deg=float(rng.uniform(32.0, 38.0)),
        center_lon_deg=float(rng.uniform(-124.0, -119.0)),
        heading_deg=float(rng.uniform(0.0, 360.0)),
        wind_speed_ms=float(rng.uniform(2.0, 5.0) if decoupled else rng.uniform(6.0, 10.0)),
        wind_from_deg=float(rng.uniform(0.0, 360.0)),
    )


@dataclass(frozen=True)
class ThermoState:
    """The state at N points (all arrays (N,)): what ERA5 would represent, and what the base follows."""

    t2m_k: np.ndarray
    d2m_k: np.ndarray
    blh_m: np.ndarray
    inversion_k: np.ndarray
    coupling: np.ndarray
    low_cloud_cover: np.ndarray
    upper_present: np.ndarray
    upper_base_m: np.ndarray
    u10_ms: np.ndarray
    v10_ms: np.ndarray
    surface_m: np.ndarray

    @property
    def lcl_m(self) -> np.ndarray:
        """Surface lifting condensation level, m: ``125 m/K * (t2m - d2m)``."""
        return LCL_M_PER_K * (self.t2m_k - self.d2m_k)


@dataclass(frozen=True)
class FlightState:
    """The evolving state of one flight: its regime, terrain and random processes (see the module doc)."""

    regime: FlightRegime
    terrain: Terrain
    reference_s: float
    lcl_gradient_m_per_km: tuple[float, float]
    lcl_fast: RandomProcess
    lcl_slow: RandomProcess
    temperature: RandomProcess
    inversion: RandomProcess
    blh: RandomProcess
    cloud_cover: RandomProcess
    upper: RandomProcess
    upper_base: RandomProcess
    wind: RandomProcess

    @property
    def mid_flight_s(self) -> float:
        """UTC time of the flight's middle (its regime's local hour), Unix seconds."""
        return self.reference_s + (self.regime.mid_local_hour - self.regime.center_lon_deg / 15.0) * 3600.0

    def at(self, time_unix_s: np.ndarray, east_km: np.ndarray, north_km: np.ndarray) -> ThermoState:
        """The state at times and positions broadcast together; arrays of the broadcast shape.

        The random processes depend on time alone, so they are evaluated on ``time_unix_s`` as given
        (ERA5 asks for a few hours on a whole grid). The spatial gradients hold within
        :data:`GRADIENT_REACH_KM` of the centre and stay flat beyond.
        """
        regime = self.regime
        time = np.asarray(time_unix_s, np.float64)
        east = np.clip(np.asarray(east_km, np.float64), -GRADIENT_REACH_KM, GRADIENT_REACH_KM)
        north = np.clip(np.asarray(north_km, np.float64), -GRADIENT_REACH_KM, GRADIENT_REACH_KM)
        t = time - self.reference_s
        hours = (time - self.mid_flight_s) / 3600.0
        grad_east, grad_north = self.lcl_gradient_m_per_km
        lcl = (
            regime.lcl_mean_m
            + regime.lcl_trend_m_per_h * hours
            + LCL_FAST[0] * self.lcl_fast(t)
            + LCL_SLOW[0] * self.lcl_slow(t)
            + grad_east * east
            + grad_north * north
        )
        lcl = np.maximum(lcl, 150.0)
        t2m = regime.t2m_mean_k + regime.warming_k_per_h * hours + 0.4 * self.temperature(t) - 0.01 * north
        inversion = np.maximum(regime.inversion_mean_k + 0.8 * self.inversion(t), 0.2)
        coupling = 1.0 / (1.0 + np.exp(COUPLING_PER_K * (inversion - INVERSION_HALF_COUPLED_K)))
        threshold = ndtri(1.0 - regime.upper_share)  # +inf for a share of 0: never
        wind_from = math.radians(regime.wind_from_deg)
        speed = np.maximum(regime.wind_speed_ms + 1.0 * self.wind(t), 0.5)
        values = {
            "t2m_k": t2m,
            "d2m_k": t2m - lcl / LCL_M_PER_K,
            "blh_m": lcl + regime.blh_above_lcl_m + 100.0 * self.blh(t),
            "inversion_k": inversion,
            "coupling": coupling,
            "low_cloud_cover": np.clip(regime.cloud_fraction + 0.05 * self.cloud_cover(t), 0.08, 0.42),
            "upper_present": self.upper(t) > threshold,
            "upper_base_m": regime.upper_base_m + 150.0 * self.upper_base(t),
            "u10_ms": -speed * math.sin(wind_from),
            "v10_ms": -speed * math.cos(wind_from),
            "surface_m": self.terrain.large_m(east_km, north_km),
        }
        return ThermoState(**dict(zip(values, np.broadcast_arrays(*values.values()), strict=True)))


def flight_state(index: int, n_flights: int, seed: int, name: str) -> FlightState:
    """The state of flight ``index`` of ``n_flights`` (named ``name``): same arguments, same state."""
    regime = flight_regime(index, n_flights, seed, name)
    rng = np.random.default_rng([seed, index, 2])
    land = regime.surface == "land"
    terrain = random_terrain(
        rng,
        mean_m=float(rng.uniform(0.0, 600.0)) if land else 0.0,
        large_std_m=float(rng.uniform(50.0, 150.0)) if land else 0.0,
        small_std_m=float(rng.uniform(50.0, 120.0)) if land else 0.0,
    )
    direction = rng.uniform(0.0, 2 * np.pi)
    gradient = rng.uniform(0.0, 0.5)
    return FlightState(
        regime=regime,
        terrain=terrain,
        reference_s=flight_date(name).timestamp(),
        lcl_gradient_m_per_km=(float(gradient * math.sin(direction)), float(gradient * math.cos(direction))),
        lcl_fast=random_process(rng, LCL_FAST[1]),
        lcl_slow=random_process(rng, LCL_SLOW[1]),
        temperature=random_process(rng, 7200.0),
        inversion=random_process(rng, 3600.0),
        blh=random_process(rng, 3600.0),
        cloud_cover=random_process(rng, 2700.0),
        upper=random_process(rng, 1800.0),
        upper_base=random_process(rng, 3600.0),
        wind=random_process(rng, 7200.0),
    )


@dataclass(frozen=True)
class CloudVariability:
    """What moves the cloud base beyond the state: the mesoscale process (see :data:`MESOSCALE`)."""

    mesoscale: RandomProcess
    reference_s: float

    def mesoscale_m(self, time_unix_s: np.ndarray) -> np.ndarray:
        return MESOSCALE[0] * self.mesoscale(np.asarray(time_unix_s, np.float64) - self.reference_s)


def cloud_variability(index: int, seed: int, name: str) -> CloudVariability:
    """The flight generator's own stream: ERA5 never builds it."""
    rng = np.random.default_rng([seed, index, 3])
    return CloudVariability(random_process(rng, MESOSCALE[1]), flight_date(name).timestamp())


def cloud_base_m(state: ThermoState, mesoscale_m: np.ndarray) -> np.ndarray:
    """Base of the lowest layer above the large-scale surface, m (the cloud-base model of the module doc)."""
    lcl = state.lcl_m
    gap = DECOUPLED_GAP_SHARE * np.maximum(state.blh_m - lcl - GAP_MARGIN_M, 0.0) * (1.0 - state.coupling)
    base = lcl + WELL_MIXED_OFFSET_M + gap + mesoscale_m
    return np.maximum(np.minimum(base, state.blh_m - BELOW_TOP_M), MIN_BASE_M)


def cloud_depth_m(state: ThermoState, base_m: np.ndarray, regime: FlightRegime) -> np.ndarray:
    """Thickest cloud of the lowest layer, m: cumulus reach a little above the boundary-layer top when
    well mixed; stratocumulus under a decoupling inversion stay thin."""
    if regime.bl_type == "well_mixed":
        return np.clip(state.blh_m - base_m + 100.0, 150.0, 900.0)
    return np.clip(state.blh_m - base_m, 100.0, 400.0)
