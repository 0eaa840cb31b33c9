"""Dense-CRF refinement of class probabilities, on arrays and tile by tile on GeoTIFFs (atmo.riskseg.crf)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from riskseg_helpers import TRANSFORM, UTM, write_raster

from atmo.errors import ConfigError, InputError
from atmo.io.geotiff import GeoTiffWindows, read_geotiff
from atmo.riskseg import LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.crf import (
    CrfSettings,
    crf_tile,
    dense_crf_tiled,
    label_compatibility,
    refine_raster,
    standardise_bands,
    tile_windows,
    valid_pixels,
)
from atmo.riskseg.decision import Decision, decide
from atmo.settings import build_block

# The V2.5 weights with the bilateral width scaled down to these 128-px scenes of 16-px blocks
# (30 px would span several blocks and blur them together).
SETTINGS = CrfSettings(bilateral_sxy=8.0)
# Physical band units for the GeoTIFF tests: standardised bands are multiplied back out with these.
MEAN = np.array([600.0, 12.0, 0.25, 0.55, 900.0])
STD = np.array([250.0, 6.0, 0.05, 0.12, 150.0])


def blocky_case(
    size: int = 128, n_bands: int = 5, seed: int = 0, flip_fraction: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Truth, probabilities, standardised bands and valid mask of a scene of 16-px class blocks.

    The probabilities are salt-and-pepper noise on the truth: a ``flip_fraction`` of pixels
    confidently (0.7) claims a wrong class. Every band rises with the class (at its own rate) plus
    unit noise, so the bands carry the block edges but do not give the class away pixel by pixel.
    """
    rng = np.random.default_rng(seed)
    truth = np.kron(rng.integers(0, 3, size=(size // 16, size // 16)), np.ones((16, 16), dtype=np.int64))
    rates = rng.uniform(0.5, 1.5, size=(n_bands, 1, 1))
    bands = truth[np.newaxis] * rates + rng.standard_normal((n_bands, size, size))
    bands = (bands - bands.mean(axis=(1, 2), keepdims=True)) / bands.std(axis=(1, 2), keepdims=True)
    claimed = truth.copy()
    flip = rng.random((size, size)) < flip_fraction
    claimed[flip] = (truth[flip] + rng.integers(1, 3, size=flip.sum())) % 3
    probs = np.full((3, size, size), 0.15, dtype=np.float32)
    np.put_along_axis(probs, claimed[np.newaxis], 0.7, axis=0)
    return truth.astype(np.uint8), probs, bands.astype(np.float32), np.ones((size, size), dtype=bool)


def accuracy(classes: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(classes == truth))


# -- settings ------------------------------------------------------------------------------------------------


def test_settings_default_to_v25_and_accept_v2() -> None:
    assert CrfSettings() == CrfSettings(iterations=8, spatial_weight=5.0, compat_spatial=5.0, compat_bilateral=15.0)
    v2 = build_block(
        CrfSettings,
        {"iterations": 5, "spatial_weight": 3, "compat_spatial": 3, "compat_bilateral": 10},
        "riskseg.crf.v2",
    )
    assert v2 == CrfSettings(iterations=5, spatial_weight=3.0, compat_spatial=3.0, compat_bilateral=10.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("iterations", 0),
        ("spatial_weight", 0.0),
        ("compat_spatial", -1.0),
        ("compat_bilateral", -0.5),
        ("bilateral_sxy", 0.0),
        ("bilateral_schan", -1.0),
        ("tile_size", 8),
        ("halo", -1),
        ("halo", 600),  # more than half the default 1024-px core
        ("compat", "linear"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_key(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=rf"'riskseg\.crf\.<name>\.{key}'"):
        CrfSettings(**{key: value})
    with pytest.raises(ConfigError, match=rf"'riskseg\.crf\.v25\.{key}'"):
        build_block(CrfSettings, {key: value}, "riskseg.crf.v25")


# -- label compatibility ------------------------------------------------------------------------------------


def test_ordinal_compatibility_charges_a_path_through_medium_what_the_jump_costs() -> None:
    cost = label_compatibility("ordinal", 5.0)
    assert cost.shape == (3, 3) and cost.dtype == np.float32
    np.testing.assert_array_equal(cost, cost.T)
    np.testing.assert_array_equal(np.diag(cost), 0.0)
    assert cost[0, 1] == cost[1, 2] == 5.0 and cost[0, 2] == cost[0, 1] + cost[1, 2]
    assert label_compatibility("potts", 5.0) == 5.0
    assert CrfSettings().compat == "potts"  # the write-up's CRF stays the default of an entry


def one_pixel_band() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities of a low left half, a high right half and between them one column leaning medium."""
    height, width, band = 24, 25, 12
    probs = np.empty((3, height, width), dtype=np.float32)
    probs[:, :, :band] = np.array([0.8, 0.15, 0.05])[:, None, None]
    probs[:, :, band] = np.array([0.3, 0.4, 0.3])[:, None]
    probs[:, :, band + 1 :] = np.array([0.05, 0.15, 0.8])[:, None, None]
    return probs, np.zeros((5, height, width), dtype=np.float32), np.ones((height, width), dtype=bool)


@pytest.mark.parametrize(
    "weights",
    [{}, {"iterations": 5, "spatial_weight": 3.0, "compat_spatial": 3.0, "compat_bilateral": 10.0}],
    ids=["v25", "v2"],
)
def test_the_ordinal_crf_keeps_a_one_pixel_medium_band_that_potts_removes(weights: dict) -> None:
    probs, bands, valid = one_pixel_band()
    unary = probs.argmax(axis=0)
    assert (unary[:, 12] == 1).all()
    potts = crf_tile(probs, bands, valid, CrfSettings(bilateral_sxy=8.0, compat="potts", **weights))
    ordinal = crf_tile(probs, bands, valid, CrfSettings(bilateral_sxy=8.0, compat="ordinal", **weights))
    assert not (potts == 1).any()  # Potts erases the band
    np.testing.assert_array_equal(ordinal, unary)  # ordinal keeps it, and the halves as they were


# -- tiles ---------------------------------------------------------------------------------------------------


def test_tile_cores_cover_the_raster_once_and_windows_add_a_clipped_halo() -> None:
    height, width, tile, halo = 100, 70, 32, 8
    cover = np.zeros((height, width), dtype=int)
    windows = list(tile_windows(height, width, tile, halo))
    for window in windows:
        row, col, h, w = window.core
        cover[row : row + h, col : col + w] += 1
        top, left, pad_h, pad_w = window.padded
        assert (top, left) == (max(0, row - halo), max(0, col - halo))
        assert (top + pad_h, left + pad_w) == (min(height, row + h + halo), min(width, col + w + halo))
        rows, cols = window.core_in_padded
        assert (rows.stop - rows.start, cols.stop - cols.start) == (h, w)
    assert (cover == 1).all()
    assert len(windows) == 4 * 3


# -- the CRF on arrays ---------------------------------------------------------------------------------------


def test_crf_removes_salt_and_pepper_noise() -> None:
    truth, probs, bands, valid = blocky_case()
    classes = crf_tile(probs, bands, valid, SETTINGS)
    assert classes.dtype == np.uint8
    assert accuracy(probs.argmax(axis=0), truth) == pytest.approx(0.7, abs=0.01)
    assert accuracy(classes, truth) > 0.93


def test_more_iterations_refine_further_and_the_v2_weights_work_too() -> None:
    truth, probs, bands, valid = blocky_case()
    one = accuracy(crf_tile(probs, bands, valid, CrfSettings(bilateral_sxy=8.0, iterations=1)), truth)
    eight = accuracy(crf_tile(probs, bands, valid, SETTINGS), truth)
    v2 = CrfSettings(iterations=5, spatial_weight=3.0, compat_spatial=3.0, compat_bilateral=10.0, bilateral_sxy=8.0)
    assert accuracy(probs.argmax(axis=0), truth) < one <= eight
    assert accuracy(crf_tile(probs, bands, valid, v2), truth) > 0.93


@pytest.mark.parametrize("iterations", [1, 8])
def test_zero_compat_gives_the_argmax(iterations: int) -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet([1.0, 1.0, 1.0], size=(40, 50)).transpose(2, 0, 1).astype(np.float32)
    bands = rng.standard_normal((5, 40, 50)).astype(np.float32)
    settings = CrfSettings(iterations=iterations, compat_spatial=0.0, compat_bilateral=0.0)
    classes = crf_tile(probs, bands, np.ones((40, 50), dtype=bool), settings)
    np.testing.assert_array_equal(classes, probs.argmax(axis=0))


@pytest.mark.parametrize("decision", [Decision("median"), Decision("thresholds", (0.3, 0.2))], ids=str)
def test_zero_compat_gives_the_fitted_decision(decision: Decision) -> None:
    rng = np.random.default_rng(2)
    probs = rng.dirichlet([1.0, 1.0, 1.0], size=(40, 50)).transpose(2, 0, 1).astype(np.float32)
    bands = rng.standard_normal((5, 40, 50)).astype(np.float32)
    settings = CrfSettings(iterations=3, compat_spatial=0.0, compat_bilateral=0.0)
    classes = crf_tile(probs, bands, np.ones((40, 50), dtype=bool), settings, decision)
    np.testing.assert_array_equal(classes, decide(probs, decision))
    assert (classes != decide(probs, "argmax")).mean() > 0.1  # the rules do differ here


def test_without_the_bilateral_term_the_bands_do_not_matter() -> None:
    _, probs, bands, valid = blocky_case()
    settings = CrfSettings(compat_bilateral=0.0)
    shuffled = np.random.default_rng(2).permuted(bands, axis=2)
    np.testing.assert_array_equal(crf_tile(probs, bands, valid, settings), crf_tile(probs, shuffled, valid, settings))


@pytest.mark.parametrize("n_bands", [1, 3, 5, 8])
def test_any_number_of_bands_feeds_the_bilateral_term(n_bands: int) -> None:
    truth, probs, bands, valid = blocky_case(n_bands=n_bands)
    classes = crf_tile(probs, bands, valid, SETTINGS)
    assert classes.shape == truth.shape
    assert accuracy(classes, truth) > accuracy(probs.argmax(axis=0), truth) + 0.05


def test_bands_beyond_the_third_reach_the_bilateral_kernel() -> None:
    truth, probs, bands, valid = blocky_case(n_bands=5)
    flat = np.zeros_like(bands)
    fifth_only = flat.copy()
    fifth_only[4] = bands[4]
    without = accuracy(crf_tile(probs, flat, valid, SETTINGS), truth)
    with_fifth = accuracy(crf_tile(probs, fifth_only, valid, SETTINGS), truth)
    assert with_fifth > without + 0.03
    assert accuracy(crf_tile(probs, bands, valid, SETTINGS), truth) > with_fifth + 0.1


def test_nodata_stays_nodata_and_its_band_values_are_ignored() -> None:
    truth, probs, bands, valid = blocky_case()
    rows, cols = np.ogrid[:128, :128]
    valid = ~(((rows - 60) ** 2 + (cols - 70) ** 2 <= 15**2) | (rows < 4))
    probs[:, ~valid] = SCENE_NODATA
    classes = crf_tile(probs, bands, valid, SETTINGS)
    np.testing.assert_array_equal(classes == LABEL_NODATA, ~valid)
    assert accuracy(classes[valid], truth[valid]) > 0.93
    wild = bands.copy()
    wild[:, ~valid] = 1e6
    np.testing.assert_array_equal(crf_tile(probs, wild, valid, SETTINGS), classes)
    empty = np.zeros_like(valid)
    assert (crf_tile(probs, bands, empty, SETTINGS) == LABEL_NODATA).all()


def test_tiled_crf_matches_one_call_when_the_halo_spans_the_kernels() -> None:
    truth, probs, bands, valid = blocky_case()
    whole = crf_tile(probs, bands, valid, SETTINGS)
    tiled = dense_crf_tiled(probs, bands, valid, CrfSettings(bilateral_sxy=8.0, tile_size=48, halo=24))
    no_halo = dense_crf_tiled(probs, bands, valid, CrfSettings(bilateral_sxy=8.0, tile_size=48, halo=0))
    assert np.mean(tiled == whole) >= 0.99
    assert np.mean(no_halo == whole) < np.mean(tiled == whole)
    assert accuracy(tiled, truth) > 0.93


def test_one_tile_is_exactly_one_call() -> None:
    _, probs, bands, valid = blocky_case()
    whole = crf_tile(probs, bands, valid, SETTINGS)
    np.testing.assert_array_equal(dense_crf_tiled(probs, bands, valid, SETTINGS), whole)


def test_mismatched_shapes_are_refused() -> None:
    _, probs, bands, valid = blocky_case()
    with pytest.raises(ValueError, match="one size"):
        crf_tile(probs[:2], bands, valid, SETTINGS)
    with pytest.raises(ValueError, match="one size"):
        crf_tile(probs, bands[:, :64], valid, SETTINGS)


def test_standardise_bands_uses_the_given_moments_and_zeroes_nodata() -> None:
    bands = np.array([[[10.0, 20.0]], [[1.0, SCENE_NODATA]]], dtype=np.float32)
    valid = np.array([[True, False]])
    out = standardise_bands(bands, valid, mean=[10.0, 0.0], std=[5.0, 2.0])
    np.testing.assert_array_equal(out, np.array([[[0.0, 0.0]], [[0.5, 0.0]]], dtype=np.float32))
    with pytest.raises(ValueError, match="stds"):
        standardise_bands(bands, valid, mean=[0.0, 0.0], std=[1.0, 0.0])
    with pytest.raises(ValueError, match="2 band means"):
        standardise_bands(bands, valid, mean=[0.0], std=[1.0])


# -- the CRF on GeoTIFFs -------------------------------------------------------------------------------------

RASTER_SETTINGS = CrfSettings(bilateral_sxy=8.0, tile_size=64, halo=16)


@pytest.fixture
def rasters(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """A 5-band scene and its probability raster of 160 x 144 px (3 x 3 tiles), and the truth.

    Nodata: a 3-px scene border (nodata in both rasters) and one pixel where only the
    probabilities are missing.
    """
    truth, probs, bands, _ = blocky_case(size=160)
    truth, probs, bands = truth[:, :144], probs[:, :, :144], bands[:, :, :144]
    scene = (bands * STD[:, None, None] + MEAN[:, None, None]).astype(np.float32)
    border = np.ones(truth.shape, dtype=bool)
    border[3:-3, 3:-3] = False
    scene[:, border] = SCENE_NODATA
    probs[:, border] = SCENE_NODATA
    probs[:, 80, 90] = SCENE_NODATA
    write_raster(tmp_path / "scene.tif", scene, nodata=SCENE_NODATA)
    write_raster(tmp_path / "probs.tif", probs, nodata=SCENE_NODATA)
    return tmp_path / "scene.tif", tmp_path / "probs.tif", truth


def test_refine_raster_writes_georeferenced_classes_with_overviews(rasters, tmp_path: Path) -> None:
    scene_path, probs_path, truth = rasters
    out = refine_raster(probs_path, scene_path, MEAN, STD, tmp_path / "out/classes.tif", RASTER_SETTINGS)
    with rasterio.open(out) as src:
        assert (src.count, src.dtypes[0], src.nodata) == (1, "uint8", LABEL_NODATA)
        assert src.crs.to_string() == UTM
        assert src.transform.almost_equals(TRANSFORM)
        assert src.overviews(1) == [2]
        classes = src.read(1)
    bands, probs = read_geotiff(scene_path), read_geotiff(probs_path)
    valid = valid_pixels(probs, bands, SCENE_NODATA)
    assert not valid[80, 90] and valid.sum() == (160 - 6) * (144 - 6) - 1
    np.testing.assert_array_equal(classes == LABEL_NODATA, ~valid)
    expected = dense_crf_tiled(probs, standardise_bands(bands, valid, MEAN, STD), valid, RASTER_SETTINGS)
    np.testing.assert_array_equal(classes, expected)
    assert accuracy(classes[valid], truth[valid]) > 0.93
    assert not list(tmp_path.glob("out/.classes.tif.*"))  # no temporary left behind


def test_refine_raster_reads_one_padded_window_at_a_time(rasters, tmp_path: Path, monkeypatch) -> None:
    scene_path, probs_path, _ = rasters
    reads: list[tuple[int, int]] = []
    read = GeoTiffWindows.read

    def spy(self: GeoTiffWindows, row: int, col: int, height: int, width: int) -> np.ndarray:
        reads.append((height, width))
        return read(self, row, col, height, width)

    monkeypatch.setattr(GeoTiffWindows, "read", spy)
    refine_raster(probs_path, scene_path, MEAN, STD, tmp_path / "classes.tif", RASTER_SETTINGS)
    most = RASTER_SETTINGS.tile_size + 2 * RASTER_SETTINGS.halo
    assert len(reads) == 2 * 9  # scene and probabilities, once per tile
    assert max(max(shape) for shape in reads) <= most < 144


def test_refine_raster_refuses_inputs_that_do_not_fit(rasters, tmp_path: Path) -> None:
    scene_path, probs_path, _ = rasters
    two_bands = write_raster(tmp_path / "two.tif", read_geotiff(probs_path)[:2], nodata=SCENE_NODATA)
    with pytest.raises(InputError, match="2 band"):
        refine_raster(two_bands, scene_path, MEAN, STD, tmp_path / "a.tif", RASTER_SETTINGS)
    smaller = write_raster(tmp_path / "small.tif", read_geotiff(probs_path)[:, :100], nodata=SCENE_NODATA)
    with pytest.raises(InputError, match="shape"):
        refine_raster(smaller, scene_path, MEAN, STD, tmp_path / "b.tif", RASTER_SETTINGS)
    with pytest.raises(ValueError, match="5 band means"):
        refine_raster(probs_path, scene_path, MEAN[:4], STD[:4], tmp_path / "c.tif", RASTER_SETTINGS)
    assert not (tmp_path / "a.tif").exists() and not (tmp_path / "c.tif").exists()
