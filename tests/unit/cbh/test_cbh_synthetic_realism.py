"""The default config's synthetic campaign is realistic where the review found it was not.

The flights of ``config/config.yaml`` are generated as the workflow would, with a camera of 8 x 8
coarse pixels (the labels and ERA5 do not depend on the frame size), written to HDF5 and NetCDF and
read back: hours-long flights with unlabelled frames between the labels, a base that varies by a
few hundred metres within each flight, and an ERA5 LCL that misses the lidar base by a few hundred
metres with a bias that differs by flight (no oracle).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from atmo.cbh.era5_files import derive_predictors, read_era5, sample_era5
from atmo.cbh.flight_files import read_flight_track, read_noiseless_cbh
from atmo.cbh.synthetic.era5 import write_synthetic_era5
from atmo.cbh.synthetic.flights import CameraSettings, write_synthetic_flight
from atmo.settings import build_block

CONFIG = Path(__file__).resolve().parents[3] / "config" / "config.yaml"


@pytest.fixture(scope="module")
def default_campaign(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Flights and ERA5 of the default config (cheap camera), read back from the files."""
    cbh = yaml.safe_load(CONFIG.read_text())["cbh"]
    camera = dataclasses.replace(
        build_block(CameraSettings, cbh["synthetic"], "cbh.synthetic"), image_height=8, image_width=8, ifov_mrad=40.0
    )
    root = tmp_path_factory.mktemp("default_cbh")
    paths = []
    for index, flight in enumerate(cbh["flights"]):
        paths.append(root / f"{flight['name']}.h5")
        write_synthetic_flight(
            paths[-1], flight["name"], index, len(cbh["flights"]), flight["hours"], camera, cbh["seed"]
        )
    tracks = [
        read_flight_track(path, expected_name=flight["name"])
        for path, flight in zip(paths, cbh["flights"], strict=True)
    ]
    write_synthetic_era5(root / "era5.nc", tracks, cbh.get("era5", {}), cbh["seed"])
    grid = read_era5(root / "era5.nc", ["t2m", "d2m"])
    lcl_km = []
    for track in tracks:
        samples = sample_era5(grid, track.latitude_deg, track.longitude_deg, track.time_unix_s, track.name)
        lcl_km.append(derive_predictors(samples)["lcl_m"][0] / 1000.0)
    return {"config": cbh, "camera": camera, "paths": paths, "tracks": tracks, "lcl_km": lcl_km}


def test_flights_last_hours_with_unlabelled_frames_between_labels(default_campaign) -> None:
    camera, total = default_campaign["camera"], 0
    for flight, track in zip(default_campaign["config"]["flights"], default_campaign["tracks"], strict=True):
        labelled = np.isfinite(track.cbh_km)
        assert labelled.sum() == round(flight["hours"] * 3600 / camera.label_interval_s)
        assert (~labelled).sum() == labelled.sum() * camera.unlabelled_per_label
        assert 2.0 <= np.ptp(track.time_unix_s) / 3600 <= 4.0
        total += labelled.sum()
    assert 750 <= total <= 900


def test_base_varies_within_each_flight_and_between_flights(default_campaign) -> None:
    stds, means = [], []
    for track in default_campaign["tracks"]:
        labels = track.cbh_km[np.isfinite(track.cbh_km)]
        stds.append(labels.std())
        means.append(labels.mean())
    assert min(stds) >= 0.15, f"within-flight std {np.round(stds, 3)} km"
    assert np.median(stds) >= 0.2
    assert np.ptp(means) > 0.5


def test_base_is_correlated_for_tens_of_minutes(default_campaign) -> None:
    """Pooled over flights, labels a minute apart are near-identical, an hour apart nearly unrelated."""

    def correlation(lag: int) -> float:
        pairs = []
        for track in default_campaign["tracks"]:
            labels = track.cbh_km[np.isfinite(track.cbh_km)]
            labels = labels - labels.mean()
            pairs.append(np.stack([labels[:-lag], labels[lag:]]))
        a, b = np.concatenate(pairs, axis=1)
        return float(np.corrcoef(a, b)[0, 1])

    assert correlation(1) > 0.9
    assert correlation(10) > 0.5
    assert correlation(60) < 0.4


def test_era5_lcl_misses_the_lidar_base_by_hundreds_of_metres_with_a_bias_per_flight(default_campaign) -> None:
    biases, maes = [], []
    for track, lcl_km in zip(default_campaign["tracks"], default_campaign["lcl_km"], strict=True):
        labelled = np.isfinite(track.cbh_km)
        error = lcl_km[labelled] - track.cbh_km[labelled]
        biases.append(error.mean())
        maes.append(np.abs(error).mean())
    assert all(0.1 < mae < 0.9 for mae in maes), f"per-flight MAE {np.round(maes, 3)} km"
    assert 0.2 < np.mean(maes) < 0.6
    assert np.ptp(biases) > 0.3, f"per-flight bias {np.round(biases, 3)} km"


def test_noiseless_base_is_written_for_every_frame(default_campaign) -> None:
    for path, track in zip(default_campaign["paths"], default_campaign["tracks"], strict=True):
        truth = read_noiseless_cbh(path)
        assert truth.shape == (track.n_samples,) and np.isfinite(truth).all()
