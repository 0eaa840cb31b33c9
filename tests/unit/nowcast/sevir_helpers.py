"""Shared test data for the nowcast tests: a small synthetic SEVIR tree on disk and caches built from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from atmo.nowcast.cache import CacheConfig, build_cache
from atmo.nowcast.sevir_files import SevirReader, data_file_names, read_catalog, write_catalog
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, synthetic_catalog, write_synthetic_file

SMALL = SyntheticSevirConfig(n_events=6, image_size=32, storm_fraction=0.67, missing_fraction=0.2, seed=3)


def write_sevir_tree(root: Path, cfg: SyntheticSevirConfig = SMALL) -> pd.DataFrame:
    """Generate ``cfg``'s catalog and every data file under ``root`` in SEVIR's layout."""
    catalog = synthetic_catalog(cfg)
    write_catalog(root / "CATALOG.csv", catalog)
    for name in data_file_names(catalog):
        write_synthetic_file(catalog, name, root / "data" / name, cfg)
    return read_catalog(root / "CATALOG.csv")


def event_ids(tree: Path) -> list[str]:
    """The event ids of ``tree``'s catalog, in catalog order."""
    return list(read_catalog(tree / "CATALOG.csv").drop_duplicates("id")["id"])


def stormiest_event(tree: Path, ids: Sequence[str], frames: slice) -> str:
    """The event of ``ids`` with the most VIL pixels at or above VIP 2 (code 74) in ``frames``: a
    validation event whose contingency scores are defined, whatever the generator draws."""
    catalog = read_catalog(tree / "CATALOG.csv")
    rows = catalog[(catalog["img_type"] == "vil") & catalog["id"].isin(ids)].set_index("id")
    with SevirReader(tree / "data") as reader:
        wet = {event_id: int(np.sum(reader.raw(rows.loc[event_id])[..., frames] >= 74)) for event_id in ids}
    return max(ids, key=wet.__getitem__)


def build_caches(tree: Path, out_dir: Path, events: Mapping[str, Sequence[str]], cfg: CacheConfig) -> dict[str, Path]:
    """One cache ``out_dir/<name>.h5`` per ``name`` of ``events``, holding ``tree``'s events ``events[name]``."""
    catalog = read_catalog(tree / "CATALOG.csv")
    paths = {name: out_dir / f"{name}.h5" for name in events}
    for name, ids in events.items():
        build_cache(catalog, list(ids), tree / "data", paths[name], cfg)
    return paths
