"""What a real SEVIR run will download and write, worked out from the catalog before any file is fetched.

A real source fetches whole SEVIR files (a VIL file holds hundreds of events, 1.4 to 6.2 GB),
however few of their events are selected, and the caches of a full-size run take tens of GB. The
catalog checkpoint logs both numbers (:func:`expected_volume`) before the first fetch job starts, so
a disk that cannot hold them is seen before it fills half-way.

Sizes come from the catalog alone: a raster file holds one ``size_y x size_x x 49`` array per
catalog row that refers to it (uint8 VIL, int16 IR), so its size is their sum, HDF5's small
overhead aside. Lightning files hold flash lists whose length the catalog does not give: they are
counted, not sized. The cache holds ``x``, ``y`` and ``motion`` in float16 (:mod:`atmo.nowcast.cache`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from atmo.nowcast.cache import CacheConfig, sample_starts
from atmo.nowcast.sevir_files import MODALITIES, N_FRAMES, RASTER_DTYPES, data_file_names

GB = 1e9
CACHE_BYTES_PER_VALUE = 2  # float16


@dataclass(frozen=True)
class Volume:
    """Expected download (the data files the selection needs) and caches (all splits together)."""

    files: int
    unsized_files: int
    download_bytes: int
    events: int
    samples: int
    cache_bytes: int

    def describe(self) -> str:
        """One log line, in GB."""
        unsized = f"; {self.unsized_files} lightning file(s) not sized by the catalog" if self.unsized_files else ""
        return (
            f"expected download: {self.files} data file(s), {self.download_bytes / GB:.2f} GB of raster arrays"
            f"{unsized}; expected caches: {self.events} event(s), {self.samples} sample(s), "
            f"{self.cache_bytes / GB:.2f} GB uncompressed"
        )


def raster_bytes(rows: pd.DataFrame) -> int:
    """Bytes of the ``(size_y, size_x, 49)`` arrays of raster ``rows`` (one per row); rows without a size add none."""
    sized = rows[rows["img_type"].isin(RASTER_DTYPES)].dropna(subset=["size_x", "size_y"])
    itemsize = sized["img_type"].map(lambda img_type: RASTER_DTYPES[img_type].itemsize)
    return int((sized["size_x"].astype(int) * sized["size_y"].astype(int) * N_FRAMES * itemsize).sum())


def cache_bytes(n_samples: int, cfg: CacheConfig) -> int:
    """Bytes of ``x (N, T_in, 4, G, G)``, ``y (N, T_out, G, G)`` and ``motion (N, 2, G, G)``, all float16."""
    values_per_sample = (cfg.frames_in * len(MODALITIES) + cfg.frames_out + 2) * cfg.grid_size**2
    return n_samples * values_per_sample * CACHE_BYTES_PER_VALUE


def expected_volume(catalog: pd.DataFrame, selected: pd.DataFrame, cfg: CacheConfig) -> Volume:
    """Sizes of the files ``selected`` (rows of ``catalog``) needs, summed over all of ``catalog``'s rows
    in those files (every event of a file is downloaded), and of the caches its events give."""
    names = data_file_names(selected)
    in_files = catalog[catalog["file_name"].isin(set(names))]
    lightning = set(in_files.loc[in_files["img_type"] == "lght", "file_name"])
    events = selected["id"].nunique()
    samples = events * len(sample_starts(cfg.frames_in, cfg.frames_out, cfg.stride))
    return Volume(
        files=len(names),
        unsized_files=len(lightning),
        download_bytes=raster_bytes(in_files[~in_files["file_name"].isin(lightning)]),
        events=events,
        samples=samples,
        cache_bytes=cache_bytes(samples, cfg),
    )
