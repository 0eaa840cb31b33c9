"""The synthetic ERA5 never sees the labels, and the generator never sees the estimator."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np

from atmo.cbh.era5_files import read_era5
from atmo.cbh.flight_files import read_flight_track
from atmo.cbh.synthetic.era5 import synthetic_era5, write_synthetic_era5
from atmo.cbh.synthetic.flights import CameraSettings, write_synthetic_flight
from atmo.cbh.synthetic.state import flight_state

ROOT = Path(__file__).resolve().parents[3]
CAMERA = CameraSettings(image_height=8, image_width=8, ifov_mrad=40.0)
FLIGHTS = {"30Oct24": 0.5, "10Feb25": 0.4}
SETTINGS = {"variables": ["t2m", "d2m", "sp", "msl", "blh", "tcwv", "u10", "v10", "lcc", "tcc", "cape", "skt"]}


def _flights(root: Path) -> list[Path]:
    paths = [root / f"{name}.h5" for name in FLIGHTS]
    for index, ((name, hours), path) in enumerate(zip(FLIGHTS.items(), paths, strict=True)):
        write_synthetic_flight(path, name, index, len(FLIGHTS), hours, CAMERA, seed=3)
    return paths


def test_era5_is_bit_identical_when_the_labels_change(tmp_path: Path) -> None:
    paths = _flights(tmp_path)
    before = tmp_path / "before.nc"
    write_synthetic_era5(before, [read_flight_track(path) for path in paths], SETTINGS, seed=3)
    rng = np.random.default_rng(0)
    for path in paths:  # new labels (and true bases) in the files; the state is the seed's
        with h5py.File(path, "a") as f:
            labelled = np.isfinite(f["cbh_km"][...])
            f["cbh_km"][labelled] = rng.uniform(0.2, 3.0, labelled.sum())
            f["noiseless_cbh_km"][...] = rng.uniform(0.2, 3.0, f["noiseless_cbh_km"].shape)
    tracks = [read_flight_track(path) for path in paths]
    after = tmp_path / "after.nc"
    write_synthetic_era5(after, tracks, SETTINGS, seed=3)
    first, second = read_era5(before, SETTINGS["variables"]), read_era5(after, SETTINGS["variables"])
    for name in SETTINGS["variables"]:
        np.testing.assert_array_equal(first.fields[name], second.fields[name], err_msg=name)
    assert before.read_bytes() == after.read_bytes()

    # in memory as well, with labels that are not even plausible
    states = [flight_state(index, len(tracks), 3, track.name) for index, track in enumerate(tracks)]
    grids = [
        synthetic_era5(
            [dataclasses.replace(track, cbh_km=np.full(track.n_samples, value)) for track in tracks],
            states,
            ["t2m", "d2m"],
            grid_deg=0.25,
            margin_deg=0.5,
            margin_h=1.0,
            seed=3,
        )
        for value in (np.nan, 19.0)
    ]
    for name in ("t2m", "d2m"):
        np.testing.assert_array_equal(grids[0].fields[name], grids[1].fields[name])
        np.testing.assert_array_equal(grids[0].fields[name], first.fields[name])


def test_a_subset_of_variables_has_the_same_values(tmp_path: Path) -> None:
    tracks = [read_flight_track(path) for path in _flights(tmp_path)]
    write_synthetic_era5(tmp_path / "all.nc", tracks, SETTINGS, seed=3)
    write_synthetic_era5(tmp_path / "two.nc", tracks, {"variables": ["t2m", "d2m"]}, seed=3)
    every, two = read_era5(tmp_path / "all.nc", ["t2m", "d2m"]), read_era5(tmp_path / "two.nc", ["t2m", "d2m"])
    for name in ("t2m", "d2m"):
        np.testing.assert_array_equal(every.fields[name], two.fields[name])
