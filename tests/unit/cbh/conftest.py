"""A small synthetic CBH campaign on disk, built once per test session: flights, ERA5, geometry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from atmo.cbh.flight_files import FlightTrack, read_flight_images, write_features
from atmo.cbh.geometry import GEOMETRY_FEATURES, GeometrySettings, flight_shadow_features
from atmo.cbh.synthetic.era5 import write_synthetic_era5
from atmo.cbh.synthetic.flights import CameraSettings, write_synthetic_flight

#: Labelled frames per flight; with a label a minute a flight lasts that many minutes, and one
#: unlabelled frame follows each labelled one.
FLIGHTS = {"30Oct24": 40, "10Feb25": 16, "23Oct24": 12, "12Feb25": 14, "18Feb25": 6}
CAMERA = CameraSettings(
    image_height=48,
    image_width=64,
    channels=3,
    ifov_mrad=6.0,
    altitude_m=20000.0,
    label_interval_s=60.0,
    unlabelled_per_label=1,
)
ERA5 = {
    "source": "synthetic",
    "variables": ["t2m", "d2m", "sp", "blh", "tcwv", "u10", "v10", "lcc", "cape"],
    "grid_deg": 0.25,
    "margin_deg": 0.5,
    "margin_h": 1.0,
}
SEED = 7


@dataclass(frozen=True)
class Campaign:
    """Paths and tracks of the session's synthetic campaign (flights in ``FLIGHTS`` order)."""

    names: list[str]
    tracks: list[FlightTrack]
    flight_paths: list[Path]
    geometry_paths: list[Path]
    era5_path: Path


def build_campaign(root: Path, seed: int = SEED) -> Campaign:
    names, tracks, flight_paths, geometry_paths = [], [], [], []
    for index, (name, n_labelled) in enumerate(FLIGHTS.items()):
        path = root / "flights" / f"{name}.h5"
        track = write_synthetic_flight(path, name, index, len(FLIGHTS), n_labelled / 60.0, CAMERA, seed)
        features = flight_shadow_features(read_flight_images(path), track, GeometrySettings())
        geometry = root / "geometry" / f"{name}.h5"
        write_features(geometry, name, [n for n, _ in GEOMETRY_FEATURES], [u for _, u in GEOMETRY_FEATURES], features)
        names.append(name)
        tracks.append(track)
        flight_paths.append(path)
        geometry_paths.append(geometry)
    era5_path = root / "era5.nc"
    write_synthetic_era5(era5_path, tracks, ERA5, seed)
    return Campaign(names, tracks, flight_paths, geometry_paths, era5_path)


@pytest.fixture(scope="session")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    """Read-only: tests that break files copy them first."""
    return build_campaign(tmp_path_factory.mktemp("cbh_campaign"))


@pytest.fixture
def campaign_builder() -> Callable[[Path], Campaign]:
    """``build(root)`` writes a fresh campaign under ``root`` (for determinism and bad-input tests)."""
    return build_campaign
