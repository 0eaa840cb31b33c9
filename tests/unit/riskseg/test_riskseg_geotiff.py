"""GeoTIFF header checks, grid comparison and atomic writes (atmo.io.geotiff)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from riskseg_helpers import TRANSFORM, UTM, write_raster

from atmo.errors import InputError
from atmo.io.geotiff import GeoTiffWindows, check_same_grid, inspect_geotiff, read_geotiff, write_geotiff


def test_write_then_inspect_and_read_round_trip(tmp_path: Path) -> None:
    data = np.arange(2 * 20 * 30, dtype=np.float32).reshape(2, 20, 30)
    path = write_geotiff(
        tmp_path / "a.tif",
        data,
        crs=UTM,
        transform=TRANSFORM,
        nodata=-1.0,
        descriptions=["x_m", "y_m"],
        tags={"k": "v"},
    )
    info = inspect_geotiff(path, require_projected=True)
    assert (info.count, info.shape, info.dtype, info.nodata) == (2, (20, 30), "float32", -1.0)
    assert info.crs.to_epsg() == 32633 and info.transform == TRANSFORM
    assert info.band_names == ["x_m", "y_m"]
    np.testing.assert_array_equal(read_geotiff(path), data)
    np.testing.assert_array_equal(read_geotiff(path, window=(5, 7, 4, 3)), data[:, 5:9, 7:10])
    with GeoTiffWindows(path) as windows:
        np.testing.assert_array_equal(windows.read(1, 2, 3, 4), data[:, 1:4, 2:6])


def test_unnamed_bands_get_numbered_names(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "a.tif", np.zeros((3, 8, 8), np.uint8))
    assert inspect_geotiff(path).band_names == ["band_1", "band_2", "band_3"]


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.tif"
    with pytest.raises(ValueError, match="band descriptions"):
        write_geotiff(
            target, np.zeros((2, 8, 8), np.float32), crs=UTM, transform=TRANSFORM, nodata=0, descriptions=["a"]
        )
    with pytest.raises(TypeError):  # rasterio refuses a dtype GeoTIFF cannot hold, mid-write
        write_geotiff(target, np.zeros((8, 8), dtype=object), crs=UTM, transform=TRANSFORM, nodata=None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_bytes(b""), p)[1], "file is empty"),
        (lambda p: (p.write_text("elevation,slope\n1,2\n"), p)[1], "not a readable GeoTIFF"),
        (lambda p: _write_png(p), "is a PNG raster"),
        (lambda p: write_raster(p, np.zeros((8, 8), np.uint8), crs=None), "has no CRS"),
    ],
    ids=["missing", "directory", "empty", "text", "png", "no-crs"],
)
def test_bad_files_raise_one_line_input_error_naming_the_file(tmp_path: Path, make, problem: str) -> None:
    path = make(tmp_path / "scene.tif")
    with pytest.raises(InputError, match=problem) as caught:
        inspect_geotiff(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def _write_png(path: Path) -> Path:
    with rasterio.open(path, "w", driver="PNG", width=8, height=8, count=1, dtype="uint8") as dst:
        dst.write(np.zeros((1, 8, 8), np.uint8))
    return path


def test_geographic_crs_is_refused_only_when_a_projected_one_is_required(tmp_path: Path) -> None:
    path = write_raster(
        tmp_path / "geo.tif", np.zeros((8, 8), np.uint8), crs="EPSG:4326", transform=from_origin(10, 50, 0.01, 0.01)
    )
    assert inspect_geotiff(path).crs.is_geographic
    with pytest.raises(InputError, match=r"EPSG:4326 is geographic"):
        inspect_geotiff(path, require_projected=True)


@pytest.mark.parametrize(
    ("grid", "problem"),
    [
        ({"shape": (8, 9)}, r"shape \(8, 9\) differs"),
        ({"crs": "EPSG:32632"}, "CRS EPSG:32632 differs"),
        ({"transform": from_origin(400_030.0, 4_500_000.0, 30.0, 30.0)}, "transform .* differs"),
        ({"transform": from_origin(400_000.0, 4_500_000.0, 20.0, 20.0)}, "transform .* differs"),
    ],
    ids=["shape", "crs", "shifted", "resolution"],
)
def test_check_same_grid_names_the_misaligned_raster(tmp_path: Path, grid: dict, problem: str) -> None:
    reference = inspect_geotiff(write_raster(tmp_path / "ref.tif", np.zeros((8, 8), np.uint8)))
    other_path = write_raster(
        tmp_path / "other.tif",
        np.zeros(grid.get("shape", (8, 8)), np.uint8),
        crs=grid.get("crs", UTM),
        transform=grid.get("transform", TRANSFORM),
    )
    with pytest.raises(InputError, match=problem) as caught:
        check_same_grid(reference, inspect_geotiff(other_path))
    assert caught.value.path == str(other_path)


def test_check_same_grid_accepts_an_identical_grid(tmp_path: Path) -> None:
    first = inspect_geotiff(write_raster(tmp_path / "a.tif", np.zeros((8, 8), np.uint8)))
    second = inspect_geotiff(write_raster(tmp_path / "b.tif", np.ones((2, 8, 8), np.float32)))
    check_same_grid(first, second)
