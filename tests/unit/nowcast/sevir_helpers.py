"""Shared test data for the nowcast data-stage tests: a small synthetic SEVIR tree on disk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atmo.io.sevir import data_file_names, read_catalog, write_catalog
from atmo.synth.sevir import SyntheticSevirConfig, synthetic_catalog, write_synthetic_file

SMALL = SyntheticSevirConfig(n_events=6, image_size=32, storm_fraction=0.67, missing_fraction=0.2, seed=3)


def write_sevir_tree(root: Path, cfg: SyntheticSevirConfig = SMALL) -> pd.DataFrame:
    """Generate ``cfg``'s catalog and every data file under ``root`` in SEVIR's layout."""
    catalog = synthetic_catalog(cfg)
    write_catalog(root / "CATALOG.csv", catalog)
    for name in data_file_names(catalog):
        write_synthetic_file(catalog, name, root / "data" / name, cfg)
    return read_catalog(root / "CATALOG.csv")
