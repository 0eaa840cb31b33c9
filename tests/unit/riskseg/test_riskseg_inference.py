"""Sliding-window inference: seam-free blending, TTA, the probability GeoTIFF and seed ensembles, on tiny rasters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from riskseg_helpers import TRANSFORM, UTM
from scipy.stats import entropy as scipy_entropy
from torch import nn

from atmo.errors import ConfigError, InputError
from atmo.io.geotiff import write_geotiff
from atmo.riskseg import LABEL_NODATA, SCENE_NODATA
from atmo.riskseg import inference as inf
from atmo.settings import build_block
from atmo.train.dihedral import SYMMETRIES, transform_field, untransform_field

N_BANDS = 5
BAND_NAMES = [f"b{i}" for i in range(N_BANDS)]


def conv_model(kernel: int, seed: int = 0, bias: bool = True) -> nn.Conv2d:
    """A fixed random ``kernel x kernel`` convolution (zero padding) from 5 bands to 3 logits."""
    torch.manual_seed(seed)
    model = nn.Conv2d(N_BANDS, 3, kernel, padding=kernel // 2, bias=bias)
    with torch.no_grad():
        model.weight.mul_(3.0)  # sharper logits, so blending errors would show
    return model.eval()


def whole_raster(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """The reference: the model run once on the whole raster, ``(3, H, W)``."""
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(image)[None]), dim=1)[0].numpy()


def random_image(height: int, width: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(N_BANDS, height, width)).astype(np.float32)


# -- settings ---------------------------------------------------------------------------------------------------


def test_settings_defaults_and_checks() -> None:
    settings = inf.InferenceSettings()
    assert (settings.window, settings.overlap, settings.blend, settings.tta, settings.batch_size) == (
        64,
        16,
        "spline",
        True,
        16,
    )
    assert settings.stride == 48
    assert build_block(inf.InferenceSettings, {"window": 32, "overlap": 8}, "riskseg.inference").stride == 24
    for kwargs, key in [
        ({"overlap": 64}, "overlap"),
        ({"overlap": -1}, "overlap"),
        ({"blend": "gaussian"}, "blend"),
        ({"batch_size": 0}, "batch_size"),
        ({"window": 1, "overlap": 0}, "window"),
        ({"tta": 1}, "tta"),
    ]:
        with pytest.raises(ConfigError, match=rf"'riskseg\.inference\.{key}'"):
            inf.InferenceSettings(**kwargs)


# -- weights and window placement -------------------------------------------------------------------------------


@pytest.mark.parametrize("blend", inf.BLENDS)
@pytest.mark.parametrize("size", [8, 9, 64])
def test_window_weights_positive_peaked_and_symmetric(blend: str, size: int) -> None:
    w = inf.window_weights(size, blend)
    assert w.shape == (size, size) and w.dtype == np.float32
    assert (w > 0).all() and w.max() == pytest.approx(1.0)
    assert w[size // 2, size // 2] == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(w, w.T)
    np.testing.assert_allclose(w, w[::-1, ::-1])
    half_row = w[size // 2, : size // 2 + 1]
    assert (np.diff(half_row) >= 0).all() and half_row[0] < 0.25  # rising from the edge to the middle


def test_spline_profile_is_a_smooth_step() -> None:
    profile = inf.window_weights(64, "spline")[32]
    # Squared-parabola pieces: flat near the middle, small near the edge, 1/2 halfway.
    assert profile[0] < 1e-3 and profile[31] > 0.99
    assert profile[16] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(("length", "expected"), [(10, [0]), (32, [0]), (33, [0, 1]), (100, [0, 24, 48, 68])])
def test_window_starts_cover_the_axis_and_end_at_its_edge(length: int, expected: list[int]) -> None:
    starts = inf.window_starts(length, 32, 24)
    assert starts == expected
    covered = np.zeros(max(length, 32), bool)
    for s in starts:
        covered[s : s + 32] = True
    assert covered[:length].all()


# -- no seams ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("blend", inf.BLENDS)
@pytest.mark.parametrize("shape", [(100, 83), (20, 50), (7, 7)], ids=["larger", "thinner-than-window", "tiny"])
def test_pointwise_model_equals_whole_raster(blend: str, shape: tuple[int, int]) -> None:
    model = conv_model(1)
    image = random_image(*shape)
    settings = inf.InferenceSettings(window=32, overlap=8, blend=blend, tta=False, batch_size=3)
    probs = inf.predict_array(model, image, settings)
    assert probs.shape == (3, *shape) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, whole_raster(model, image), atol=1e-5)


def test_strips_are_block_aligned_and_cover_the_raster() -> None:
    model, image = conv_model(1), random_image(70, 40)
    settings = inf.InferenceSettings(window=16, overlap=4, tta=False, batch_size=5)

    def read(row: int, col: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        return image[:, row : row + h, col : col + w], np.ones((h, w), bool)

    strips = list(inf.iter_probability_strips(model, read, 70, 40, settings, strip_rows=16))
    tops = [top for top, _, _ in strips]
    sizes = [probs.shape[1] for _, probs, _ in strips]
    assert tops == list(np.cumsum([0, *sizes[:-1]])) and sum(sizes) == 70
    assert all(size % 16 == 0 for size in sizes[:-1])
    np.testing.assert_allclose(np.concatenate([p for _, p, _ in strips], axis=1), whole_raster(model, image), atol=1e-5)


def interior_edge_mask(height: int, width: int, window: int, stride: int, halo: int) -> np.ndarray:
    """Pixels within ``halo`` of a window edge that is not the raster's edge (where padding differs)."""
    mask = np.zeros((height, width), bool)
    for r in inf.window_starts(height, window, stride):
        for c in inf.window_starts(width, window, stride):
            block = np.zeros((window, window), bool)
            if r > 0:
                block[:halo] = True
            if r + window < height:
                block[-halo:] = True
            if c > 0:
                block[:, :halo] = True
            if c + window < width:
                block[:, -halo:] = True
            mask[r : r + window, c : c + window] |= block
    return mask


@pytest.mark.parametrize("blend", inf.BLENDS)
def test_3x3_model_equals_whole_raster_away_from_window_edges(blend: str) -> None:
    model, image = conv_model(3), random_image(90, 77)
    settings = inf.InferenceSettings(window=32, overlap=8, blend=blend, tta=False)  # overlap >= 1-px halo
    probs, reference = inf.predict_array(model, image, settings), whole_raster(model, image)
    edges = interior_edge_mask(90, 77, 32, 24, halo=1)
    error = np.abs(probs - reference).max(axis=0)
    assert error[~edges].max() < 1e-5  # the raster's own border included: both runs zero-pad there
    assert error[edges].max() > 1e-4  # the edge rows are really wrong in one window ...
    if blend == "spline":
        assert error[edges].max() < 1e-2  # ... but get a tiny weight against the overlapping window


# -- test-time augmentation -------------------------------------------------------------------------------------


def test_tta_equals_plain_for_an_equivariant_model() -> None:
    model, batch = conv_model(1), torch.from_numpy(random_image(16, 16))[None]
    with torch.no_grad():
        torch.testing.assert_close(inf.predict_batch(model, batch, True), inf.predict_batch(model, batch, False))
    settings = inf.InferenceSettings(window=16, overlap=4, tta=True)
    image = random_image(40, 30)
    np.testing.assert_allclose(
        inf.predict_array(model, image, settings), whole_raster(model, image), atol=1e-5
    )  # TTA through the sliding windows as well


def test_tta_undoes_each_transform_of_an_asymmetric_model() -> None:
    # g^-1(K * g(x)) == (g^-1 K) * x for a square-symmetric zero padding: each TTA member equals the
    # model with the correspondingly transformed kernel, which is computed here without TTA.
    model, batch = conv_model(3, bias=False), torch.from_numpy(random_image(16, 16))[None]
    members = []
    with torch.no_grad():
        for op in SYMMETRIES:
            via_tta = untransform_field(torch.softmax(model(transform_field(batch, op)), dim=1), op)
            kernel = untransform_field(model.weight, op)
            direct = torch.softmax(nn.functional.conv2d(batch, kernel, padding=1), dim=1)
            torch.testing.assert_close(via_tta, direct, atol=1e-5, rtol=1e-5)
            members.append(direct)
        tta, plain = inf.predict_batch(model, batch, True), inf.predict_batch(model, batch, False)
    torch.testing.assert_close(tta, torch.stack(members).mean(dim=0), atol=1e-5, rtol=1e-5)
    assert (tta - plain).abs().max() > 1e-2


# -- the probability GeoTIFF ------------------------------------------------------------------------------------


def write_scene(path: Path, height: int = 40, width: int = 56, names: list[str] = BAND_NAMES) -> np.ndarray:
    """A float32 scene with a nodata corner and a nodata pixel in one band; returns its raw pixels."""
    raw = (np.random.default_rng(2).normal(size=(len(names), height, width)) * 5 + 20).astype(np.float32)
    raw[:, :6, :9] = SCENE_NODATA
    raw[2, 20, 30] = SCENE_NODATA
    write_geotiff(path, raw, crs=UTM, transform=TRANSFORM, nodata=SCENE_NODATA, descriptions=names)
    return raw


MEAN, STD = np.full(N_BANDS, 20.0), np.full(N_BANDS, 5.0)


def test_probability_geotiff_matches_the_model_and_keeps_the_grid(tmp_path: Path) -> None:
    raw = write_scene(tmp_path / "scene.tif")
    model = conv_model(1)
    settings = inf.InferenceSettings(window=16, overlap=4, tta=False, batch_size=4)
    summary = inf.predict_probabilities(
        model, tmp_path / "scene.tif", MEAN, STD, tmp_path / "probs.tif", settings, band_names=BAND_NAMES
    )
    image, valid = inf.normalise(raw, MEAN, STD)
    assert valid.sum() == 40 * 56 - 54 - 1 == summary["n_valid_pixels"]
    with rasterio.open(tmp_path / "probs.tif") as src:
        probs = src.read()
        assert src.count == 3 and src.dtypes == ("float32",) * 3
        assert src.descriptions == ("p_low", "p_medium", "p_high")
        assert src.crs.to_string() == UTM and src.transform == TRANSFORM and src.nodata == SCENE_NODATA
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.overviews(1) == [2]
        assert src.tags(ns="rio_overview")["resampling"] == "average"
    assert (probs[:, ~valid] == SCENE_NODATA).all()
    np.testing.assert_allclose(probs.sum(axis=0)[valid], 1.0, atol=1e-5)
    np.testing.assert_allclose(probs[:, valid], whole_raster(model, image)[:, valid], atol=1e-5)
    assert not list(tmp_path.glob(".probs.tif*"))


def test_nodata_pixels_enter_the_model_as_zero(tmp_path: Path) -> None:
    raw = write_scene(tmp_path / "scene.tif", height=32, width=32)
    model = conv_model(3)  # neighbours of the nodata pixel see it; one window = the whole raster
    settings = inf.InferenceSettings(window=32, overlap=8, tta=True)
    inf.predict_probabilities(model, tmp_path / "scene.tif", MEAN, STD, tmp_path / "p.tif", settings)
    image = (raw.astype(np.float64) - 20.0) / 5.0
    image[:, (raw == SCENE_NODATA).any(axis=0)] = 0.0
    with rasterio.open(tmp_path / "p.tif") as src:
        probs = src.read()
    reference = inf.predict_batch(model, torch.from_numpy(image.astype(np.float32))[None], True)[0].detach().numpy()
    neighbours = np.zeros((32, 32), bool)
    neighbours[19:22, 29:32] = True
    neighbours[20, 30] = False  # the nodata pixel itself is nodata in the output
    assert (probs[:, 20, 30] == SCENE_NODATA).all()
    np.testing.assert_allclose(probs[:, neighbours], reference[:, neighbours], atol=1e-5)


class Exploding(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the model must not run")


def test_band_mismatch_is_refused_before_compute(tmp_path: Path) -> None:
    write_scene(tmp_path / "scene.tif", names=BAND_NAMES[:4])
    out = tmp_path / "p.tif"
    settings = inf.InferenceSettings(window=16, overlap=4)
    with pytest.raises(InputError, match=r"scene\.tif: has 4 bands, the model expects 5"):
        inf.predict_probabilities(Exploding(), tmp_path / "scene.tif", MEAN, STD, out, settings, band_names=BAND_NAMES)
    write_scene(tmp_path / "swapped.tif", names=[*BAND_NAMES[1:], BAND_NAMES[0]])
    with pytest.raises(InputError, match=r"swapped\.tif: bands .* differ"):
        inf.predict_probabilities(
            Exploding(), tmp_path / "swapped.tif", MEAN, STD, out, settings, band_names=BAND_NAMES
        )
    assert not out.exists()


def test_failed_inference_leaves_no_output(tmp_path: Path) -> None:
    write_scene(tmp_path / "scene.tif")
    with pytest.raises(AssertionError, match="must not run"):
        inf.predict_probabilities(
            Exploding(),
            tmp_path / "scene.tif",
            MEAN,
            STD,
            tmp_path / "p.tif",
            inf.InferenceSettings(window=16, overlap=4),
        )
    assert list(tmp_path.iterdir()) == [tmp_path / "scene.tif"]


# -- seed ensembles ---------------------------------------------------------------------------------------------


def write_member(path: Path, seed: int, transform=TRANSFORM) -> np.ndarray:
    probs = np.random.default_rng(seed).dirichlet([1.0, 0.5, 1.0], size=(30, 20)).transpose(2, 0, 1)
    probs = probs.astype(np.float32)
    probs[:, seed, :] = SCENE_NODATA  # each member misses a different row
    write_geotiff(path, probs, crs=UTM, transform=transform, nodata=SCENE_NODATA, descriptions=inf.PROB_DESCRIPTIONS)
    return probs


def test_ensemble_mean_entropy_and_classes(tmp_path: Path) -> None:
    members = [write_member(tmp_path / f"seed{s}.tif", s) for s in range(3)]
    outs = tmp_path / "mean.tif", tmp_path / "entropy.tif", tmp_path / "classes.tif"
    summary = inf.ensemble_probabilities([tmp_path / f"seed{s}.tif" for s in range(3)], *outs, strip_rows=8)
    valid = np.ones((30, 20), bool)
    valid[:3] = False
    mean = np.mean(members, axis=0, dtype=np.float64)
    with rasterio.open(outs[0]) as a, rasterio.open(outs[1]) as b, rasterio.open(outs[2]) as c:
        probs, entropy, classes = a.read(), b.read(1), c.read(1)
        for src in (a, b, c):
            assert src.crs.to_string() == UTM and src.transform == TRANSFORM and src.overviews(1) == [2]
        assert a.descriptions == inf.PROB_DESCRIPTIONS and b.tags()["units"] == "nats"
        assert c.dtypes == ("uint8",) and c.nodata == LABEL_NODATA and b.nodata == SCENE_NODATA
    np.testing.assert_allclose(probs[:, valid], mean[:, valid], atol=1e-6)
    np.testing.assert_allclose(entropy[valid], scipy_entropy(mean[:, valid], axis=0), atol=1e-5)
    assert entropy[valid].max() <= np.log(3) + 1e-6
    np.testing.assert_array_equal(classes[valid], mean[:, valid].argmax(axis=0))
    assert (probs[:, ~valid] == SCENE_NODATA).all() and (entropy[~valid] == SCENE_NODATA).all()
    assert (classes[~valid] == LABEL_NODATA).all()
    assert summary["n_members"] == 3 and summary["n_valid_pixels"] == valid.sum()
    assert summary["mean_entropy_nats"] == pytest.approx(scipy_entropy(mean[:, valid], axis=0).mean(), abs=1e-5)


def test_predictive_entropy_limits() -> None:
    certain = np.array([1.0, 0.0, 0.0])[:, None, None]
    uniform = np.full((3, 1, 1), 1 / 3)
    assert inf.predictive_entropy(certain)[0, 0] == 0.0
    assert inf.predictive_entropy(uniform)[0, 0] == pytest.approx(np.log(3))


def test_ensemble_refuses_other_grids_and_band_counts(tmp_path: Path) -> None:
    write_member(tmp_path / "a.tif", 0)
    write_member(tmp_path / "shifted.tif", 1, transform=Affine(30.0, 0.0, 400_030.0, 0.0, -30.0, 4_500_000.0))
    outs = tmp_path / "m.tif", tmp_path / "e.tif", tmp_path / "c.tif"
    with pytest.raises(InputError, match=r"shifted\.tif: transform"):
        inf.ensemble_probabilities([tmp_path / "a.tif", tmp_path / "shifted.tif"], *outs)
    write_geotiff(tmp_path / "one.tif", np.zeros((30, 20), np.float32), crs=UTM, transform=TRANSFORM, nodata=None)
    with pytest.raises(InputError, match=r"one\.tif: has 1 bands, expected 3"):
        inf.ensemble_probabilities([tmp_path / "a.tif", tmp_path / "one.tif"], *outs)
    assert not any(path.exists() for path in outs)


def test_write_geotiff_builds_overviews(tmp_path: Path) -> None:
    data = np.arange(600 * 300, dtype=np.float32).reshape(600, 300)
    write_geotiff(tmp_path / "o.tif", data, crs=UTM, transform=TRANSFORM, nodata=None, overviews="average")
    write_geotiff(tmp_path / "plain.tif", data, crs=UTM, transform=TRANSFORM, nodata=None)
    with rasterio.open(tmp_path / "o.tif") as src, rasterio.open(tmp_path / "plain.tif") as plain:
        assert src.overviews(1) == [2, 4] and plain.overviews(1) == []
        np.testing.assert_array_equal(src.read(1), data)
