"""atmo.nowcast.volume: expected download and cache sizes, by hand-worked numbers and against a real cache."""

from __future__ import annotations

from pathlib import Path

import h5py
import pandas as pd

from atmo.nowcast.cache import CacheConfig, build_cache
from atmo.nowcast.sevir_files import read_catalog
from atmo.nowcast.volume import Volume, expected_volume

VIL_A = "vil/2019/SEVIR_VIL_STORMEVENTS_2019_0101_0630.h5"
VIL_B = "vil/2019/SEVIR_VIL_STORMEVENTS_2019_0701_1231.h5"
IR = "ir069/2019/SEVIR_IR069_STORMEVENTS_2019_0101_0630.h5"
LGHT = "lght/2019/SEVIR_LGHT_ALLEVENTS_2019_0601_0701.h5"


def _row(event_id: str, img_type: str, file_name: str, size: int) -> dict[str, object]:
    return {"id": event_id, "img_type": img_type, "file_name": file_name, "size_x": size, "size_y": size}


def test_sizes_of_the_needed_files_and_of_the_caches_by_hand() -> None:
    catalog = pd.DataFrame(
        [
            _row("S1", "vil", VIL_A, 384),
            _row("S2", "vil", VIL_A, 384),  # not selected, but in a needed file: downloaded too
            _row("S3", "vil", VIL_A, 384),
            _row("S1", "ir069", IR, 192),
            _row("S4", "ir069", IR, 192),
            _row("S1", "lght", LGHT, 48),
            _row("S5", "vil", VIL_B, 384),  # a file no selected event needs
        ]
    )
    selected = catalog[catalog["id"] == "S1"]
    cfg = CacheConfig(grid_size=384, frames_in=12, frames_out=6, stride=12)  # config/full.yaml's cache
    volume = expected_volume(catalog, selected, cfg)
    # VIL: 3 events x 384 x 384 x 49 x 1 byte = 21,676,032; IR: 2 x 192 x 192 x 49 x 2 bytes = 7,225,344
    # samples: starts 0, 12, 24 -> 3; per sample (12 x 4 + 6 + 2 motion) x 384^2 x 2 bytes = 16,515,072
    assert volume == Volume(
        files=3, unsized_files=1, download_bytes=28_901_376, events=1, samples=3, cache_bytes=49_545_216
    )
    assert volume.describe() == (
        "expected download: 3 data file(s), 0.03 GB of raster arrays; 1 lightning file(s) not sized by the "
        "catalog; expected caches: 1 event(s), 3 sample(s), 0.05 GB uncompressed"
    )


def test_the_cache_estimate_is_what_build_cache_writes(pristine_tree: Path, tmp_path: Path) -> None:
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    ids = list(catalog.loc[catalog["img_type"] == "vil", "id"])[:2]
    cfg = CacheConfig(grid_size=8, frames_in=13, frames_out=12, stride=12, compression="none")
    build_cache(catalog, ids, pristine_tree / "data", tmp_path / "cache.h5", cfg)
    with h5py.File(tmp_path / "cache.h5") as h:
        written = sum(h[key].size * h[key].dtype.itemsize for key in ("x", "y", "motion"))
        samples = h["x"].shape[0]
    volume = expected_volume(catalog, catalog[catalog["id"].isin(ids)], cfg)
    assert (volume.events, volume.samples, volume.cache_bytes) == (2, samples, written)
