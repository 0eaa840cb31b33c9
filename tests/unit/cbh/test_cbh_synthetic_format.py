"""Format test: read back what the synthetic generators wrote for the session campaign."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import h5py
import netCDF4
import numpy as np
import pytest

from atmo.cbh.era5_files import ERA5_VARIABLES, read_era5
from atmo.cbh.flight_files import (
    TRACK_VARIABLES,
    read_features,
    read_flight_images,
    read_flight_track,
    read_noiseless_cbh,
)
from atmo.cbh.synthetic.flights import LIDAR_NOISE_M, solar_position
from atmo.cbh.synthetic.state import flight_regime

FLIGHTS = {"30Oct24": 40, "10Feb25": 16, "23Oct24": 12, "12Feb25": 14, "18Feb25": 6}  # as in conftest: labelled
# frames per flight, one unlabelled frame after each


def test_flight_files_names_dtypes_shapes_units_and_counts(campaign) -> None:
    assert campaign.names == list(FLIGHTS)
    for name, path in zip(campaign.names, campaign.flight_paths, strict=True):
        track = read_flight_track(path, expected_name=name)
        n = 2 * FLIGHTS[name]
        assert track.n_samples == n
        with h5py.File(path) as f:
            assert f.attrs["flight"] == name
            assert f["images"].dtype == np.uint8 and f["images"].shape == (n, 3, 48, 64)
            for key, (units, low, high) in TRACK_VARIABLES.items():
                assert f[key].shape == (n,) and f[key].dtype.kind == "f"
                assert f[key].attrs["units"] == units
                values = f[key][...]
                assert low <= np.nanmin(values) and np.nanmax(values) <= high
            assert f["noiseless_cbh_km"].dtype == np.float32 and f["noiseless_cbh_km"].attrs["units"] == "km"
        # every other frame is labelled, the first one included
        np.testing.assert_array_equal(np.isfinite(track.cbh_km), np.arange(n) % 2 == 0)
        # the date in the flight name is the flight's UTC date; ER-2 altitude around 20 km
        day = datetime.strptime(name, "%d%b%y").replace(tzinfo=UTC).timestamp()
        assert np.all((track.time_unix_s >= day) & (track.time_unix_s < day + 86400))
        assert np.all(np.abs(track.altitude_m - 20000.0) < 1000.0)
        np.testing.assert_allclose(np.diff(track.time_unix_s), 30.0)


def test_labels_are_the_noiseless_base_plus_lidar_noise(campaign) -> None:
    errors = []
    for path, track in zip(campaign.flight_paths, campaign.tracks, strict=True):
        truth = read_noiseless_cbh(path)
        assert np.isfinite(truth).all() and truth.min() > 0, "the true base exists for every frame"
        labelled = np.isfinite(track.cbh_km)
        errors.append(track.cbh_km[labelled] - truth[labelled])
    error_m = 1000 * np.concatenate(errors)
    assert abs(error_m.mean()) < 10 and error_m.std() == pytest.approx(LIDAR_NOISE_M, rel=0.25)


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
    assert np.allclose(np.diff(grid.time_unix_s)[np.diff(grid.time_unix_s) < 86400], 3600.0), "hourly"


def test_geometry_estimate_sees_the_base_in_the_rendered_frames(campaign) -> None:
    """The estimator (atmo.cbh.geometry) shares no code with the renderer, yet finds the heights."""
    estimates, truth = [], []
    for track, flight, geometry in zip(campaign.tracks, campaign.flight_paths, campaign.geometry_paths, strict=True):
        names, _, values = read_features(geometry, track.name, track.n_samples)
        estimates.append(values[:, names.index("cbh_geom_km")])
        truth.append(read_noiseless_cbh(flight))
    estimate, cbh_km = np.concatenate(estimates), np.concatenate(truth)
    found = np.isfinite(estimate)
    assert found.mean() > 0.6
    assert np.corrcoef(estimate[found], cbh_km[found])[0, 1] > 0.5
    assert 0.05 < np.median(np.abs(estimate[found] - cbh_km[found])) < 0.6, "close, not exact: cloud bodies, terrain"


def test_flights_are_different_regimes(campaign) -> None:
    means = np.array([np.nanmean(t.cbh_km) for t in campaign.tracks])
    assert np.ptp(means) > 0.5
    sun = np.array([t.sun_zenith_deg.mean() for t in campaign.tracks])
    assert np.ptp(sun) > 2.0
    regimes = [flight_regime(i, 5, 7, name) for i, name in enumerate(FLIGHTS)]
    assert {r.bl_type for r in regimes} == {"well_mixed", "decoupled"}
    assert {r.surface for r in regimes} == {"ocean", "land"}
    assert len({round(r.lcl_mean_m) for r in regimes}) == 5
    assert len({round(r.upper_share, 3) for r in regimes}) == 5


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
