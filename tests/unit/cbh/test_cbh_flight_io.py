"""Per-flight HDF5 files and feature tables: round trip and every kind of bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from atmo.cbh.flight_files import (
    TRACK_VARIABLES,
    FlightTrack,
    import_local_flight,
    read_features,
    read_flight_images,
    read_flight_track,
    read_noiseless_cbh,
    write_features,
    write_flight,
)
from atmo.errors import InputError


def _track(n: int = 4, name: str = "30Oct24") -> FlightTrack:
    ramp = np.linspace(0.0, 1.0, n)
    return FlightTrack(
        name=name,
        ifov_rad=0.004,
        image_shape=(3, 8, 10),
        cbh_km=0.5 + ramp,
        time_unix_s=1.73e9 + 10 * np.arange(n),
        latitude_deg=35.0 + ramp,
        longitude_deg=-120.0 + ramp,
        altitude_m=np.full(n, 20000.0),
        sun_zenith_deg=np.full(n, 50.0),
        sun_azimuth_deg=np.full(n, 170.0),
    )


def _images(n: int = 4) -> np.ndarray:
    return np.arange(n * 3 * 8 * 10, dtype=np.int64).reshape(n, 3, 8, 10).astype(np.uint8)


def test_flight_round_trip_keeps_values_dtypes_and_units(tmp_path: Path) -> None:
    path = tmp_path / "30Oct24.h5"
    write_flight(path, _track(), _images())
    track = read_flight_track(path, expected_name="30Oct24")
    assert track.n_samples == 4 and track.image_shape == (3, 8, 10) and track.ifov_rad == 0.004
    np.testing.assert_allclose(track.cbh_km, _track().cbh_km, rtol=1e-6)
    np.testing.assert_array_equal(track.time_unix_s, _track().time_unix_s)
    np.testing.assert_allclose(track.ground_resolution_m, 80.0)
    np.testing.assert_array_equal(read_flight_images(path), _images())
    np.testing.assert_array_equal(read_flight_images(path, 1, 3), _images()[1:3])
    with h5py.File(path) as f:
        assert f.attrs["flight"] == "30Oct24" and f.attrs["image_layout"] == "NCHW"
        assert f["images"].dtype == np.uint8 and f["images"].shape == (4, 3, 8, 10)
        assert f["time_unix_s"].dtype == np.float64 and f["cbh_km"].dtype == np.float32
        assert {name: f[name].attrs["units"] for name in TRACK_VARIABLES} == {
            name: units for name, (units, _, _) in TRACK_VARIABLES.items()
        }


def test_writer_refuses_images_that_do_not_fit_the_track(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_flight(tmp_path / "x.h5", _track(), _images().astype(np.float32))
    with pytest.raises(ValueError, match="3 images for 4 samples"):
        write_flight(tmp_path / "x.h5", _track(), _images()[:3])
    assert list(tmp_path.iterdir()) == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.h5: file does not exist"):
        read_flight_track(tmp_path / "nope.h5")


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "30Oct24.h5"
    write_flight(path, _track(40), np.random.default_rng(0).integers(0, 255, (40, 3, 8, 10), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=str(path)) as err:
        read_flight_track(path)
    assert "\n" not in str(err.value)


def test_foreign_hdf5_missing_datasets(tmp_path: Path) -> None:
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["images"] = _images()
        f["lidar_height"] = np.ones(4)
    with pytest.raises(InputError, match=r"foreign\.h5: missing dataset 'cbh_km'"):
        read_flight_track(path)


def test_mismatched_sample_counts(tmp_path: Path) -> None:
    path = tmp_path / "30Oct24.h5"
    write_flight(path, _track(), _images())
    with h5py.File(path, "a") as f:
        del f["altitude_m"]
        f["altitude_m"] = np.full(3, 20000.0)
    with pytest.raises(InputError, match=r"different sample counts .*'altitude_m': 3"):
        read_flight_track(path)


def test_values_outside_physical_range(tmp_path: Path) -> None:
    path = tmp_path / "30Oct24.h5"
    write_flight(path, replace(_track(), cbh_km=np.array([0.5, np.nan, 25.0, 1.2])), _images())
    with pytest.raises(
        InputError, match=rf"{path}: dataset 'cbh_km' has 1 values outside \[0.0, 20.0\] km \(first at sample 2"
    ):
        read_flight_track(path)
    write_flight(path, replace(_track(), cbh_km=np.array([0.5, np.inf, 1.0, 1.2])), _images())
    with pytest.raises(InputError, match=r"'cbh_km' has 1 values outside .* \(first at sample 1: inf"):
        read_flight_track(path)
    write_flight(path, replace(_track(), altitude_m=np.array([20000.0, np.nan, 20000.0, 20000.0])), _images())
    with pytest.raises(InputError, match=r"'altitude_m' has 1 values outside"):
        read_flight_track(path)


def test_nan_labels_are_unlabelled_frames(tmp_path: Path) -> None:
    """A campaign has frames between lidar co-locations: NaN labels are kept, a flight of only NaN is not."""
    path = tmp_path / "30Oct24.h5"
    write_flight(path, replace(_track(), cbh_km=np.array([0.5, np.nan, np.nan, 1.2])), _images())
    labels = read_flight_track(path).cbh_km
    assert np.isnan(labels[1:3]).all() and labels[[0, 3]].tolist() == pytest.approx([0.5, 1.2])
    write_flight(path, replace(_track(), cbh_km=np.full(4, np.nan)), _images())
    with pytest.raises(InputError, match=r"30Oct24\.h5: no labelled frame: all 4 values of 'cbh_km' are NaN"):
        read_flight_track(path)


def test_noiseless_base_is_synthetic_only(tmp_path: Path) -> None:
    campaign, synthetic = tmp_path / "campaign" / "30Oct24.h5", tmp_path / "synthetic" / "30Oct24.h5"
    write_flight(campaign, _track(), _images())
    truth = np.array([0.51, 0.8, 1.1, 1.45])
    write_flight(synthetic, _track(), _images(), noiseless_cbh_km=truth)
    np.testing.assert_allclose(read_noiseless_cbh(synthetic), truth, rtol=1e-6)
    assert read_noiseless_cbh(synthetic).dtype == np.float32
    with pytest.raises(InputError, match=r"campaign/30Oct24\.h5: missing dataset 'noiseless_cbh_km'"):
        read_noiseless_cbh(campaign)
    with pytest.raises(ValueError, match="noiseless_cbh_km has shape"):
        write_flight(synthetic, _track(), _images(), noiseless_cbh_km=truth[:3])
    dest = tmp_path / "resources" / "30Oct24.h5"
    import_local_flight(synthetic, dest, "30Oct24", 4)  # the import keeps the format's datasets only
    with h5py.File(dest) as f:
        assert "noiseless_cbh_km" not in f


def test_wrong_flight_and_bad_attributes(tmp_path: Path) -> None:
    path = tmp_path / "10Feb25.h5"
    write_flight(path, _track(), _images())
    with pytest.raises(InputError, match="holds flight '30Oct24', expected '10Feb25'"):
        read_flight_track(path, expected_name="10Feb25")
    with h5py.File(path, "a") as f:
        f.attrs["ifov_rad"] = -1.0
    with pytest.raises(InputError, match="ifov_rad"):
        read_flight_track(path)


def test_import_local_flight_validates_and_copies(tmp_path: Path) -> None:
    source = tmp_path / "campaign" / "30Oct24.h5"
    write_flight(source, _track(), _images())
    dest = tmp_path / "resources" / "30Oct24.h5"
    import_local_flight(source, dest, "30Oct24", 4)
    np.testing.assert_array_equal(read_flight_images(dest), _images())
    assert read_flight_track(dest).n_samples == 4


@pytest.mark.parametrize(
    ("name", "samples", "problem"),
    [("30Oct24", 501, "has 4 samples, config cbh.flights says 501"), ("10Feb25", 4, "holds flight '30Oct24'")],
)
def test_import_local_flight_rejects_wrong_files_without_output(
    tmp_path: Path, name: str, samples: int, problem: str
) -> None:
    source = tmp_path / "campaign" / f"{name}.h5"
    write_flight(source, _track(), _images())
    dest = tmp_path / "resources" / f"{name}.h5"
    with pytest.raises(InputError, match=problem):
        import_local_flight(source, dest, name, samples)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []


def test_import_local_flight_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"local/18Feb25\.h5: file does not exist"):
        import_local_flight(tmp_path / "local" / "18Feb25.h5", tmp_path / "out.h5", "18Feb25", 24)
    assert not (tmp_path / "out.h5").exists()


def test_feature_table_round_trip_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "features.h5"
    values = np.array([[1.0, np.nan], [2.0, 3.0]])
    write_features(path, "30Oct24", ["a_km", "b_m"], ["km", "m"], values)
    names, units, read = read_features(path, "30Oct24", 2)
    assert names == ["a_km", "b_m"] and units == ["km", "m"] and read.dtype == np.float32
    np.testing.assert_array_equal(read, values.astype(np.float32))
    with pytest.raises(InputError, match="has 2 rows, the flight has 3 samples"):
        read_features(path, "30Oct24", 3)
    with pytest.raises(InputError, match="features of flight '30Oct24', expected '12Feb25'"):
        read_features(path, "12Feb25", 2)
