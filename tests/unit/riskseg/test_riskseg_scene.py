"""Validation of real scene/label pairs, their import into the standard form, and the url source."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import yaml
from local_http import serve_directory
from rasterio.transform import from_origin
from riskseg_helpers import TRANSFORM, write_raster

from atmo.errors import InputError
from atmo.io.geotiff import inspect_geotiff, read_geotiff, write_geotiff
from atmo.riskseg import LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.scene import check_scene_pair, fetch_scene, import_scene

SHAPE = (24, 32)


def _survey_pair(folder: Path, *, label: np.ndarray | None = None, **label_grid) -> tuple[Path, Path]:
    """A 'survey' pair as a user might have it: NaN scene nodata, label nodata 9, no band names."""
    rng = np.random.default_rng(0)
    bands = rng.normal(size=(3, *SHAPE)).astype(np.float32)
    bands[:, :2] = np.nan
    bands[1, 5, 5] = np.nan
    if label is None:
        label = rng.integers(0, 3, size=SHAPE).astype(np.uint8)
        label[-3:] = 9
    scene = write_raster(folder / "survey.tif", bands, nodata=np.nan)
    labels = write_raster(folder / "survey_labels.tif", label, nodata=label_grid.pop("nodata", 9), **label_grid)
    return scene, labels


def test_a_valid_pair_passes_and_is_imported_in_the_standard_form(tmp_path: Path) -> None:
    scene, labels = _survey_pair(tmp_path)
    check_scene_pair(scene, labels)
    out_scene, out_labels = tmp_path / "out/scene.tif", tmp_path / "out/labels.tif"
    import_scene(scene, labels, out_scene, out_labels)

    info, label_info = inspect_geotiff(out_scene), inspect_geotiff(out_labels)
    assert (info.dtype, info.nodata, info.band_names) == ("float32", SCENE_NODATA, ["band_1", "band_2", "band_3"])
    assert (label_info.dtype, label_info.nodata) == ("uint8", LABEL_NODATA)
    assert info.transform == label_info.transform == TRANSFORM
    bands, label = read_geotiff(out_scene), read_geotiff(out_labels)[0]
    invalid = label == LABEL_NODATA
    expected_invalid = np.zeros(SHAPE, bool)
    expected_invalid[:2] = expected_invalid[-3:] = expected_invalid[5, 5] = True
    np.testing.assert_array_equal(invalid, expected_invalid)
    assert (bands[:, invalid] == SCENE_NODATA).all() and np.isfinite(bands).all()
    np.testing.assert_array_equal(label[~invalid], read_geotiff(labels)[0][~invalid])


def _label_values(folder: Path) -> tuple[Path, Path]:
    label = np.zeros(SHAPE, np.uint8)
    label[3, 4] = 3
    return _survey_pair(folder, label=label)


def _float_labels(folder: Path) -> tuple[Path, Path]:
    return _survey_pair(folder, label=np.zeros(SHAPE, np.float32))


def _two_band_labels(folder: Path) -> tuple[Path, Path]:
    return _survey_pair(folder, label=np.zeros((2, *SHAPE), np.uint8))


def _geographic_scene(folder: Path) -> tuple[Path, Path]:
    scene, labels = _survey_pair(folder)
    write_geotiff(scene, read_geotiff(scene), crs="EPSG:4326", transform=from_origin(10, 50, 1e-3, 1e-3), nodata=None)
    return scene, labels


def _scene_without_crs(folder: Path) -> tuple[Path, Path]:
    scene, labels = _survey_pair(folder)
    write_raster(scene, read_geotiff(scene), crs=None)
    return scene, labels


def _missing_labels(folder: Path) -> tuple[Path, Path]:
    scene, labels = _survey_pair(folder)
    labels.unlink()
    return scene, labels


def _labels_not_geotiff(folder: Path) -> tuple[Path, Path]:
    scene, labels = _survey_pair(folder)
    labels.write_text("x,y,class\n1,2,0\n")
    return scene, labels


def _nothing_labelled(folder: Path) -> tuple[Path, Path]:
    return _survey_pair(folder, label=np.full(SHAPE, 9, np.uint8))


@pytest.mark.parametrize(
    ("make", "bad", "problem"),
    [
        (partial(_survey_pair, label=np.zeros((24, 31), np.uint8)), "labels", r"shape \(24, 31\) differs"),
        (partial(_survey_pair, transform=from_origin(400_000.0, 4_500_030.0, 30.0, 30.0)), "labels", "transform"),
        (partial(_survey_pair, crs="EPSG:32634"), "labels", "CRS EPSG:32634 differs"),
        (_label_values, "labels", r"label values \{3\} outside the classes \{0, 1, 2\} and nodata 9"),
        (_float_labels, "labels", "dtype float32, expected an integer type"),
        (_two_band_labels, "labels", "has 2 bands, expected 1"),
        (_nothing_labelled, "labels", "no labelled pixel"),
        (_geographic_scene, "scene", "EPSG:4326 is geographic"),
        (_scene_without_crs, "scene", "has no CRS"),
        (_missing_labels, "labels", "file does not exist"),
        (_labels_not_geotiff, "labels", "not a readable GeoTIFF"),
    ],
    ids=[
        "shape",
        "transform",
        "crs",
        "values",
        "float-labels",
        "two-bands",
        "all-nodata",
        "geographic",
        "no-crs",
        "missing",
        "not-geotiff",
    ],
)
def test_bad_pairs_fail_before_any_output_naming_the_file(tmp_path: Path, make, bad: str, problem: str) -> None:
    scene, labels = make(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=problem) as caught:
        import_scene(scene, labels, out / "scene.tif", out / "labels.tif")
    assert caught.value.path == str({"scene": scene, "labels": labels}[bad])
    assert "\n" not in str(caught.value)
    assert not out.exists()


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1, and its base URL."""
    with serve_directory(tmp_path / "served") as url:
        yield tmp_path / "served", url


def test_fetch_downloads_and_verifies_the_manifest_rasters(http_folder: tuple[Path, str], tmp_path: Path) -> None:
    served, base = http_folder
    scene, labels = _survey_pair(served)
    entries = [
        {"url": f"{base}/{source.name}", "path": name, "size": source.stat().st_size,
         "sha256": hashlib.sha256(source.read_bytes()).hexdigest()}
        for source, name in ((scene, "scene.tif"), (labels, "labels.tif"))
    ]  # fmt: skip
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump([{"url": f"{base}/other.nc", "path": "other.nc"}, *entries]))
    fetched = fetch_scene(manifest, tmp_path / "download")
    assert fetched == [tmp_path / "download/scene.tif", tmp_path / "download/labels.tif"]
    assert fetched[0].read_bytes() == scene.read_bytes() and fetched[1].read_bytes() == labels.read_bytes()
    check_scene_pair(*fetched)


def test_fetch_refuses_a_manifest_without_the_label_raster(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump([{"url": "http://127.0.0.1:9/scene.tif", "path": "scene.tif"}]))
    with pytest.raises(InputError, match=r"no entry with path \['labels.tif'\]") as caught:
        fetch_scene(manifest, tmp_path / "download")
    assert caught.value.path == str(manifest)
    assert not (tmp_path / "download").exists()


def test_fetch_refuses_a_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="manifest does not exist"):
        fetch_scene(tmp_path / "nothing.yaml", tmp_path / "download")
