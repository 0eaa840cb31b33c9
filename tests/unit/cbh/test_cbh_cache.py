"""The CBH cache: content read back, and every bad input stopping before any output."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from atmo.cbh.cache import build_cache, read_cache_table, resize_frames
from atmo.cbh.flight_files import read_features, read_flight_images, write_features
from atmo.cbh.synthetic.era5 import write_synthetic_era5
from atmo.errors import InputError
from atmo.io.h5dataset import H5ArrayDataset

VARIABLES = ["t2m", "d2m", "sp", "blh", "tcwv", "u10", "v10", "lcc", "cape"]
ERA5 = {"variables": VARIABLES, "grid_deg": 0.25, "margin_deg": 0.5, "margin_h": 1.0}


def _build(campaign, out: Path, **changes) -> None:
    arguments = {
        "flights": campaign.names,
        "flight_paths": campaign.flight_paths,
        "geometry_paths": campaign.geometry_paths,
        "era5_path": campaign.era5_path,
        "variables": VARIABLES,
        "image_size": (24, 32),
        **changes,
    }
    build_cache(out, **arguments)


def test_cache_holds_every_flight_with_named_features(campaign, tmp_path: Path) -> None:
    out = tmp_path / "cache.h5"
    _build(campaign, out)
    table = read_cache_table(out)
    sizes = [t.n_samples for t in campaign.tracks]
    assert table.flights == campaign.names
    assert np.bincount(table.flight_index).tolist() == sizes
    np.testing.assert_allclose(table.cbh_km, np.concatenate([t.cbh_km for t in campaign.tracks]), rtol=1e-6)
    assert np.isnan(table.cbh_km).sum() == sum(np.isnan(t.cbh_km).sum() for t in campaign.tracks) > 0, "unlabelled"
    assert table.era5_names == [*VARIABLES, "lcl_m", "rh2m_pct", "wind10_ms", "blh_minus_lcl_m"]
    assert table.geometry_names == ["cbh_geom_km", "shadow_offset_m", "shadow_confidence"]
    geometry = np.concatenate(
        [
            read_features(p, t.name, t.n_samples)[2]
            for p, t in zip(campaign.geometry_paths, campaign.tracks, strict=True)
        ]
    )
    np.testing.assert_array_equal(table.geometry, geometry)
    assert np.isfinite(table.era5).all()
    features, names = table.tabular()
    assert features.shape == (sum(sizes), len(names)) and names[-1] == "shadow_confidence"
    with h5py.File(out) as f:
        assert f["images"].shape == (sum(sizes), 3, 24, 32) and f["images"].dtype == np.uint8
        assert f.attrs["image_layout"] == "NCHW"
        assert "noiseless_cbh_km" not in f, "the synthetic truth stays in the flight files (oracle only)"
        assert f["sample_index"][sizes[0]] == 0 and f["sample_index"][sizes[0] - 1] == sizes[0] - 1
        assert f["era5"].attrs["units"][list(f["era5"].attrs["names"]).index("lcl_m")] == "m"
        first = resize_frames(read_flight_images(campaign.flight_paths[0], 0, 1), (24, 32))
        np.testing.assert_array_equal(f["images"][0], first[0])
    item = H5ArrayDataset(out, ["images", "cbh_km"])[sizes[0]]
    assert item["images"].dtype == torch.uint8 and item["cbh_km"].item() == pytest.approx(
        campaign.tracks[1].cbh_km[0], rel=1e-6
    )


def test_resize_frames_averages_blocks() -> None:
    blocks = np.arange(6, dtype=np.uint8).reshape(1, 1, 2, 3) * 40
    frames = np.repeat(np.repeat(blocks, 4, axis=2), 4, axis=3)  # (1, 1, 8, 12), constant 4x4 blocks
    np.testing.assert_array_equal(resize_frames(frames, (2, 3)), blocks)
    assert resize_frames(frames, (8, 12)) is frames


def _assert_fails_without_output(campaign, tmp_path: Path, match: str, **changes) -> None:
    out = tmp_path / "out" / "cache.h5"
    with pytest.raises(InputError, match=match) as err:
        _build(campaign, out, **changes)
    assert "\n" not in str(err.value)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_netcdf_missing_a_required_variable(campaign, tmp_path: Path) -> None:
    era5 = tmp_path / "era5.nc"
    write_synthetic_era5(era5, campaign.tracks, {**ERA5, "variables": ["t2m", "d2m", "sp"]}, seed=0)
    _assert_fails_without_output(campaign, tmp_path, r"era5\.nc: missing ERA5 variable\(s\) \['blh'", era5_path=era5)


def test_flights_outside_the_netcdf_coverage(campaign, tmp_path: Path) -> None:
    era5 = tmp_path / "era5.nc"
    write_synthetic_era5(era5, campaign.tracks[:2], ERA5, seed=0)  # covers the first two flights only
    _assert_fails_without_output(
        campaign, tmp_path, rf"era5\.nc: flight {campaign.names[2]}: \d+ of \d+ samples lie outside", era5_path=era5
    )


def test_truncated_flight_file(campaign, tmp_path: Path) -> None:
    broken = tmp_path / f"{campaign.names[0]}.h5"
    data = campaign.flight_paths[0].read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    paths = [broken, *campaign.flight_paths[1:]]
    _assert_fails_without_output(campaign, tmp_path, rf"{broken}: ", flight_paths=paths)


def test_missing_flight_file(campaign, tmp_path: Path) -> None:
    paths = [*campaign.flight_paths[:-1], tmp_path / "missing.h5"]
    _assert_fails_without_output(campaign, tmp_path, r"missing\.h5: file does not exist", flight_paths=paths)


def test_flight_file_of_another_flight(campaign, tmp_path: Path) -> None:
    paths = [campaign.flight_paths[1], *campaign.flight_paths[1:]]
    _assert_fails_without_output(
        campaign, tmp_path, f"holds flight '{campaign.names[1]}', expected '{campaign.names[0]}'", flight_paths=paths
    )


def test_geometry_table_with_wrong_sample_count(campaign, tmp_path: Path) -> None:
    short = tmp_path / "geometry.h5"
    track = campaign.tracks[0]
    write_features(
        short, track.name, ["cbh_geom_km", "shadow_offset_m", "shadow_confidence"], ["km", "m", "1"], np.zeros((3, 3))
    )
    paths = [short, *campaign.geometry_paths[1:]]
    _assert_fails_without_output(
        campaign, tmp_path, rf"geometry\.h5: has 3 rows, the flight has {track.n_samples}", geometry_paths=paths
    )


def test_foreign_cache_file_is_rejected(campaign, tmp_path: Path) -> None:
    out = tmp_path / "cache.h5"
    _build(campaign, out)
    broken = tmp_path / "broken.h5"
    shutil.copy(out, broken)
    with h5py.File(broken, "a") as f:
        del f["geometry"]
    with pytest.raises(InputError, match=r"broken\.h5: missing dataset 'geometry'"):
        read_cache_table(broken)
