"""atmo.nowcast.cache: aligned, normalised samples; lightning rasterisation; bad input stops early."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.nowcast.baselines import lk_motion
from atmo.nowcast.cache import CacheConfig, Normalisation, build_cache, rasterise_flashes, resample, sample_starts
from atmo.nowcast.sevir_files import (
    CATALOG_COLUMNS,
    MINUTE_OFFSETS,
    MODALITIES,
    PIXEL_KM,
    SEVIR_PROJ,
    SevirReader,
    data_file_name,
    read_catalog,
    write_catalog,
)

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


# columns t_s, lat, lon, x, y (x, y in native lightning cells); frame k is at T_k = -120 + 5 k minutes
FLASHES = np.array(
    [
        [-7200.0, 0, 0, 0.5, 0.5],  # at frame 0's time -> frame 0, cell (row 0, col 0)
        [-7400.0, 0, 0, 0.9, 0.1],  # in the 5 minutes before frame 0 -> frame 0, same cell
        [-7199.0, 0, 0, 0.5, 0.5],  # just after frame 0 -> frame 1
        [0.0, 0, 0, 7.9, 2.2],  # at T_24 -> frame 24, cell (row 2, col 7)
        [-150.0, 0, 0, 7.5, 2.9],  # also frame 24, same cell
        [5.0, 0, 0, 3.0, 5.0],  # 5 s after T_24 -> frame 25, cell (row 5, col 3)
        [7200.0, 0, 0, 4.0, 4.0],  # frame 48, cell (4, 4)
        [7300.0, 0, 0, 2.0, 2.0],  # after the event: dropped
        [-7500.0, 0, 0, 2.0, 2.0],  # 5 minutes before frame 0 or earlier: dropped
        [0.0, 0, 0, 8.0, 1.0],  # column 8: outside an 8-cell patch, dropped
    ]
)


def _native_counts(size_x: int, size_y: int) -> np.ndarray:
    """:data:`FLASHES` counted by hand on a ``size_y x size_x`` lightning grid, ``(size_y, size_x, 49)``."""
    counts = np.zeros((size_y, size_x, 49), dtype=np.float32)
    for (row, col, frame), n in {(0, 0, 0): 2, (0, 0, 1): 1, (2, 7, 24): 2, (5, 3, 25): 1, (4, 4, 48): 1}.items():
        counts[row, col, frame] = n
    return counts


def test_rasterise_flashes_counts_per_native_cell_the_five_minutes_before_each_frame() -> None:
    counts = rasterise_flashes(FLASHES, size_x=8, size_y=8)
    np.testing.assert_array_equal(counts, _native_counts(8, 8))
    # x is the column and y the row: on a 5-row grid the flash in row 5 drops, the two in column 7 stay
    wide = rasterise_flashes(FLASHES, size_x=8, size_y=5)
    assert wide.shape == (5, 8, 49) and wide.sum() == 6 and wide[2, 7, 24] == 2


def test_synthetic_flashes_fall_on_their_rows_native_grid(pristine_tree: Path) -> None:
    """The generator writes x, y in lightning pixels and times in the 5 minutes before a frame: none is lost."""
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    total = 0
    with SevirReader(pristine_tree / "data") as reader:
        for _, row in catalog[catalog["img_type"] == "lght"].iterrows():
            flashes = reader.raw(row)
            counts = rasterise_flashes(flashes, int(row["size_x"]), int(row["size_y"]))
            assert counts.sum() == len(flashes)
            total += len(flashes)
    assert total > 0, "the small test set should have lightning"


def _lightning_tree(root: Path, patch_km: int = 64) -> pd.DataFrame:
    """A hand-made SEVIR tree of one storm event: an empty VIL file and a lightning file of :data:`FLASHES`."""
    event_id, when = "S000001", pd.Timestamp("2019-06-02 12:00:00")
    names = {"vil": data_file_name("vil", True, when), "lght": data_file_name("lght", True, when)}
    (root / "data" / "vil" / "2019").mkdir(parents=True)
    (root / "data" / "lght" / "2019").mkdir(parents=True)
    with h5py.File(root / "data" / names["vil"], "w") as handle:
        handle.create_dataset("id", data=np.array([event_id.encode()]))
        handle.create_dataset("vil", data=np.zeros((1, patch_km, patch_km, 49), dtype=np.uint8))
    with h5py.File(root / "data" / names["lght"], "w") as handle:
        handle.create_dataset(event_id, data=FLASHES)
    rows = [
        {
            **dict.fromkeys(CATALOG_COLUMNS, np.nan),
            "id": event_id,
            "file_name": names[img_type],
            "file_index": 0,
            "img_type": img_type,
            "time_utc": when,
            "minute_offsets": MINUTE_OFFSETS,
            "proj": SEVIR_PROJ,
            "size_x": patch_km // PIXEL_KM[img_type],
            "size_y": patch_km // PIXEL_KM[img_type],
            "height_m": patch_km * 1000.0,
            "width_m": patch_km * 1000.0,
        }
        for img_type in ("vil", "lght")
    ]
    write_catalog(root / "CATALOG.csv", pd.DataFrame(rows))
    return read_catalog(root / "CATALOG.csv")


@pytest.mark.parametrize(("grid", "patch_km"), [(32, 64), (8, 128)])
def test_lightning_is_counted_on_its_native_grid_then_resampled(tmp_path: Path, grid: int, patch_km: int) -> None:
    """Lightning cells are 8 km: on a 64 km patch grid 32 puts 4 x 4 pixels in a cell; on a 128 km patch
    (16 x 16 cells) grid 8 averages 2 x 2 cells."""
    catalog = _lightning_tree(tmp_path, patch_km)
    out = tmp_path / "cache.h5"
    build_cache(catalog, ["S000001"], tmp_path / "data", out, CacheConfig(grid_size=grid, stride=12))
    with h5py.File(out) as h:
        lght = h["x"][:, :, 3].astype(np.float32)  # (sample, frame, row, col)
        t0 = h["t0"][()]
    cells = patch_km // 8
    native = _native_counts(cells, cells)
    if cells > 8:
        native[1, 8, 24] += 1  # the flash in column 8 is inside a 16-cell patch (an 8-cell one drops it)
    if grid == 32:  # every 2 km pixel of a cell's 8 km x 8 km footprint holds that cell's count
        on_grid = native.repeat(4, axis=0).repeat(4, axis=1)
    else:
        on_grid = native.reshape(grid, 2, grid, 2, 49).mean(axis=(1, 3))
    norm = Normalisation().lght
    for k, start in enumerate(t0):
        expected = (np.moveaxis(on_grid[..., start : start + 13], -1, 0) - norm.offset) / norm.scale
        np.testing.assert_allclose(lght[k], expected, rtol=1e-3, atol=1e-3)
    if grid == 32:
        assert list(t0) == [0, 12, 24]
        zero, one = -norm.offset / norm.scale, (1 - norm.offset) / norm.scale
        # the flash 5 s after frame 24's time is in frame 25 only, never in frame 24
        footprint = np.s_[5 * 4 : 6 * 4, 3 * 4 : 4 * 4]
        np.testing.assert_allclose(lght[2, 0][footprint], zero, atol=1e-3)
        np.testing.assert_allclose(lght[2, 1][footprint], one, rtol=1e-3)


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


def test_each_sample_stores_the_optical_flow_baselines_motion_as_float16(pristine_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "cache.h5"
    _build(pristine_tree, out)
    with h5py.File(out) as h:
        assert h["motion"].shape == (h["x"].shape[0], 2, 16, 16) and h["motion"].dtype == np.float16
        moving = [k for k in range(h["x"].shape[0]) if h["x"][k, -3:, 0].max() > 0.1][:2]
        assert moving, "the small test set should have storms"
        for k in moving:
            stored = h["motion"][k].astype(np.float32)
            # the baseline's motion is rounded to float16 too: the prior is exactly the same field
            np.testing.assert_array_equal(stored, lk_motion(h["x"][k, :, 0].astype(np.float32)))
            assert np.abs(stored).max() > 0  # the synthetic storms move


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
