"""atmo.nowcast.source: the three sources end in the same checked files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from local_http import serve_directory
from sevir_helpers import SMALL

from atmo.errors import InputError
from atmo.nowcast.sevir_files import check_data_files, data_file_names, read_catalog
from atmo.nowcast.source import SevirConfig, SourceConfig, fetch_catalog, fetch_data_file


@pytest.fixture
def served(sevir_tree: Path) -> Iterator[tuple[str, Path]]:
    """Serve a SEVIR tree over HTTP on 127.0.0.1 (stands in for the S3 bucket)."""
    with serve_directory(sevir_tree) as url:
        yield url, sevir_tree


def _fetch_all(cfg: SourceConfig, dest: Path) -> pd.DataFrame:
    catalog = fetch_catalog(cfg, dest / "CATALOG.csv")
    for name in data_file_names(catalog):
        fetch_data_file(cfg, catalog, name, dest / "data" / name)
    return catalog


def _same_files(a: Path, b: Path, catalog: pd.DataFrame) -> None:
    for name in data_file_names(catalog):
        with h5py.File(a / "data" / name) as x, h5py.File(b / "data" / name) as y:
            assert set(x) == set(y)
            for key in x:
                assert np.array_equal(x[key][()], y[key][()])


def test_synthetic_source_builds_the_tree(pristine_tree: Path, tmp_path: Path) -> None:
    catalog = _fetch_all(SourceConfig("synthetic", SMALL), tmp_path)
    check_data_files(catalog, tmp_path / "data")
    pd.testing.assert_frame_equal(catalog, read_catalog(pristine_tree / "CATALOG.csv"))
    _same_files(tmp_path, pristine_tree, catalog)


def test_s3_source_downloads_over_https_api(served: tuple[str, Path], tmp_path: Path) -> None:
    url, origin = served
    catalog = _fetch_all(SourceConfig("sevir_s3", SMALL, SevirConfig(base_url=url + "/")), tmp_path)
    check_data_files(catalog, tmp_path / "data")
    _same_files(tmp_path, origin, catalog)
    assert not any(p.is_symlink() for p in tmp_path.rglob("*.h5"))


def test_s3_source_refuses_a_bad_download(served: tuple[str, Path], tmp_path: Path) -> None:
    url, origin = served
    catalog = read_catalog(origin / "CATALOG.csv")
    name = catalog.loc[catalog["img_type"] == "vil", "file_name"].iloc[0]
    with h5py.File(origin / "data" / name, "w") as handle:
        handle.create_dataset("vil", data=np.zeros((1, 2), dtype=np.uint8))
    dest = tmp_path / "data" / name
    with pytest.raises(InputError, match="missing dataset 'id'"):
        fetch_data_file(SourceConfig("sevir_s3", SMALL, SevirConfig(base_url=url)), catalog, name, dest)
    assert not dest.exists()


def test_local_source_links_in_place(sevir_tree: Path, tmp_path: Path) -> None:
    catalog = _fetch_all(SourceConfig("sevir_local", SMALL, SevirConfig(local_dir=str(sevir_tree))), tmp_path)
    assert (tmp_path / "CATALOG.csv").resolve() == (sevir_tree / "CATALOG.csv").resolve()
    for name in data_file_names(catalog):
        link = tmp_path / "data" / name
        assert link.is_symlink() and link.resolve() == (sevir_tree / "data" / name).resolve()


def test_local_source_checks_files_before_linking(sevir_tree: Path, tmp_path: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    name = catalog.loc[catalog["img_type"] == "lght", "file_name"].iloc[0]
    (sevir_tree / "data" / name).write_bytes(b"not hdf5 at all")
    dest = tmp_path / "data" / name
    with pytest.raises(InputError, match="not an HDF5 file"):
        fetch_data_file(SourceConfig("sevir_local", SMALL, SevirConfig(local_dir=str(sevir_tree))), catalog, name, dest)
    assert not dest.exists() and not dest.is_symlink()


def test_local_source_directory_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_sevir"
    with pytest.raises(InputError) as err:
        fetch_catalog(SourceConfig("sevir_local", SMALL, SevirConfig(local_dir=str(missing))), tmp_path / "CATALOG.csv")
    assert str(err.value) == f"{missing}: SEVIR directory (nowcast.sevir.local_dir) does not exist"
    assert not (tmp_path / "CATALOG.csv").exists()


def test_a_files_incomplete_catalog_row_is_ignored_not_checked(sevir_tree: Path, tmp_path: Path) -> None:
    """The full catalog may list an event of a needed file without its size (real SEVIR does): no step uses it."""
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    vil = catalog[catalog["img_type"] == "vil"]
    name = vil["file_name"].iloc[0]
    stray = vil.iloc[[0]].assign(id="S999999", file_index=99, size_x=np.nan)  # not in the file, no size
    catalog = pd.concat([catalog, stray], ignore_index=True)
    dest = tmp_path / "data" / name
    fetch_data_file(SourceConfig("sevir_local", SMALL, SevirConfig(local_dir=str(sevir_tree))), catalog, name, dest)
    assert dest.is_symlink()
