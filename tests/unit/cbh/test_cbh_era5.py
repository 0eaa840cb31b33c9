"""ERA5 NetCDF reading, per-sample extraction, derived predictors and the CDS request."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest

from atmo.cbh.era5_files import (
    CDS_DATASET,
    Era5Grid,
    build_cds_requests,
    cds_client,
    derive_predictors,
    fetch_era5_cds,
    read_era5,
    require_cds_credentials,
    sample_era5,
    write_era5,
)
from atmo.cbh.flight_files import FlightTrack
from atmo.errors import InputError

T0 = datetime(2024, 10, 30, 18, tzinfo=UTC).timestamp()


def _legacy_cds_file(path: Path) -> None:
    """A file as the old CDS wrote it: ``time`` in hours since 1900, packed shorts, longitudes 0..360."""
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("longitude", 3)
        ds.createDimension("latitude", 3)
        ds.createDimension("time", 3)
        lon = ds.createVariable("longitude", "f4", ("longitude",))
        lon.units = "degrees_east"
        lon[:] = [239.5, 239.75, 240.0]
        lat = ds.createVariable("latitude", "f4", ("latitude",))
        lat.units = "degrees_north"
        lat[:] = [36.0, 35.75, 35.5]
        time = ds.createVariable("time", "i4", ("time",))
        time.units, time.calendar = "hours since 1900-01-01 00:00:00.0", "gregorian"
        hours_1900 = (T0 - datetime(1900, 1, 1, tzinfo=UTC).timestamp()) / 3600
        time[:] = hours_1900 + np.arange(3)
        t2m = ds.createVariable("t2m", "i2", ("time", "latitude", "longitude"))
        t2m.scale_factor, t2m.add_offset, t2m.units = 0.01, 290.0, "K"
        t2m[:] = 290.0 + np.arange(27, dtype=np.float64).reshape(3, 3, 3)
        d2m = ds.createVariable("d2m", "f4", ("time", "latitude", "longitude"))
        d2m.units = "K"
        d2m[:] = 280.0 + np.arange(27).reshape(3, 3, 3)


def test_reads_legacy_cds_layout_and_samples_nearest_point_linear_in_time(tmp_path: Path) -> None:
    path = tmp_path / "era5.nc"
    _legacy_cds_file(path)
    grid = read_era5(path, ["t2m", "d2m"])
    np.testing.assert_allclose(grid.time_unix_s, T0 + 3600 * np.arange(3))
    assert grid.units == {"t2m": "K", "d2m": "K"}
    # lon -120.2 -> 239.8 -> column 1 (239.75); lat 35.6 -> row 2 (35.5); 18:30 -> halfway steps 0 and 1
    values = sample_era5(grid, np.array([35.6]), np.array([-120.2]), np.array([T0 + 1800.0]), "30Oct24")
    expected = 0.5 * (np.arange(27).reshape(3, 3, 3)[0, 2, 1] + np.arange(27).reshape(3, 3, 3)[1, 2, 1])
    np.testing.assert_allclose(values["t2m"], 290.0 + expected, atol=0.01)
    np.testing.assert_allclose(values["d2m"], 280.0 + expected, atol=1e-4)


def _grid(times: np.ndarray) -> Era5Grid:
    lat, lon = np.array([36.0, 35.75, 35.5]), np.array([-120.5, -120.25, -120.0])
    field = np.ones((times.size, 3, 3), np.float32)
    return Era5Grid(times, lat, lon, {"t2m": 290 * field, "d2m": 285 * field}, {"t2m": "K", "d2m": "K"}, "x/era5.nc")


@pytest.mark.parametrize(
    ("lat", "lon", "time"),
    [
        (35.6, -120.2, T0 - 60.0),  # before the first step
        (35.6, -120.2, T0 + 7300.0),  # after the last step
        (37.0, -120.2, T0 + 60.0),  # north of the area
        (35.6, -121.0, T0 + 60.0),  # west of the area
    ],
)
def test_samples_outside_coverage_name_the_file_and_flight(lat: float, lon: float, time: float) -> None:
    with pytest.raises(InputError, match=r"x/era5\.nc: flight 12Feb25: 1 of 2 samples lie outside") as err:
        sample_era5(
            _grid(T0 + 3600.0 * np.arange(3)),
            np.array([35.6, lat]),
            np.array([-120.2, lon]),
            np.array([T0, time]),
            "12Feb25",
        )
    assert "\n" not in str(err.value)


def test_samples_between_flight_days_are_outside() -> None:
    """Steps from two flight days: a sample in the gap between them is not interpolated."""
    grid = _grid(np.concatenate([T0 + 3600.0 * np.arange(2), T0 + 86400.0 + 3600.0 * np.arange(2)]))
    sample_era5(grid, np.array([35.6]), np.array([-120.2]), np.array([T0 + 86400.0 + 60]), "ok")
    with pytest.raises(InputError, match="outside"):
        sample_era5(grid, np.array([35.6]), np.array([-120.2]), np.array([T0 + 43200.0]), "gap")


def test_missing_variable_names_it(tmp_path: Path) -> None:
    path = tmp_path / "era5.nc"
    _legacy_cds_file(path)
    with pytest.raises(InputError, match=r"era5\.nc: missing ERA5 variable\(s\) \['blh'\]"):
        read_era5(path, ["t2m", "d2m", "blh"])


def test_missing_foreign_and_truncated_netcdf(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_era5(tmp_path / "none.nc", ["t2m"])
    foreign = tmp_path / "foreign.nc"
    foreign.write_text("time,t2m\n0,290\n")
    with pytest.raises(InputError, match=r"foreign\.nc: not a readable NetCDF"):
        read_era5(foreign, ["t2m"])
    truncated = tmp_path / "truncated.nc"
    write_era5(truncated, _grid(T0 + 3600.0 * np.arange(50)))
    truncated.write_bytes(truncated.read_bytes()[:2000])
    with pytest.raises(InputError, match=r"truncated\.nc"):
        read_era5(truncated, ["t2m"])


def test_writer_round_trip_uses_cds_layout(tmp_path: Path) -> None:
    path = tmp_path / "era5.nc"
    grid = _grid(T0 + 3600.0 * np.arange(3))
    write_era5(path, grid)
    with netCDF4.Dataset(path) as ds:
        assert ds.variables["t2m"].dimensions == ("valid_time", "latitude", "longitude")
        assert ds.variables["t2m"].units == "K"
    back = read_era5(path, ["t2m", "d2m"])
    np.testing.assert_array_equal(back.time_unix_s, grid.time_unix_s)
    np.testing.assert_array_equal(back.fields["d2m"], grid.fields["d2m"])


def test_derived_predictors_by_hand() -> None:
    samples = {
        k: np.array([v]) for k, v in {"t2m": 300.0, "d2m": 292.0, "u10": 3.0, "v10": -4.0, "blh": 1500.0}.items()
    }
    derived = derive_predictors(samples)
    assert derived["lcl_m"] == (pytest.approx(1000.0), "m")
    assert derived["wind10_ms"][0] == pytest.approx(5.0)
    assert derived["blh_minus_lcl_m"][0] == pytest.approx(500.0)
    # Bolton (1980) saturation vapour pressure, an independent formula: RH within half a percent.
    bolton = 6.112 * np.exp(17.67 * np.array([18.85, 26.85]) / (np.array([18.85, 26.85]) + 243.5))
    assert derived["rh2m_pct"][0] == pytest.approx(100 * bolton[0] / bolton[1], abs=0.5)
    assert set(derive_predictors({"t2m": samples["t2m"], "d2m": samples["d2m"]})) == {"lcl_m", "rh2m_pct"}


def _track(name: str, start: float, lat: float, lon: float, hours: float) -> FlightTrack:
    n = 5
    return FlightTrack(
        name=name,
        ifov_rad=0.004,
        image_shape=(3, 8, 8),
        cbh_km=np.ones(n),
        time_unix_s=start + np.linspace(0, hours * 3600, n),
        latitude_deg=lat + np.linspace(0, 0.3, n),
        longitude_deg=lon + np.linspace(0, 0.3, n),
        altitude_m=np.full(n, 2e4),
        sun_zenith_deg=np.full(n, 50.0),
        sun_azimuth_deg=np.full(n, 180.0),
    )


TRACKS = [
    _track("30Oct24", T0 + 600, 35.1, -120.9, 1.5),  # 18:10-19:40 UTC
    _track("31Oct24", T0 + 86400 + 5 * 3600 + 60, 34.3, -119.6, 0.5),  # 23:01-23:31 UTC, margin crosses midnight
]


def test_cds_requests_share_one_snapped_area_and_cover_each_flight() -> None:
    requests = build_cds_requests(TRACKS, ["t2m", "blh"], grid_deg=0.25, margin_deg=0.5, margin_h=1.0)
    assert len(requests) == 2
    # positions span 34.3..35.4 N, 120.9..119.3 W; plus 0.5 degrees, snapped outwards to 0.25
    assert all(r["area"] == [36.0, -121.5, 33.75, -118.75] for r in requests)
    first, second = requests
    assert first["variable"] == ["2m_temperature", "boundary_layer_height"]
    assert (first["year"], first["month"], first["day"]) == (["2024"], ["10"], ["30"])
    assert first["time"] == ["17:00", "18:00", "19:00", "20:00", "21:00"]
    assert second["day"] == ["01", "31"] and second["month"] == ["10", "11"]
    assert second["time"] == ["00:00", "01:00", "22:00", "23:00"]
    assert first["data_format"] == "netcdf" and first["grid"] == [0.25, 0.25]


def test_missing_credentials_say_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CDSAPI_URL", "CDSAPI_KEY", "CDSAPI_RC"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    out = tmp_path / "era5.nc"
    with pytest.raises(InputError, match=r"\.cdsapirc: no Copernicus CDS credentials") as err:
        fetch_era5_cds(out, TRACKS, {"variables": ["t2m", "d2m"], "grid_deg": 0.25, "margin_deg": 0.5, "margin_h": 1.0})
    message = str(err.value)
    assert "CDSAPI_URL" in message and "CDSAPI_KEY" in message and "key:" in message and "\n" not in message
    assert not out.exists()
    monkeypatch.setenv("CDSAPI_URL", "https://cds.example/api")
    monkeypatch.setenv("CDSAPI_KEY", "secret")
    require_cds_credentials()
    monkeypatch.delenv("CDSAPI_KEY")
    (tmp_path / ".cdsapirc").write_text("url: https://cds.example/api\nkey: secret\n")
    require_cds_credentials()


def test_missing_cdsapi_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cdsapi", None)  # what `import cdsapi` sees when it is not installed
    with pytest.raises(ModuleNotFoundError, match=r"needs the cdsapi package: pip install 'atmo\[era5\]'"):
        cds_client()


class FakeCds:
    """Stands in for the CDS server: answers each request with a file of exactly the requested steps."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def retrieve(self, name: str, request: dict[str, Any], target: str) -> None:
        assert name == CDS_DATASET
        self.requests.append(request)
        north, west, south, east = request["area"]
        lat = np.arange(north, south - 0.125, -0.25)
        lon = np.arange(west, east + 0.125, 0.25)
        times = [
            datetime(int(y), int(m), int(d), int(t[:2]), tzinfo=UTC).timestamp()
            for y in request["year"]
            for m in request["month"]
            for d in request["day"]
            for t in request["time"]
            if _valid_day(int(y), int(m), int(d))
        ]
        times = np.array(sorted(times))
        fields = {
            "t2m": np.broadcast_to(290.0 + (times - T0)[:, None, None] / 3600, (times.size, lat.size, lon.size)),
            "d2m": np.full((times.size, lat.size, lon.size), 285.0),
        }
        write_era5(target, Era5Grid(times, lat, lon, fields, {"t2m": "K", "d2m": "K"}))


def _valid_day(year: int, month: int, day: int) -> bool:
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    return True


def test_fetch_merges_one_file_per_flight_into_one_netcdf(tmp_path: Path) -> None:
    client = FakeCds()
    out = tmp_path / "era5.nc"
    settings = {"variables": ["t2m", "d2m"], "grid_deg": 0.25, "margin_deg": 0.5, "margin_h": 1.0}
    fetch_era5_cds(out, TRACKS, settings, client=client)
    assert len(client.requests) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["era5.nc"]
    grid = read_era5(out, ["t2m", "d2m"])
    assert np.all(np.diff(grid.time_unix_s) > 0)
    for track in TRACKS:
        values = sample_era5(grid, track.latitude_deg, track.longitude_deg, track.time_unix_s, track.name)
        np.testing.assert_allclose(values["t2m"], 290.0 + (track.time_unix_s - T0) / 3600, atol=1e-3)
