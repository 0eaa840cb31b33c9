"""Throughput of the nowcast data stage (run: ``pytest tests/benchmarks --benchmark-only``).

* cache build: events/s and MB/s of stored SEVIR bytes decoded, resampled and written;
* DataLoader over the cache with 0 and 2 worker processes, in samples/s;
* the reference: a plain h5py loop reading the same bytes (x, y, present per sample).

Sizes follow the default config (128 km events -> 64 x 64 grid, 13 -> 12 frames, stride 6).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from atmo.nowcast.cache import CacheConfig, build_cache
from atmo.nowcast.dataset import NowcastDataset
from atmo.nowcast.sevir_files import data_file_names, read_catalog, write_catalog
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, synthetic_catalog, write_synthetic_file

SYNTH = SyntheticSevirConfig(n_events=8, image_size=128, missing_fraction=0.0, seed=1)
CACHE = CacheConfig(grid_size=64, frames_in=13, frames_out=12, stride=6)
BATCH = 8


@pytest.fixture(scope="module")
def sevir_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sevir")
    catalog = synthetic_catalog(SYNTH)
    write_catalog(root / "CATALOG.csv", catalog)
    for name in data_file_names(catalog):
        write_synthetic_file(catalog, name, root / "data" / name, SYNTH)
    return root


@pytest.fixture(scope="module")
def catalog(sevir_root: Path) -> pd.DataFrame:
    return read_catalog(sevir_root / "CATALOG.csv")


@pytest.fixture(scope="module")
def cache_path(sevir_root: Path, catalog: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "train.h5"
    build_cache(catalog, list(catalog["id"].unique()), sevir_root / "data", out, CACHE)
    return out


def _stored_mb(catalog: pd.DataFrame) -> float:
    """Bytes of the events' stored arrays (rasters: H x W x 49 x itemsize; flashes: n x 5 x 8)."""
    itemsize = {"vil": 1, "ir069": 2, "ir107": 2}
    rasters = catalog[catalog["img_type"] != "lght"]
    total = (rasters["size_x"] * rasters["size_y"] * 49 * rasters["img_type"].map(itemsize)).sum()
    return float(total) / 1e6


def test_cache_build_throughput(benchmark, sevir_root: Path, catalog: pd.DataFrame, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    ids = list(catalog["id"].unique())
    summary = benchmark.pedantic(
        build_cache, args=(catalog, ids, sevir_root / "data", tmp_path / "c.h5", CACHE), rounds=3, iterations=1
    )
    seconds = benchmark.stats.stats.mean
    benchmark.extra_info.update(
        events_per_s=len(ids) / seconds,
        stored_mb_per_s=_stored_mb(catalog) / seconds,
        samples=summary["samples"],
        cache_mb=(tmp_path / "c.h5").stat().st_size / 1e6,
    )
    assert summary["samples"] == len(ids) * 5


def _epoch(loader: DataLoader) -> int:
    n = 0
    for batch in loader:
        n += batch["x"].shape[0]
    return n


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_throughput(benchmark, cache_path: Path, num_workers: int) -> None:
    torch.set_num_threads(1)
    dataset = NowcastDataset(cache_path)
    loader = DataLoader(dataset, batch_size=BATCH, num_workers=num_workers, persistent_workers=num_workers > 0)
    n = benchmark.pedantic(_epoch, args=(loader,), rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(samples_per_s=n / benchmark.stats.stats.mean, num_workers=num_workers)
    assert n == len(dataset)


def _plain_read(path: Path) -> int:
    with h5py.File(path) as handle:
        x, y, present = handle["x"], handle["y"], handle["present"]
        for i in range(x.shape[0]):
            np.asarray(x[i], dtype=np.float32), np.asarray(y[i], dtype=np.float32), present[i]
        return x.shape[0]


def test_plain_h5py_read_throughput(benchmark, cache_path: Path) -> None:
    n = benchmark.pedantic(_plain_read, args=(cache_path,), rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(samples_per_s=n / benchmark.stats.stats.mean)
    assert n > 0
