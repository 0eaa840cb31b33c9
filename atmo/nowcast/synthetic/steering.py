"""Steering flow and storm propagation of the synthetic SEVIR storms.

Why a separate idea: a nowcaster that only extrapolates the field's mean motion should be beatable,
so cell motion must vary in space and time and differ from cell to cell:

* the steering flow is a mean wind that veers and changes speed slowly over the event plus a
  travelling stream-function wave (divergence-free), so optical flow fitted on the past frames is
  only approximately right later and elsewhere;
* each cell adds its own propagation to the steering flow. Ordinary cells move with the flow (small
  random deviation); right- and left-moving supercells deviate perpendicular to it. The deviation
  follows the form of Bunkers et al. (2000, Wea. Forecasting 15, 61-79): storm motion = mean wind
  +/- D times the unit vector perpendicular to the shear, with D = 7.5 m/s (2.25 km per 5 min).
  Here the shear is assumed roughly along the mean wind (a straight hodograph), and D is drawn a
  little below and around Bunkers' value because these are toy cells, not calibrated supercells.

Coordinates are image kilometres ``(x, y)`` = (column, row) with row 0 the northern edge, so a
positive angle turns clockwise on the map; velocities are km per 5-minute frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Frames over which the mean wind's veer and speed change are stated (the 4-hour event).
EVENT_FRAMES = 48.0
#: Bunkers et al.'s (2000) supercell deviation, 7.5 m/s, in km per 5-minute frame.
BUNKERS_DEVIATION_KM = 2.25
# Share of storm-event cells that are right / left movers (the rest move with the flow); an
# assumption: right movers dominate in the northern hemisphere's usual clockwise-curved hodographs.
RIGHT_MOVER_SHARE, LEFT_MOVER_SHARE = 0.25, 0.1


def right_of(direction: np.ndarray) -> np.ndarray:
    """Unit vectors ``(..., 2)`` pointing to the right of ``direction (..., 2)`` on the map.

    With rows growing southwards, the right of ``(u, v)`` is ``(-v, u)``: east -> south, south -> west.
    """
    unit = direction / np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
    return np.stack([-unit[..., 1], unit[..., 0]], axis=-1)


@dataclass(frozen=True)
class SteeringFlow:
    """Veering mean wind plus a stream-function wave, in km per frame at ``(x, y)`` km and a frame."""

    speed: float  # mean wind speed at frame 0, km per frame
    heading: float  # direction the mean wind blows towards at frame 0, radians (0 = east, pi/2 = south)
    veer: float  # heading change over the event's 48 frames, radians
    speed_change: float  # relative speed change over the 48 frames
    amplitude: float  # wave velocity amplitude, km per frame
    wavenumber: float  # radians per km
    phase: tuple[float, float]
    drift: float  # wave phase change per frame, radians

    def mean(self, frame: float) -> np.ndarray:
        """The mean wind ``(2,)`` at ``frame`` (may be negative: the spin-up before the event)."""
        heading = self.heading + self.veer * frame / EVENT_FRAMES
        speed = self.speed * max(1.0 + self.speed_change * frame / EVENT_FRAMES, 0.2)
        return speed * np.array([np.cos(heading), np.sin(heading)])

    def __call__(self, xy_km: np.ndarray, frame: float) -> np.ndarray:
        """Velocity ``(..., 2)`` at positions ``xy_km (..., 2)``.

        The wave is ``psi = (A / k) sin(k x + a) sin(k y + b)``, whose velocity ``(dpsi/dy, -dpsi/dx)``
        has zero divergence, so it bends tracks without creating or destroying area.
        """
        ax = self.wavenumber * xy_km[..., 0] + self.phase[0] + self.drift * frame
        ay = self.wavenumber * xy_km[..., 1] + self.phase[1]
        u = self.amplitude * np.sin(ax) * np.cos(ay)
        v = -self.amplitude * np.cos(ax) * np.sin(ay)
        return self.mean(frame) + np.stack([u, v], axis=-1)


def draw_steering_flow(rng: np.random.Generator, size_km: int) -> SteeringFlow:
    """A random steering flow: 7-20 m/s, mostly west to east as mid-latitude flow, veering <~ 35 deg."""
    return SteeringFlow(
        speed=float(rng.uniform(2.0, 6.0)),
        heading=float(rng.normal(0.0, 0.8)),
        veer=float(rng.normal(0.0, 0.3)),
        speed_change=float(rng.uniform(-0.3, 0.3)),
        amplitude=float(rng.uniform(0.5, 1.5)),
        wavenumber=float(2 * np.pi / (rng.uniform(1.0, 2.0) * size_km)),
        phase=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))),
        drift=float(rng.uniform(-0.05, 0.05)),
    )


def draw_propagation(rng: np.random.Generator, flow: SteeringFlow, n: int, supercells: bool) -> np.ndarray:
    """Per-cell deviation ``(n, 2)`` from the steering flow, km per frame.

    Ordinary cells deviate by ~0.3 km per frame at random; with ``supercells`` some cells are right
    or left movers, deviating by ``D`` (0.6-1 x Bunkers' 2.25 km per frame) perpendicular to the
    mean wind (the assumed shear direction, give or take 15 degrees).
    """
    deviation = rng.normal(0.0, 0.3, (n, 2))
    kind = rng.random(n)
    shear = flow.mean(0.0)[None, :] + rng.normal(0.0, 0.25 * flow.speed, (n, 2))
    strength = rng.uniform(0.6, 1.0, n)[:, None] * BUNKERS_DEVIATION_KM
    sign = np.where(kind < RIGHT_MOVER_SHARE, 1.0, np.where(kind < RIGHT_MOVER_SHARE + LEFT_MOVER_SHARE, -1.0, 0.0))
    if not supercells:
        sign[:] = 0.0
    return deviation + sign[:, None] * strength * right_of(shear)
