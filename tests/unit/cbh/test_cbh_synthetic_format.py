"""Format test: read back what the synthetic generators wrote and check the physics they encode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import h5py
import netCDF4
import numpy as np
import pytest
from scipy import ndimage

from atmo.cbh.cache import era5_features
from atmo.io.cbh import TRACK_VARIABLES, read_features, read_flight_images, read_flight_track
from atmo.io.era5 import ERA5_VARIABLES, read_era5
from atmo.synth.cbh import flight_regime, render_frame, solar_position

FLIGHTS = {"30Oct24": 40, "10Feb25": 16, "23Oct24": 12, "12Feb25": 14, "18Feb25": 6}  # as in conftest


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def test_flight_files_names_dtypes_shapes_units_and_counts(campaign) -> None:
    assert campaign.names == list(FLIGHTS)
    for name, path in zip(campaign.names, campaign.flight_paths, strict=True):
        track = read_flight_track(path, expected_name=name)
        assert track.n_samples == FLIGHTS[name]
        with h5py.File(path) as f:
            assert f.attrs["flight"] == name
            assert f["images"].dtype == np.uint8 and f["images"].shape == (FLIGHTS[name], 3, 48, 64)
            for key, (units, low, high) in TRACK_VARIABLES.items():
                assert f[key].shape == (FLIGHTS[name],) and f[key].dtype.kind == "f"
                assert f[key].attrs["units"] == units
                assert low <= f[key][...].min() and f[key][...].max() <= high
        # the date in the flight name is the flight's UTC date; ER-2 altitude around 20 km
        day = datetime.strptime(name, "%d%b%y").replace(tzinfo=UTC).timestamp()
        assert np.all((track.time_unix_s >= day) & (track.time_unix_s < day + 86400))
        assert np.all(np.abs(track.altitude_m - 20000.0) < 1000.0)
        assert np.all(np.diff(track.time_unix_s) > 0)


def test_era5_file_uses_era5_names_units_and_axes(campaign) -> None:
    with netCDF4.Dataset(campaign.era5_path) as ds:
        assert ds.variables["t2m"].dimensions == ("valid_time", "latitude", "longitude")
        assert np.all(np.diff(ds.variables["latitude"][:]) < 0), "ERA5 latitude runs north to south"
        for name in ("t2m", "d2m", "sp", "blh", "tcwv", "u10", "v10", "lcc", "cape"):
            assert ds.variables[name].units == ERA5_VARIABLES[name][1]
    grid = read_era5(campaign.era5_path, ["t2m", "d2m", "blh", "lcc"])
    assert np.all(grid.fields["d2m"] < grid.fields["t2m"])
    assert np.all((grid.fields["lcc"] >= 0) & (grid.fields["lcc"] <= 1))
    assert np.allclose(np.diff(grid.latitude_deg), -0.25) and np.allclose(np.diff(grid.longitude_deg), 0.25)


def test_lcl_and_blh_follow_cloud_base_across_all_flights(campaign) -> None:
    grid = read_era5(campaign.era5_path, ["t2m", "d2m", "blh"])
    table = [era5_features(grid, track) for track in campaign.tracks]
    names = table[0][0]
    values = np.concatenate([v for _, _, v in table])
    cbh_km = np.concatenate([t.cbh_km for t in campaign.tracks])
    lcl_m = values[:, names.index("lcl_m")]
    assert _correlation(lcl_m, cbh_km) > 0.5
    assert _correlation(values[:, names.index("blh")], cbh_km) > 0.5
    assert np.median(np.abs(lcl_m / 1000 - cbh_km)) < 0.3, "LCL is the base height plus noise, km"


def test_geometry_estimate_tracks_the_truth(campaign) -> None:
    estimates, truth = [], []
    for track, path in zip(campaign.tracks, campaign.geometry_paths, strict=True):
        names, _, values = read_features(path, track.name, track.n_samples)
        estimates.append(values[:, names.index("cbh_geom_km")])
        truth.append(track.cbh_km)
    estimate, cbh_km = np.concatenate(estimates), np.concatenate(truth)
    assert np.isfinite(estimate).mean() > 0.6
    assert _correlation(estimate, cbh_km) > 0.7


def test_flights_are_different_regimes(campaign) -> None:
    means = np.array([t.cbh_km.mean() for t in campaign.tracks])
    assert np.min(np.abs(means[:, None] - means[None, :]) + np.eye(means.size)) > 0.1
    assert np.ptp(means) > 0.8
    sun = np.array([t.sun_zenith_deg.mean() for t in campaign.tracks])
    assert np.ptp(sun) > 3.0
    regimes = [flight_regime(i, 5, seed=7) for i in range(5)]
    assert len({round(r.cloud_fraction, 3) for r in regimes}) == 5


def test_frames_carry_base_height_in_brightness_and_texture() -> None:
    """Same sun, same noise: a higher base gives dimmer clouds in fewer, larger cells."""
    regime = flight_regime(0, 5, seed=0)
    stats = {}
    for cbh_km in (0.3, 1.5):
        frames = [
            render_frame(np.random.default_rng(i), (3, 96, 128), cbh_km, 50.0, 180.0, 60.0, regime) for i in range(4)
        ]
        gray = np.stack(frames).mean(axis=1)
        cloud = gray > 1.4 * np.median(gray)
        stats[cbh_km] = (gray[cloud].mean(), np.mean([ndimage.label(c)[1] for c in cloud]))
    assert stats[1.5][0] < stats[0.3][0] - 10
    assert stats[1.5][1] < stats[0.3][1]


def test_generators_are_deterministic_by_seed(campaign, campaign_builder, tmp_path: Path) -> None:
    again = campaign_builder(tmp_path / "again")
    for first, second in zip(
        [*campaign.flight_paths, *campaign.geometry_paths, campaign.era5_path],
        [*again.flight_paths, *again.geometry_paths, again.era5_path],
        strict=True,
    ):
        assert first.read_bytes() == second.read_bytes(), first.name
    other = campaign_builder(tmp_path / "other", seed=8)
    assert not np.array_equal(read_flight_images(other.flight_paths[0]), read_flight_images(campaign.flight_paths[0]))


def test_solar_position_known_cases() -> None:
    # 21 Dec 2024, 12:00 UTC at 45N 0E: sun about 23.4 degrees south of the equator, due south
    noon = datetime(2024, 12, 21, 12, 0, tzinfo=UTC).timestamp()
    zenith, azimuth = solar_position(np.array([noon]), np.array([45.0]), np.array([0.0]))
    assert zenith[0] == pytest.approx(45.0 + 23.44, abs=0.5)
    assert azimuth[0] == pytest.approx(180.0, abs=1.0)
    # equinox noon at the equator: sun nearly overhead; 3 h earlier it stands in the east
    equinox = datetime(2024, 3, 20, 12, 7, tzinfo=UTC).timestamp()
    zenith, azimuth = solar_position(np.array([equinox, equinox - 3 * 3600]), np.zeros(2), np.zeros(2))
    assert zenith[0] < 1.0
    assert zenith[1] == pytest.approx(45.0, abs=1.5) and azimuth[1] == pytest.approx(90.0, abs=2.0)
