"""The synthetic risk scene, read back from its GeoTIFFs (atmo.riskseg.synthetic.scene)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt, gaussian_filter
from sklearn.ensemble import HistGradientBoostingClassifier

from atmo.io.geotiff import inspect_geotiff, read_geotiff
from atmo.riskseg import LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.synthetic.latent_risk import oracle_probabilities
from atmo.riskseg.synthetic.scene import (
    BAND_NAMES,
    SyntheticSceneSettings,
    covariate_risk,
    make_scene,
    write_synthetic_scene,
)

SEED_CLASS1_FRACTION = 0.0265
# Big enough for the class-1 band between class-0 and class-2 regions to be well sampled.
SCENE = SyntheticSceneSettings(height=256, width=192, pixel_size_m=25.0, epsg=32617, nodata_blob_radius_px=25.0)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("synth")
    write_synthetic_scene(folder / "scene.tif", folder / "labels.tif", SCENE, seed=11)
    return folder / "scene.tif", folder / "labels.tif"


def test_scene_geotiff_format(written: tuple[Path, Path]) -> None:
    scene = inspect_geotiff(written[0])
    assert scene.crs.is_projected and scene.crs.to_epsg() == 32617
    assert scene.transform.a == 25.0 and scene.transform.e == -25.0 and scene.transform.b == scene.transform.d == 0
    assert (scene.count, scene.shape, scene.dtype, scene.nodata) == (
        len(BAND_NAMES),
        (256, 192),
        "float32",
        SCENE_NODATA,
    )
    assert scene.band_names == list(BAND_NAMES)


def test_label_geotiff_format_and_classes(written: tuple[Path, Path]) -> None:
    scene, labels = inspect_geotiff(written[0]), inspect_geotiff(written[1])
    assert (labels.count, labels.dtype, labels.nodata) == (1, "uint8", LABEL_NODATA)
    assert (labels.crs, labels.transform, labels.shape) == (scene.crs, scene.transform, scene.shape)
    label = read_geotiff(written[1])[0]
    assert set(np.unique(label)) == {0, 1, 2, LABEL_NODATA}
    valid = label != LABEL_NODATA
    assert np.mean(label[valid] == 1) == pytest.approx(SEED_CLASS1_FRACTION, abs=0.002)
    assert np.mean(label[valid] == 2) == pytest.approx(SCENE.class2_fraction, abs=0.005)


def test_nodata_region_is_the_same_in_both_rasters(written: tuple[Path, Path]) -> None:
    bands, label = read_geotiff(written[0]), read_geotiff(written[1])[0]
    scene_nodata = bands == SCENE_NODATA
    assert (scene_nodata == scene_nodata[0]).all(), "nodata must cover every band of a pixel"
    np.testing.assert_array_equal(scene_nodata[0], label == LABEL_NODATA)
    border = SCENE.nodata_border_px
    assert (label[:border] == LABEL_NODATA).all() and (label[:, -border:] == LABEL_NODATA).all()
    interior = label[border:-border, border:-border]
    assert 0.02 < np.mean(interior == LABEL_NODATA) < 0.5, "the masked blob lies inside the frame"
    assert np.isfinite(bands).all()


def test_classes_are_ordinal_in_the_covariates_and_cut_from_the_latent(written: tuple[Path, Path]) -> None:
    bands, label = read_geotiff(written[0]), read_geotiff(written[1])[0]
    valid = label != LABEL_NODATA
    risk = covariate_risk(bands, valid)
    means = [risk[label == c].mean() for c in (0, 1, 2)]
    assert means[0] < means[1] < means[2], means
    slope = bands[BAND_NAMES.index("slope_deg")]
    assert slope[label == 0].mean() < slope[label == 1].mean() < slope[label == 2].mean()

    generated = make_scene(SCENE, seed=11)
    np.testing.assert_array_equal(generated.label, label)
    latent = generated.risk + SCENE.hidden_weight * generated.hidden
    assert latent[label == 2].min() >= generated.high_threshold > latent[(label == 0) | (label == 1)].max()


def test_class_one_is_the_runout_zone_around_class_two(written: tuple[Path, Path]) -> None:
    """Read back from the GeoTIFF: medium pixels, and only they, lie within the runout width of high ground."""
    label = read_geotiff(written[1])[0]
    generated = make_scene(SCENE, seed=11)
    reach = distance_transform_edt(label != 2) / generated.runout
    assert reach[label == 1].max() <= generated.runout_px < reach[label == 0].min()


def test_the_runout_zone_widens_with_the_vegetation_texture() -> None:
    """Near high ground, whether a pixel is medium depends on NDVI's texture around it, a neighbourhood property."""
    scene = make_scene(SCENE, seed=5)
    distance = distance_transform_edt(scene.label != 2)
    near = scene.valid & (scene.label != 2) & (distance > 1) & (distance <= 3)
    texture = scene.runout[near]
    low, high = np.quantile(texture, [1 / 3, 2 / 3])
    medium = scene.label[near] == 1
    assert medium[texture >= high].mean() > 2 * medium[texture <= low].mean()


def test_class_one_depends_on_context_not_on_the_pixel_alone() -> None:
    """A classifier of each pixel's covariates finds class 1 worse than one that sees the neighbourhood
    (Gaussian means and gradients of the covariates), and both worse than the oracle: class-1 precision
    among the k pixels each ranks most likely medium (k = the true class-1 count), trained on the left
    half of a scene, read on the right half."""
    settings = dataclasses.replace(SCENE, height=256, width=256, nodata_blob_radius_px=0.0)
    scene = make_scene(settings, seed=1)
    valid, label = scene.valid, scene.label
    bands = scene.covariates.astype(np.float64)
    pixel = np.stack([np.where(valid, (b - b[valid].mean()) / b[valid].std(), 0.0) for b in bands])
    context = [pixel]
    for radius in (2, 4, 8):
        smoothed = np.stack([gaussian_filter(band, radius) for band in pixel])
        context += [smoothed, np.stack([np.hypot(*np.gradient(band)) for band in smoothed])]
    left, right = valid.copy(), valid.copy()
    left[:, 128:], right[:, :128] = False, False
    k = int(np.sum(label[right] == 1))

    def precision(p_medium: np.ndarray) -> float:
        return float(np.mean(label[right][np.argsort(p_medium[right])[-k:]] == 1))

    found = {}
    for name, features in (("pixel", pixel), ("context", np.concatenate(context))):
        model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(features[:, left].T, label[left])
        found[name] = precision(model.predict_proba(features.reshape(len(features), -1).T)[:, 1].reshape(label.shape))
    found["oracle"] = precision(oracle_probabilities(scene, settings, seed=1, draws=32)[1])
    assert found["pixel"] + 0.05 < found["context"] < found["oracle"], found


def test_same_seed_same_bytes_other_seed_other_scene(tmp_path: Path) -> None:
    small = dataclasses.replace(SCENE, height=64, width=64)
    digests = []
    for run, seed in enumerate((1, 1, 2)):
        scene, labels = tmp_path / f"s{run}.tif", tmp_path / f"l{run}.tif"
        write_synthetic_scene(scene, labels, small, seed=seed)
        digests.append(hashlib.sha256(scene.read_bytes() + labels.read_bytes()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


@pytest.mark.parametrize(("height", "width"), [(40, 300), (300, 40)])
def test_size_comes_from_the_settings(height: int, width: int) -> None:
    scene = make_scene(dataclasses.replace(SCENE, height=height, width=width, nodata_blob_radius_px=5.0), seed=0)
    assert scene.covariates.shape == (len(BAND_NAMES), height, width) and scene.label.shape == (height, width)


@pytest.mark.parametrize(
    "change",
    [
        {"class1_fraction": 0.0},
        {"class1_fraction": 0.5, "class2_fraction": 0.5},
        {"epsg": 4326},
        {"hidden_weight": -0.1},
        {"context_px": -1.0},
    ],
    ids=["no-class-1", "no-class-0", "geographic", "negative-noise", "negative-context"],
)
def test_impossible_settings_are_refused(change: dict) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(SCENE, **change)
