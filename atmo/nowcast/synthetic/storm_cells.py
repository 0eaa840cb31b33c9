"""Storm-cell histories of the synthetic SEVIR events: motion, life cycle, merges, splits, initiation.

Why: a nowcaster that detects storm cells and lets them interact (the Storm-Graph Transformer) can
only beat optical flow if cells do more than drift. Every random draw of an event's storms happens
here, frame by frame, before anything is rendered, so a renderer can draw the same history with some
cells hidden (the initiation-free oracle of :mod:`atmo.nowcast.synthetic.sevir`) and stay exactly consistent.

The rules are toy physics. Where a behaviour is documented in the literature the source is named;
every number is our assumption unless it says otherwise, tuned so that the VIL shares at the VIP
thresholds match the targets of :mod:`atmo.nowcast.synthetic.sevir`.

* **Motion**: steering flow plus per-cell propagation (:mod:`atmo.nowcast.synthetic.steering`), so right movers
  overtake ordinary cells and tracks converge and diverge.
* **Life cycle**: relative amplitude ``(p / p*)^1.5 ((1 - p) / (1 - p*))^2.5`` over the life phase
  ``p`` in [0, 1], peaking at ``p* = 0.375``: growth is quicker than decay, after the cumulus, mature
  and dissipating stages of the Thunderstorm Project (Byers and Braham 1949). Lives of 1.3-3.7 h
  (16-44 frames); cores widen from 60 % to 100 % of their radius (3-8 km) as they grow. Peaks are
  log-uniform in 0.6-16 kg/m2 (storm events) or 1-6 kg/m2 (random events).
* **Merges**: when two cells with VIL come closer than 0.8 x the sum of their core radii, the weaker
  is absorbed over 2-3 frames (its amplitude falls linearly to zero while its centre slides into the
  stronger one). The survivor gains 30-60 % of the absorbed amplitude, its core widens (area plus half
  the absorbed core's), and it lives longer by half the absorbed cell's remaining life (at most 1 h):
  a decaying survivor is first made younger, back towards its peak, so it re-intensifies (peaks stop
  growing at 70 kg/m2). Mergers that make bigger, stronger storms are a long-known pattern (reviewed
  by Westcott 1984, BAMS 65).
* **Splits**: a cell with a peak >= 6 kg/m2 splits with probability 0.75 near maturity (supercell
  splitting): a right and a left daughter leave its centre perpendicular to its motion at 0.5-1.5 km
  per frame each (1-3 km per frame apart). They share its amplitude (the right one 50-65 %), then
  grow over 3 frames to 75-95 % (right) and 50-75 % (left) of the parent's peak, and continue its
  life cycle with 75 % of its radius. Sibling daughters never merge back.
* **Outflow boundaries**: a cell entering its decay (p >= 0.6) after a peak of >= 2 kg/m2 sends out a
  gust front: a ring centred where it decays, drifting with the steering flow and widening at 2-4 km
  per frame (7-13 m/s) for 1-2 h.
* **Initiation**: every new cell is first a cumulus, an IR precursor 3-5 frames before its VIL starts,
  so no new echo comes unannounced. New cells start
  - on a boundary's downwind side (within ~35 degrees of the mean wind) from its second frame on, with
    probability 0.2 per frame and 0-3 times per boundary, each time as a short line of 1-3 cells 6-10
    km apart that tend to merge as they grow;
  - where two boundaries meet, with probability 0.35 when they first cross (intersecting outflow
    boundaries are favoured places for new convection, Purdom 1982);
  - on the right flank of a growing strong cell (>= 10 kg/m2), drifting into it, with probability 0.1
    per frame (new cells on the flank of a multicell storm);
  - at random places, at a low rate that keeps the population going (about a quarter of the
    initiations in view);
  - in a storm event, one strong "anchor" cell (18-56 kg/m2) peaks near the image centre between
    frames 14 and 34, as SEVIR's storm events are centred on a reported storm.
  A site closer to a living cell than the merge distance is skipped.

The simulation covers the image plus a 40 km margin (cells drift in from outside), starts 18 frames
(1.5 h) before the event so that frame 0 already holds mature cells and gust fronts, and records
frames 0-48. Rates are per (128 km)^2, so the storm density does not depend on the image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atmo.nowcast.synthetic.steering import SteeringFlow, draw_propagation, draw_steering_flow, right_of

N_FRAMES = 49
SPIN_UP_FRAMES = 18
MARGIN_KM = 40.0
REFERENCE_KM = 128.0  # rates are per (128 km)^2 of simulated area

# life cycle
GROW, DECAY = 1.5, 2.5
PEAK_PHASE = GROW / (GROW + DECAY)
LIFE_FRAMES = (16.0, 44.0)
RADIUS_KM = (3.0, 8.0)
# merges
MERGE_DISTANCE = 0.8  # x the sum of the two radii
ABSORB_FRAMES = (2, 3)
MERGE_GAIN = (0.3, 0.6)  # x the absorbed amplitude
MAX_LIFE_EXTENSION_FRAMES = 12.0
MAX_PEAK_KG_M2 = 70.0  # merges stop intensifying here (VIL's code saturates at ~80 kg/m2)
# splits
SPLIT_MIN_PEAK_KG_M2 = 6.0
SPLIT_PROBABILITY = 0.75
SPLIT_SPEED_KM = (0.5, 1.5)  # each daughter, perpendicular to the parent's motion
# outflow boundaries and initiation
DECAY_PHASE = 0.6
BOUNDARY_MIN_PEAK_KG_M2 = 2.0
BOUNDARY_SPEED_KM = (2.0, 4.0)
BOUNDARY_LIFE_FRAMES = (12, 24)
BOUNDARY_TRIGGER_PROBABILITY = 0.2
BOUNDARY_TRIGGERS = (0.1, 0.3, 0.35, 0.25)  # probabilities of 0, 1, 2, 3 triggers
CLUSTER_SIZES = (0.3, 0.45, 0.25)  # probabilities of lines of 1, 2, 3 new cells
DOWNWIND_SPREAD_RAD = 0.6
COLLISION_PROBABILITY = 0.35
FLANK_PROBABILITY = 0.1  # per frame, for a growing strong cell
FLANK_MIN_KG_M2 = 10.0
FLANK_PHASE = (0.15, 0.55)
PRECURSOR_FRAMES = (3, 5)  # IR cumulus lead before VIL, inclusive
CUMULUS_FADE_FRAMES = 8  # after the VIL onset
MAX_CELLS_PER_REFERENCE_AREA = 25
PARAMETER_POOL = 64

_PENDING, _ACTIVE, _ABSORBED, _DEAD = 0, 1, 2, 3


@dataclass(frozen=True)
class StormKind:
    """What distinguishes a storm event's cells from a random event's."""

    peak_kg_m2: tuple[float, float]  # log-uniform range of cell peaks
    initial_cells: float  # cells per reference area at the start of the spin-up
    random_initiations: float  # per frame and reference area
    supercells: bool  # right/left movers and splits
    anchor: bool  # a strong cell near the centre mid-event


# Peaks and densities are calibrated with the texture so that VIP shares match atmo.nowcast.synthetic.sevir's targets.
ANCHOR_PEAK_KG_M2 = (18.0, 56.0)
STORM = StormKind(peak_kg_m2=(0.6, 16.0), initial_cells=9.0, random_initiations=0.06, supercells=True, anchor=True)
QUIET = StormKind(peak_kg_m2=(1.0, 6.0), initial_cells=1.0, random_initiations=0.04, supercells=False, anchor=False)


@dataclass(frozen=True)
class CellEvent:
    """A merge, split or initiation seen during the event (frames >= 0).

    ``cells``: merge ``(absorbed, survivor)``, split ``(parent, right daughter, left daughter)``,
    initiation ``(cell,)``; ``frame`` is when it is detected (for an initiation: its first VIL frame);
    ``cause`` says what triggered an initiation (``random``, ``boundary``, ``collision``, ``flank``,
    ``anchor``).
    """

    kind: str
    frame: int
    cells: tuple[int, ...]
    xy_km: tuple[float, float]
    cause: str = ""


@dataclass(frozen=True)
class StormHistory:
    """Every cell of one event over frames 0-48; ``xy`` in image km, ``(x, y)`` = (column, row).

    Attributes:
        xy_km: ``(n, 49, 2)`` cell centre (also while only a cumulus).
        amplitude_kg_m2: ``(n, 49)`` core peak VIL, 0 when the cell has no VIL.
        radius_km: ``(n, 49)`` core radius.
        cumulus: ``(n, 49)`` precursor cloud growth in (0, 1], 0 when there is none.
        aspect, angle: ``(n,)`` core elongation and its orientation (radians).
        onset: ``(n,)`` first frame with VIL (negative: before the event; > 48: never seen).
        precursor_start: ``(n,)`` first cumulus frame (= onset - 3..5), onset for daughters and
            cells already there at the start.
        root: ``(n,)`` first cell of the lineage (itself unless a split daughter).
        origin: per cell ``initial``, ``random``, ``boundary``, ``collision``, ``flank``, ``anchor`` or
            ``split``.
        events: merges, splits and initiations, in frame order.
        boundary_xy_km, boundary_radius_km: ``(m, 49, 2)``, ``(m, 49)`` outflow rings, NaN when absent.
        flow: the steering flow.
    """

    xy_km: np.ndarray
    amplitude_kg_m2: np.ndarray
    radius_km: np.ndarray
    cumulus: np.ndarray
    aspect: np.ndarray
    angle: np.ndarray
    onset: np.ndarray
    precursor_start: np.ndarray
    root: np.ndarray
    origin: tuple[str, ...]
    events: tuple[CellEvent, ...]
    boundary_xy_km: np.ndarray
    boundary_radius_km: np.ndarray
    flow: SteeringFlow

    def present(self, last_frame: int) -> np.ndarray:
        """``(n,)`` True for cells whose lineage had VIL at or before ``last_frame`` (split daughters
        of such a cell included, even when they split off later)."""
        return self.onset[self.root] <= last_frame


def life_shape(phase: np.ndarray) -> np.ndarray:
    """Relative amplitude in [0, 1] at life phase ``phase`` (1 at the peak, 0 outside (0, 1))."""
    p = np.clip(phase, 0.0, 1.0)
    shape = (p / PEAK_PHASE) ** GROW * ((1.0 - p) / (1.0 - PEAK_PHASE)) ** DECAY
    return np.where((phase > 0) & (phase < 1), shape, 0.0)


def core_radius_km(base_km: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Core radius: 60 % of the base radius when young, the full radius at the peak."""
    return base_km * (0.6 + 0.4 * life_shape(phase))


class _Simulation:
    """Mutable state of one event's cells and boundaries; arrays grow by doubling."""

    def __init__(self, rng: np.random.Generator, kind: StormKind, size_km: int) -> None:
        self.rng, self.kind, self.size = rng, kind, float(size_km)
        self.flow = draw_steering_flow(rng, size_km)
        self.lo, self.hi = -MARGIN_KM, size_km + MARGIN_KM
        self.area = ((self.hi - self.lo) / REFERENCE_KM) ** 2
        self.n = self.nb = 0
        self.cells = _grow(_CELL_FIELDS, {}, 64)
        self.rec = _grow(_RECORD_FIELDS, {}, 64)
        self.bounds = _grow(_BOUNDARY_FIELDS, {}, 16)
        self.bound_rec = _grow(_BOUNDARY_RECORD_FIELDS, {}, 16)
        self.origin: list[str] = []
        self.events: list[CellEvent] = []
        self.collided: set[tuple[int, int]] = set()
        self.anchor = self._draw_anchor() if kind.anchor else None
        self.scheduled = self._draw_random_initiations()
        self.pool, self.pool_next = self._draw_params(PARAMETER_POOL), 0

    # ---------------------------------------------------------------- drawing new cells

    def _draw_params(self, m: int, strong: bool = False) -> dict[str, np.ndarray]:
        """Random attributes of ``m`` new cells (always the same draws for a given ``m``)."""
        lo, hi = np.log(self.kind.peak_kg_m2)
        if strong:
            lo, hi = np.log(ANCHOR_PEAK_KG_M2)
        peak = np.exp(self.rng.uniform(lo, hi, m))
        life = self.rng.uniform(*LIFE_FRAMES, m)
        split = self.rng.random(m) < SPLIT_PROBABILITY
        split_phase = self.rng.uniform(PEAK_PHASE - 0.05, PEAK_PHASE + 0.15, m)
        splits = split & (peak >= SPLIT_MIN_PEAK_KG_M2) & self.kind.supercells
        return {
            "peak": peak,
            "rate": 1.0 / (np.maximum(life, 24.0) if strong else life),
            "r0": self.rng.uniform(*RADIUS_KM, m),
            "aspect": self.rng.uniform(1.0, 2.0, m),
            "angle": self.rng.uniform(0.0, np.pi, m),
            "dev": draw_propagation(self.rng, self.flow, m, self.kind.supercells),
            "lead": self.rng.integers(PRECURSOR_FRAMES[0], PRECURSOR_FRAMES[1] + 1, m),
            "split_phase": np.where(splits, split_phase, np.nan),
        }

    def _take_params(self, m: int) -> dict[str, np.ndarray]:
        """The next ``m`` parameter sets of a pool drawn in batches (one draw call per batch, not per cell)."""
        if self.pool_next + m > PARAMETER_POOL:
            self.pool, self.pool_next = self._draw_params(PARAMETER_POOL), 0
        taken = {key: value[self.pool_next : self.pool_next + m] for key, value in self.pool.items()}
        self.pool_next += m
        return taken

    def _draw_anchor(self) -> tuple[int, np.ndarray, dict[str, np.ndarray]]:
        """The storm near the image centre mid-event: its first cumulus frame, site and parameters,
        the site found by integrating its motion backwards from its peak."""
        params = self._draw_params(1, strong=True)
        peak_frame = self.rng.uniform(14.0, 34.0)
        xy = self.size / 2 + self.rng.uniform(-0.2, 0.2, 2) * self.size
        onset = round(peak_frame - PEAK_PHASE / params["rate"][0])
        start = onset - int(params["lead"][0])
        for frame in range(round(peak_frame), start, -1):
            xy = xy - (self.flow(xy, frame - 0.5) + params["dev"][0])
        return start, xy, params

    def _draw_random_initiations(self) -> dict[int, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Sites and parameters of every random initiation, drawn up front, by frame."""
        frames = N_FRAMES + SPIN_UP_FRAMES - 1
        count = self.rng.poisson(self.kind.random_initiations * self.area * frames)
        when = self.rng.integers(1 - SPIN_UP_FRAMES, N_FRAMES, count)
        sites = self.rng.uniform(self.lo, self.hi, (count, 2))
        params = self._draw_params(count)
        return {
            int(frame): (sites[when == frame], {key: value[when == frame] for key, value in params.items()})
            for frame in np.unique(when)
        }

    def _add(
        self, xy: np.ndarray, params: dict[str, np.ndarray], origin: str, frame: int, **state: np.ndarray | float
    ) -> np.ndarray:
        """Append cells at ``xy (m, 2)`` with ``params`` and per-cell ``state`` overrides; their indices."""
        m = len(xy)
        if self.n + m > len(self.cells["phase"]):
            size = max(2 * len(self.cells["phase"]), self.n + m)
            self.cells = _grow(_CELL_FIELDS, self.cells, size)
            self.rec = _grow(_RECORD_FIELDS, self.rec, size)
        idx = np.arange(self.n, self.n + m)
        self.n += m
        c = self.cells
        c["xy"][idx], c["dev"][idx] = xy, params["dev"]
        c["peak"][idx] = c["peak_target"][idx] = params["peak"]
        c["r0"][idx] = c["r0_target"][idx] = params["r0"]
        for key in ("rate", "aspect", "angle", "split_phase"):
            c[key][idx] = params[key]
        c["root"][idx] = idx
        c["precursor_start"][idx], c["onset"][idx] = frame, frame + params["lead"]
        for key, value in state.items():
            c[key][idx] = value
        self.origin.extend([origin] * m)
        return idx

    def _spawn(self, frame: int, sites: np.ndarray, origin: str, params: dict[str, np.ndarray] | None = None) -> None:
        """New cumulus cells at ``sites (m, 2)``, except off the simulated area, too close to a
        living cell, or when the area is already full."""
        if len(sites) == 0:
            return
        params = self._take_params(len(sites)) if params is None else params
        c = self.cells
        alive = np.flatnonzero(c["status"][: self.n] < _DEAD)
        if len(alive) >= MAX_CELLS_PER_REFERENCE_AREA * self.area:
            return
        ok = np.all((sites > self.lo) & (sites < self.hi), axis=1)
        gap = np.linalg.norm(sites[:, None, :] - c["xy"][alive][None, :, :], axis=-1)
        ok &= np.all(gap >= MERGE_DISTANCE * (params["r0"][:, None] + c["r0"][alive][None, :]), axis=1)
        keep = np.flatnonzero(ok)
        if len(keep):
            self._add(sites[keep], {k: v[keep] for k, v in params.items()}, origin, frame)

    # ---------------------------------------------------------------- the simulation

    def run(self) -> StormHistory:
        start = -SPIN_UP_FRAMES
        n0 = self.rng.poisson(self.kind.initial_cells * self.area)
        params = self._draw_params(n0)
        phase = self.rng.uniform(0.05, 0.95, n0)
        xy = self.rng.uniform(self.lo, self.hi, (n0, 2))
        onset = start - np.round(phase / params["rate"]).astype(int)
        self._add(xy, params, "initial", start, status=_ACTIVE, phase=phase, onset=onset, precursor_start=onset)
        for frame in range(start + 1, N_FRAMES):
            self._step(frame)
        return self._history()

    def _step(self, frame: int) -> None:
        c, n = self.cells, self.n
        status = c["status"][:n]
        alive = np.flatnonzero(status < _DEAD)
        c["xy"][alive] += self.flow(c["xy"][alive], frame - 0.5) + c["dev"][alive]
        absorbed = np.flatnonzero(status == _ABSORBED)
        if len(absorbed):
            left = c["absorb_left"][absorbed]
            c["xy"][absorbed] += (c["xy"][c["absorber"][absorbed]] - c["xy"][absorbed]) / left[:, None]
            c["absorb_left"][absorbed] -= 1
            c["fade"][absorbed] = c["absorb_left"][absorbed] / c["absorb_total"][absorbed]
        living = status == _ACTIVE  # an absorbed cell's life stops: its amplitude only fades
        c["phase"][:n][living] += c["rate"][:n][living]
        starting = np.flatnonzero((status == _PENDING) & (c["onset"][:n] == frame))
        status[starting] = _ACTIVE
        c["phase"][starting] = 0.5 * c["rate"][starting]
        ramp = np.flatnonzero(c["ramp"][:n] > 0)
        if len(ramp):
            for key in ("peak", "r0"):
                c[key][ramp] += (c[f"{key}_target"][ramp] - c[key][ramp]) / c["ramp"][ramp]
            rewind = c["rewind"][ramp] / c["ramp"][ramp]
            c["phase"][ramp] -= rewind
            c["rewind"][ramp] -= rewind
            c["ramp"][ramp] -= 1
        out = np.any((c["xy"][:n] < self.lo) | (c["xy"][:n] > self.hi), axis=1)
        dead = (c["phase"][:n] >= 1.0) | ((status == _ABSORBED) & (c["absorb_left"][:n] <= 0)) | out
        status[dead] = _DEAD
        amplitude = self._amplitude()
        np.maximum(c["max_amp"][:n], amplitude, out=c["max_amp"][:n])
        for cell in starting[status[starting] == _ACTIVE]:
            self._event("initiation", frame, (int(cell),), c["xy"][cell], self.origin[cell])
        self._boundaries(frame)
        self._flanks(frame, amplitude)
        self._splits(frame)
        self._merges(frame)
        self._initiations(frame)
        if frame >= 0:
            self._record(frame)

    def _amplitude(self) -> np.ndarray:
        c, n = self.cells, self.n
        on = (c["status"][:n] == _ACTIVE) | (c["status"][:n] == _ABSORBED)
        return np.where(on, c["fade"][:n] * c["peak"][:n] * life_shape(c["phase"][:n]), 0.0)

    def _event(self, kind: str, frame: int, cells: tuple[int, ...], xy: np.ndarray, cause: str = "") -> None:
        """Record an event of the image's frames (the spin-up's are not part of the history)."""
        if frame >= 0:
            self.events.append(CellEvent(kind, frame, cells, (float(xy[0]), float(xy[1])), cause))

    def _flanks(self, frame: int, amplitude: np.ndarray) -> None:
        """New cells on the right flank of growing strong cells, drifting into them (multicell growth)."""
        if not self.kind.supercells:
            return
        c, n = self.cells, self.n
        phase = c["phase"][:n]
        growing = (c["status"][:n] == _ACTIVE) & (phase > FLANK_PHASE[0]) & (phase < FLANK_PHASE[1])
        candidates = np.flatnonzero(growing & (amplitude >= FLANK_MIN_KG_M2))
        for parent in candidates[self.rng.random(len(candidates)) < FLANK_PROBABILITY]:
            params = self._take_params(1)
            motion = self.flow(c["xy"][parent], frame) + c["dev"][parent]
            turn = self.rng.normal(0.0, 0.5)
            side = right_of(motion) * np.cos(turn) + motion / np.linalg.norm(motion) * np.sin(turn)
            gap = self.rng.uniform(1.05, 1.3) * MERGE_DISTANCE * (c["r0"][parent] + params["r0"][0])
            params["dev"] = c["dev"][parent] - self.rng.uniform(0.3, 0.6) * side[None, :]
            self._spawn(frame, (c["xy"][parent] + gap * side)[None, :], "flank", params)

    def _splits(self, frame: int) -> None:
        c, n = self.cells, self.n
        ready = (c["status"][:n] == _ACTIVE) & (c["phase"][:n] >= c["split_phase"][:n])  # NaN: never
        for parent in np.flatnonzero(ready):
            motion = self.flow(c["xy"][parent], frame) + c["dev"][parent]
            apart = np.array([1.0, -1.0])[:, None] * self.rng.uniform(*SPLIT_SPEED_KM, (2, 1)) * right_of(motion)
            share = self.rng.uniform(0.5, 0.65)
            final = np.array([self.rng.uniform(0.75, 0.95), self.rng.uniform(0.5, 0.75)])
            params = {
                "peak": c["peak"][parent] * np.array([share, 1.0 - share]),
                "rate": np.full(2, c["rate"][parent]),
                "r0": np.full(2, 0.75 * c["r0"][parent]),
                "aspect": np.full(2, c["aspect"][parent]),
                "angle": np.full(2, c["angle"][parent]),
                "dev": c["dev"][parent] + apart,
                "lead": np.zeros(2, dtype=int),
                "split_phase": np.full(2, np.nan),
            }
            kids = self._add(c["xy"][parent] + apart, params, "split", frame, status=_ACTIVE, phase=c["phase"][parent])
            c = self.cells
            c["peak_target"][kids] = c["peak"][parent] * final
            c["ramp"][kids] = 3
            c["root"][kids] = c["root"][parent]
            c["sibling"][kids] = kids[::-1]
            c["emitted"][kids] = c["emitted"][parent]
            c["max_amp"][kids] = c["max_amp"][parent]
            c["status"][parent] = _DEAD
            self._event("split", frame, (int(parent), int(kids[0]), int(kids[1])), c["xy"][parent])

    def _merges(self, frame: int) -> None:
        c, n = self.cells, self.n
        amp = self._amplitude()
        active = np.flatnonzero((c["status"][:n] == _ACTIVE) & (amp > 0))
        if len(active) < 2:
            return
        radius = core_radius_km(c["r0"][active], c["phase"][active])
        dist = np.linalg.norm(c["xy"][active][:, None] - c["xy"][active][None, :], axis=-1)
        ratio = dist / (MERGE_DISTANCE * (radius[:, None] + radius[None, :]))
        ratio[np.tril_indices(len(active))] = np.inf
        ratio[c["sibling"][active][:, None] == active[None, :]] = np.inf
        close_i, close_j = np.nonzero(ratio < 1.0)
        order = np.argsort(ratio[close_i, close_j], kind="stable")  # the closest pairs merge first
        taken: set[int] = set()
        for i, j in zip(close_i[order], close_j[order], strict=True):
            if i in taken or j in taken:
                continue
            taken.update((i, j))
            weak, strong = (active[i], active[j]) if amp[active[i]] < amp[active[j]] else (active[j], active[i])
            steps = int(self.rng.integers(ABSORB_FRAMES[0], ABSORB_FRAMES[1] + 1))
            gain = self.rng.uniform(*MERGE_GAIN) * amp[weak]
            shape = max(float(life_shape(c["phase"][strong])), 0.25)
            c["status"][weak], c["absorber"][weak], c["ramp"][weak] = _ABSORBED, strong, 0
            c["absorb_left"][weak] = c["absorb_total"][weak] = steps
            c["peak_target"][strong] = min(c["peak_target"][strong] + gain / shape, MAX_PEAK_KG_M2)
            c["r0_target"][strong] = np.hypot(c["r0_target"][strong], np.sqrt(0.5) * c["r0"][weak])
            c["ramp"][strong] = steps
            # the longer life: a decaying survivor is first made younger (back towards its peak, so it
            # re-intensifies), and what that cannot absorb slows its remaining life cycle
            extension = min(0.5 * (1.0 - c["phase"][weak]) / c["rate"][weak], MAX_LIFE_EXTENSION_FRAMES)
            rewind = min(
                extension * c["rate"][strong], max(c["phase"][strong] + c["rate"][strong] * steps - PEAK_PHASE, 0.0)
            )
            c["rewind"][strong] = rewind
            extension -= rewind / c["rate"][strong]
            remaining = (1.0 - c["phase"][strong] + rewind) / c["rate"][strong]
            c["rate"][strong] = (1.0 - c["phase"][strong] + rewind) / (remaining + extension)
            self._event("merge", frame, (int(weak), int(strong)), (c["xy"][weak] + c["xy"][strong]) / 2)

    def _boundaries(self, frame: int) -> None:
        """Move and widen the living gust fronts, then start one for each newly decaying strong cell."""
        b, c, n = self.bounds, self.cells, self.n
        live = np.flatnonzero(b["end"][: self.nb] >= frame)
        b["xy"][live] += self.flow(b["xy"][live], frame - 0.5)
        b["radius"][live] += b["speed"][live]
        b["age"][live] += 1
        decaying = (c["status"][:n] == _ACTIVE) & (c["phase"][:n] >= DECAY_PHASE) & ~c["emitted"][:n]
        new = np.flatnonzero(decaying & (c["max_amp"][:n] >= BOUNDARY_MIN_PEAK_KG_M2))
        if len(new) == 0:
            return
        c["emitted"][new] = True
        m = len(new)
        if self.nb + m > len(b["end"]):
            size = max(2 * len(b["end"]), self.nb + m)
            self.bounds = b = _grow(_BOUNDARY_FIELDS, b, size)
            self.bound_rec = _grow(_BOUNDARY_RECORD_FIELDS, self.bound_rec, size)
        idx = np.arange(self.nb, self.nb + m)
        self.nb += m
        b["xy"][idx] = c["xy"][new]
        b["radius"][idx] = core_radius_km(c["r0"][new], c["phase"][new])
        b["speed"][idx] = self.rng.uniform(*BOUNDARY_SPEED_KM, m)
        b["end"][idx] = frame + self.rng.integers(BOUNDARY_LIFE_FRAMES[0], BOUNDARY_LIFE_FRAMES[1] + 1, m)
        b["left"][idx] = self.rng.choice(len(BOUNDARY_TRIGGERS), m, p=BOUNDARY_TRIGGERS)

    def _initiations(self, frame: int) -> None:
        if self.anchor is not None and self.anchor[0] == frame:
            _, xy, params = self.anchor
            self._add(xy[None, :], params, "anchor", frame)
        if frame in self.scheduled:
            sites, params = self.scheduled[frame]
            self._spawn(frame, sites, "random", params)
        b = self.bounds
        live = np.flatnonzero(b["end"][: self.nb] >= frame)
        if len(live) == 0:
            return
        heading = np.arctan2(*self.flow.mean(frame)[::-1])
        draw = self.rng.random(len(live))
        fire = (b["age"][live] >= 2) & (b["left"][live] > 0) & (draw < BOUNDARY_TRIGGER_PROBABILITY)
        for k in live[fire]:
            b["left"][k] -= 1
            angle = heading + self.rng.normal(0.0, DOWNWIND_SPREAD_RAD)
            self._spawn(frame, self._cluster(b["xy"][k], b["radius"][k], angle), "boundary")
        xy, radius = b["xy"][live], b["radius"][live]
        dist = np.linalg.norm(xy[:, None] - xy[None, :], axis=-1)
        crossing = (np.abs(radius[:, None] - radius[None, :]) < dist) & (dist < radius[:, None] + radius[None, :])
        for i, j in zip(*np.nonzero(np.triu(crossing, 1)), strict=True):
            pair = (int(live[i]), int(live[j]))
            if pair in self.collided:
                continue
            self.collided.add(pair)
            point = _ring_crossing(xy[i], radius[i], xy[j], radius[j], self.rng.random() < 0.5)
            if self.rng.random() < COLLISION_PROBABILITY:
                self._spawn(frame, point[None, :], "collision")

    def _cluster(self, centre: np.ndarray, radius: float, angle: float) -> np.ndarray:
        """1-3 sites along a ring, 6-10 km apart: a short line of new cells that merge as they grow."""
        count = 1 + int(self.rng.choice(len(CLUSTER_SIZES), p=CLUSTER_SIZES))
        spacing_km = self.rng.uniform(6.0, 10.0)
        angles = angle + (np.arange(count) - (count - 1) / 2) * spacing_km / max(radius, 1.0)
        return centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)

    def _record(self, frame: int) -> None:
        c, n, rec = self.cells, self.n, self.rec
        status = c["status"][:n]
        rec["xy"][:n, frame] = c["xy"][:n]
        rec["amp"][:n, frame] = self._amplitude()
        rec["radius"][:n, frame] = core_radius_km(c["r0"][:n], c["phase"][:n])
        start, onset = c["precursor_start"][:n], c["onset"][:n]
        lead = np.maximum(onset - start, 1)
        growing = (status == _PENDING) & (frame >= start)
        # the tower fades while the cell's own VIL (and so its anvil) builds up
        fading = (status < _DEAD) & (status != _PENDING) & (frame - onset < CUMULUS_FADE_FRAMES) & (start < onset)
        rec["cumulus"][:n, frame] = np.where(
            growing,
            (frame - start + 1) / lead,
            np.where(fading, 1.0 - (frame - onset + 1) / (CUMULUS_FADE_FRAMES + 1), 0.0),
        )
        live = np.flatnonzero(self.bounds["end"][: self.nb] >= frame)
        self.bound_rec["xy"][live, frame] = self.bounds["xy"][live]
        self.bound_rec["radius"][live, frame] = self.bounds["radius"][live]

    def _history(self) -> StormHistory:
        c, n, rec, nb = self.cells, self.n, self.rec, self.nb
        return StormHistory(
            xy_km=rec["xy"][:n].astype(np.float32),
            amplitude_kg_m2=rec["amp"][:n].astype(np.float32),
            radius_km=rec["radius"][:n].astype(np.float32),
            cumulus=rec["cumulus"][:n].astype(np.float32),
            aspect=c["aspect"][:n].astype(np.float32),
            angle=c["angle"][:n].astype(np.float32),
            onset=c["onset"][:n].copy(),
            precursor_start=c["precursor_start"][:n].copy(),
            root=c["root"][:n].copy(),
            origin=tuple(self.origin),
            events=tuple(sorted(self.events, key=lambda e: e.frame)),
            boundary_xy_km=self.bound_rec["xy"][:nb].astype(np.float32),
            boundary_radius_km=self.bound_rec["radius"][:nb].astype(np.float32),
            flow=self.flow,
        )


# (trailing shape, dtype, initial value) of each per-cell / per-boundary array
_CELL_FIELDS = {
    "xy": ((2,), float, 0.0),
    "dev": ((2,), float, 0.0),
    "phase": ((), float, 0.0),
    "rate": ((), float, 0.0),
    "peak": ((), float, 0.0),
    "peak_target": ((), float, 0.0),
    "r0": ((), float, 0.0),
    "r0_target": ((), float, 0.0),
    "ramp": ((), int, 0),
    "rewind": ((), float, 0.0),
    "aspect": ((), float, 0.0),
    "angle": ((), float, 0.0),
    "split_phase": ((), float, np.nan),
    "status": ((), np.int8, _PENDING),
    "onset": ((), int, 0),
    "precursor_start": ((), int, 0),
    "fade": ((), float, 1.0),
    "absorber": ((), int, -1),
    "absorb_left": ((), int, 0),
    "absorb_total": ((), int, 1),
    "root": ((), int, -1),
    "sibling": ((), int, -1),
    "max_amp": ((), float, 0.0),
    "emitted": ((), bool, False),
}
_RECORD_FIELDS = {
    "xy": ((N_FRAMES, 2), float, 0.0),
    "amp": ((N_FRAMES,), float, 0.0),
    "radius": ((N_FRAMES,), float, 0.0),
    "cumulus": ((N_FRAMES,), float, 0.0),
}
_BOUNDARY_FIELDS = {
    "xy": ((2,), float, 0.0),
    "radius": ((), float, 0.0),
    "speed": ((), float, 0.0),
    "end": ((), int, -(10**6)),
    "age": ((), int, 0),
    "left": ((), int, 0),
}
_BOUNDARY_RECORD_FIELDS = {"xy": ((N_FRAMES, 2), float, np.nan), "radius": ((N_FRAMES,), float, np.nan)}


def _grow(fields: dict, arrays: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """``arrays`` (new ones if empty) with every array padded to ``size`` rows of its initial value."""
    out = {}
    for key, (shape, dtype, initial) in fields.items():
        full = np.full((size, *shape), initial, dtype=dtype)
        if key in arrays:
            full[: len(arrays[key])] = arrays[key]
        out[key] = full
    return out


def _ring_crossing(a: np.ndarray, ra: float, b: np.ndarray, rb: float, left: bool) -> np.ndarray:
    """One of the two points where crossing rings ``(a, ra)`` and ``(b, rb)`` meet (left or right of a -> b)."""
    d = float(np.linalg.norm(b - a))
    along = (ra**2 - rb**2 + d**2) / (2 * d)
    across = np.sqrt(max(ra**2 - along**2, 0.0))
    unit = (b - a) / d
    return a + along * unit + (1.0 if left else -1.0) * across * np.array([-unit[1], unit[0]])


def simulate_storm_history(rng: np.random.Generator, storm: bool, size_km: int) -> StormHistory:
    """Draw one event's storm history (all of its random draws, in a fixed order) for an image of
    ``size_km`` km; ``storm`` picks a storm event's cells rather than a random event's."""
    return _Simulation(rng, STORM if storm else QUIET, size_km).run()
