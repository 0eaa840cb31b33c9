"""atmo.nowcast.cache: aligned, normalised samples; lightning rasterisation; bad input stops early."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.io.sevir import MODALITIES, SevirReader, read_catalog
from atmo.nowcast.baselines import lk_motion
from atmo.nowcast.cache import CacheConfig, build_cache, rasterise_flashes, resample, sample_starts

CFG = CacheConfig(grid_size=16, frames_in=13, frames_out=12, stride=12)


def test_sample_starts_match_the_benchmark() -> None:
    assert sample_starts(13, 12, 12) == [0, 12, 24]  # [0:13]->[13:25], [12:25]->[25:37], [24:37]->[37:49]
    assert sample_starts(12, 6, 6) == [0, 6, 12, 18, 24, 30]


def test_resample_area_mean_and_identity() -> None:
    field = np.arange(4 * 4 * 2, dtype=np.float32).reshape(4, 4, 2)
    out = resample(field, 2)
    assert out.shape == (2, 2, 2)
    assert out[0, 0, 0] == pytest.approx(field[:2, :2, 0].mean())
    assert np.array_equal(resample(field, 4), np.moveaxis(field, -1, 0))
    assert resample(field, 8).shape == (2, 8, 8)


def test_rasterise_flashes_counts_the_five_minutes_before_each_frame() -> None:
    # columns t_s, lat, lon, x, y; lightning grid of 4 pixels -> cache grid 8 (2 cells per pixel)
    flashes = np.array(
        [
            [-7200.0, 0, 0, 0.1, 0.1],  # at frame 0's time -> frame 0, cell (0, 0)
            [-7199.0, 0, 0, 0.1, 0.1],  # just after frame 0 -> frame 1
            [0.0, 0, 0, 3.9, 1.2],  # frame 24, cell (row 2, col 7)
            [-150.0, 0, 0, 3.9, 1.2],  # also frame 24
            [7200.0, 0, 0, 2.0, 2.0],  # frame 48
            [7300.0, 0, 0, 2.0, 2.0],  # after the event: dropped
            [0.0, 0, 0, 4.5, 1.0],  # outside the patch: dropped
        ]
    )
    counts = rasterise_flashes(flashes, lght_pixels=4, grid_size=8)
    assert counts.shape == (49, 8, 8) and counts.sum() == 5
    assert counts[0, 0, 0] == 1 and counts[1, 0, 0] == 1 and counts[24, 2, 7] == 2 and counts[48, 4, 4] == 1


def _build(tree: Path, out: Path, cfg: CacheConfig = CFG) -> tuple[pd.DataFrame, list[str], dict]:
    catalog = read_catalog(tree / "CATALOG.csv")
    ids = list(catalog.drop_duplicates("id").sort_values("time_utc")["id"])
    return catalog, ids, build_cache(catalog, ids, tree / "data", out, cfg)


def test_cache_layout_and_content(pristine_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "cache.h5"
    catalog, ids, summary = _build(pristine_tree, out)
    n = len(ids) * 3
    assert summary["samples"] == n
    with h5py.File(out) as h:
        assert h["x"].shape == (n, 13, 4, 16, 16) and h["x"].dtype == np.float16
        assert h["y"].shape == (n, 12, 16, 16) and h["y"].dtype == np.float16
        assert h["present"].shape == (n, 4) and h["present"].dtype == bool
        assert h["event_id"].dtype.kind == "S" and h["t0"].dtype == np.int16
        assert h["x"].chunks == (1, 13, 4, 16, 16)
        assert h.attrs["frames_in"] == 13 and h.attrs["frames_out"] == 12 and h.attrs["grid_size"] == 16
        assert h.attrs["km_per_pixel"] == pytest.approx(32 / 16)
        assert list(h.attrs["modalities"]) == list(MODALITIES)
        assert set(json.loads(h.attrs["normalisation"])) == set(MODALITIES)
        x, y = h["x"][()].astype(np.float32), h["y"][()].astype(np.float32)
        present, event_ids, t0 = h["present"][()], [e.decode() for e in h["event_id"][()]], h["t0"][()]
    assert t0.tolist() == [0, 12, 24] * len(ids) and event_ids == [i for i in ids for _ in range(3)]
    assert y.min() >= 0 and y.max() <= 1 and x[:, :, 0].min() >= 0 and x[:, :, 0].max() <= 1
    # consecutive samples of one event continue each other: x[k+1] starts where the target of k goes on
    np.testing.assert_array_equal(x[1, :, 0], np.concatenate([x[0, 12:, 0], y[0, :12]]))
    # present flags follow the catalog, and an absent channel is exactly zero
    have = catalog.groupby("id")["img_type"].agg(set)
    for k, event_id in enumerate(event_ids):
        assert present[k].tolist() == [m in have[event_id] for m in MODALITIES]
        for c in np.flatnonzero(~present[k]):
            assert not x[k, :, c].any()
    assert (~present).any(), "the small test set should miss some modalities"
    # VIL: the cache is the area mean of the stored codes /255 (32 km patch -> 16 cells of 2 km)
    vil_row = catalog[(catalog["id"] == ids[0]) & (catalog["img_type"] == "vil")].iloc[0]
    with SevirReader(pristine_tree / "data") as reader:
        codes = reader.raw(vil_row).astype(np.float32)
    expected = codes.reshape(16, 2, 16, 2, 49).mean(axis=(1, 3))[..., 25:37] / 255.0
    np.testing.assert_allclose(np.moveaxis(y[1], 0, -1), expected, atol=2e-3)


def test_each_sample_stores_the_optical_flow_baselines_motion(pristine_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "cache.h5"
    _build(pristine_tree, out)
    with h5py.File(out) as h:
        assert h["motion"].shape == (h["x"].shape[0], 2, 16, 16) and h["motion"].dtype == np.float32
        moving = [k for k in range(h["x"].shape[0]) if h["x"][k, -3:, 0].max() > 0.1][:2]
        assert moving, "the small test set should have storms"
        for k in moving:
            np.testing.assert_array_equal(h["motion"][k], lk_motion(h["x"][k, :, 0].astype(np.float32)))
            assert np.abs(h["motion"][k]).max() > 0  # the synthetic storms move


def test_cache_is_deterministic(pristine_tree: Path, tmp_path: Path) -> None:
    _build(pristine_tree, tmp_path / "a.h5")
    _build(pristine_tree, tmp_path / "b.h5")
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        for key in ("x", "y", "present", "event_id", "t0"):
            assert np.array_equal(a[key][()], b[key][()])


@pytest.mark.parametrize("damage", ["truncate", "foreign", "remove", "wrong_id"])
def test_bad_input_stops_before_compute_and_leaves_no_output(sevir_tree: Path, tmp_path: Path, damage: str) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    name = catalog.loc[catalog["img_type"] == "ir107", "file_name"].iloc[-1]
    path = sevir_tree / "data" / name
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:2048])
    elif damage == "foreign":
        with h5py.File(path, "w") as handle:
            handle.create_dataset("id", data=np.array([b"x"]))
    elif damage == "remove":
        path.unlink()
    else:
        with h5py.File(path, "a") as handle:
            handle["id"][0] = b"S000000"
    out = tmp_path / "cache.h5"
    with pytest.raises(InputError) as err:
        _build(sevir_tree, out)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)
    assert list(tmp_path.glob("cache*")) == [] and list(tmp_path.glob(".cache*")) == []


def test_a_damaged_data_file_is_quarantined_so_the_next_run_fetches_it(sevir_tree: Path, tmp_path: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    name = catalog.loc[catalog["img_type"] == "vil", "file_name"].iloc[0]
    path = sevir_tree / "data" / name
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 2])
    quarantine = tmp_path / "quarantine"
    ids = list(catalog.loc[catalog["img_type"] == "vil", "id"])
    with pytest.raises(InputError) as err:
        build_cache(catalog, ids, sevir_tree / "data", tmp_path / "cache.h5", CFG, quarantine_dir=quarantine)
    moved = quarantine / name
    assert str(err.value).endswith(f"; moved to {moved}: the next run fetches it again")
    assert not path.exists() and moved.stat().st_size == size // 2
    assert (quarantine / f"{name}.txt").read_text().startswith(f"moved here from {path} ({size // 2} bytes): ")
    assert not (tmp_path / "cache.h5").exists()
