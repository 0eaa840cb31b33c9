"""The synthetic scene's oracle: exact where nothing is hidden, the analytic posterior of the high class,
and a probability raster of the scene on disk (atmo.riskseg.synthetic.latent_risk, atmo.riskseg.oracle)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from riskseg_helpers import SMALL_SCENE
from scipy.stats import norm

from atmo.errors import InputError
from atmo.io.geotiff import inspect_geotiff, read_geotiff
from atmo.riskseg import SCENE_NODATA
from atmo.riskseg.oracle import OracleSettings, write_oracle
from atmo.riskseg.synthetic.latent_risk import oracle_probabilities
from atmo.riskseg.synthetic.scene import make_scene, write_synthetic_scene


def test_without_hidden_noise_the_oracle_is_certain_and_right() -> None:
    settings = dataclasses.replace(SMALL_SCENE, hidden_weight=0.0)
    scene = make_scene(settings, seed=4)
    probabilities = oracle_probabilities(scene, settings, seed=4, draws=3)
    valid = scene.valid
    np.testing.assert_array_equal(probabilities[:, valid].argmax(axis=0), scene.label[valid])
    assert set(np.unique(probabilities[:, valid])) == {0.0, 1.0}
    assert np.isnan(probabilities[:, ~valid]).all()


def test_the_high_class_posterior_is_the_normal_tail_of_the_latent() -> None:
    """Class 2 is ``R + w h >= t_high`` with ``h ~ N(0, 1)`` at each pixel: P = Phi((R - t_high) / w)."""
    scene = make_scene(SMALL_SCENE, seed=2)
    probabilities = oracle_probabilities(scene, SMALL_SCENE, seed=2, draws=400)
    valid = scene.valid
    exact = norm.cdf((scene.risk - scene.high_threshold) / SMALL_SCENE.hidden_weight)[valid]
    error = np.abs(probabilities[2][valid] - exact)
    assert error.max() < 0.1 and error.mean() < 0.01  # Monte Carlo: standard error <= 0.025 at 400 draws
    np.testing.assert_allclose(probabilities[:, valid].sum(axis=0), 1.0, atol=1e-6)
    medium = probabilities[1][valid]
    assert 0 < medium.max() < 1 and medium.mean() == pytest.approx(np.mean(scene.label[valid] == 1), abs=0.01)


def test_write_oracle_writes_the_probabilities_of_the_scene_on_disk(tmp_path: Path) -> None:
    scene_path, labels_path = tmp_path / "scene.tif", tmp_path / "labels.tif"
    write_synthetic_scene(scene_path, labels_path, SMALL_SCENE, seed=3)
    out, record_path = tmp_path / "oracle.tif", tmp_path / "oracle.json"
    record = write_oracle(scene_path, labels_path, SMALL_SCENE, 3, OracleSettings(draws=5), out, record_path)
    info = inspect_geotiff(out)
    assert (info.count, info.dtype, info.nodata, info.band_names) == (
        3,
        "float32",
        SCENE_NODATA,
        ["p_low", "p_medium", "p_high"],
    )
    assert (info.crs, info.transform) == (inspect_geotiff(scene_path).crs, inspect_geotiff(scene_path).transform)
    expected = oracle_probabilities(make_scene(SMALL_SCENE, 3), SMALL_SCENE, seed=3, draws=5)
    written = read_geotiff(out)
    np.testing.assert_array_equal(np.where(np.isnan(expected), SCENE_NODATA, expected), written)
    assert record["draws"] == 5 and record["max_standard_error"] == pytest.approx(0.5 / np.sqrt(5))


def test_write_oracle_refuses_labels_of_another_scene(tmp_path: Path) -> None:
    scene_path, labels_path = tmp_path / "scene.tif", tmp_path / "labels.tif"
    write_synthetic_scene(scene_path, labels_path, SMALL_SCENE, seed=3)
    with pytest.raises(InputError, match="seed 4"):
        write_oracle(
            scene_path, labels_path, SMALL_SCENE, 4, OracleSettings(draws=2), tmp_path / "o.tif", tmp_path / "o.json"
        )
    assert not (tmp_path / "o.tif").exists()
