"""The synthetic generator at the default config: format, intermittency, heavy tail, learnable signal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from atmo.errors import ConfigError
from atmo.io.downscale import read_fields, write_fields
from atmo.synth.downscale import PREDICTORS, generate_fields

REPO = Path(__file__).resolve().parents[3]


def _default_synthetic() -> tuple[int, dict]:
    """The downscale generator settings of config/config.yaml, completed by the schema defaults."""
    block = yaml.safe_load((REPO / "config/config.yaml").read_text())["downscale"]
    schema = yaml.safe_load((REPO / "config/schema/downscale.schema.yaml").read_text())
    defaults = {key: spec["default"] for key, spec in schema["properties"]["synthetic"]["properties"].items()}
    return block.get("seed", 0), {**defaults, **block.get("synthetic", {})}


@pytest.fixture(scope="module")
def default_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    seed, settings = _default_synthetic()
    path = tmp_path_factory.mktemp("synth") / "fields.h5"
    write_fields(path, generate_fields(seed=seed, **settings))
    return path, settings


def test_file_has_the_documented_names_dtypes_shapes_and_units(default_file) -> None:
    path, cfg = default_file
    n, hr, lr = cfg["n_samples"], (cfg["height"], cfg["width"]), (cfg["height"] // 8, cfg["width"] // 8)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "atmo-downscale" and f.attrs["factor"] == cfg["factor"] == 8
        assert (f["precip_hr_mm"].shape, f["precip_hr_mm"].dtype) == ((n, *hr), np.float32)
        assert (f["precip_lr_mm"].shape, f["precip_lr_mm"].dtype) == ((n, *lr), np.float32)
        assert (f["predictors_lr"].shape, f["predictors_lr"].dtype) == ((n, len(PREDICTORS), *lr), np.float32)
        assert f["precip_hr_mm"].attrs["units"] == "mm" == f["precip_lr_mm"].attrs["units"]
        assert list(f["predictors_lr"].attrs["names"]) == ["tcwv", "u850", "v850", "cape", "omega500", "orography"]
        assert list(f["predictors_lr"].attrs["units"]) == [unit for _, unit in PREDICTORS]
        assert f["time"].dtype == np.int64 and f["time"].attrs["units"].startswith("seconds since 1970")
        assert np.all(np.diff(f["time"][()]) == 86_400)
        assert f["lat"].shape == (hr[0],) and f["lon"].shape == (hr[1],)


def test_precipitation_is_intermittent_and_heavy_tailed(default_file) -> None:
    path, cfg = default_file
    precip = read_fields(path).precip_hr_mm
    assert abs(np.mean(precip == 0) - cfg["dry_fraction"]) < 0.05
    daily_dry = np.mean(precip == 0, axis=(1, 2))
    assert daily_dry.min() < 0.3 and daily_dry.max() > 0.75, "days should differ in how much area is wet"
    assert 150.0 <= precip.max() <= 200.0, "extremes in the seed's 150-200 mm range"
    wet = precip[precip > 0]
    # An exponential tail with the same mean would put e^-10 (5e-5) of the wet cells above 10x the
    # mean; this heavy tail puts over ten times as many there.
    assert np.mean(wet > 10 * wet.mean()) > 10 * np.exp(-10)
    assert wet.mean() < np.median(wet) * 2.5 and precip.max() > 25 * wet.mean()


def test_fields_are_spatially_correlated(default_file) -> None:
    precip = read_fields(default_file[0]).precip_hr_mm
    lag1 = np.corrcoef(precip[:, :, :-1].ravel(), precip[:, :, 1:].ravel())[0, 1]
    lag8 = np.corrcoef(precip[:, :, :-8].ravel(), precip[:, :, 8:].ravel())[0, 1]
    assert lag1 > 0.6 and lag1 > lag8 > 0.05


def test_coarse_predictors_explain_the_coarse_precipitation(default_file) -> None:
    fields = read_fields(default_file[0])
    lr = fields.precip_lr_mm.ravel()
    channel = {name: fields.predictors_lr[:, i].ravel() for i, name in enumerate(fields.predictor_names)}
    assert np.corrcoef(channel["omega500"], lr)[0, 1] < -0.3  # ascent (omega < 0) makes rain
    assert np.corrcoef(channel["tcwv"], lr)[0, 1] > 0.15
    # a least-squares fit on the predictors explains a real part of the coarse rain's variance
    design = np.column_stack([np.ones_like(lr), *channel.values()])
    residual = lr - design @ np.linalg.lstsq(design, lr, rcond=None)[0]
    assert 1 - residual.var() / lr.var() > 0.25
    assert np.all(fields.predictors_lr[:, fields.predictor_names.index("cape")] >= 0)


def test_generator_is_deterministic_by_seed(tmp_path: Path) -> None:
    settings = {**_default_synthetic()[1], "n_samples": 6, "height": 16, "width": 16}
    digests = []
    for name, seed in (("a.h5", 1), ("b.h5", 1), ("c.h5", 2)):
        write_fields(tmp_path / name, generate_fields(seed=seed, **settings))
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


def test_grid_not_divisible_by_factor_is_a_config_error() -> None:
    settings = {**_default_synthetic()[1], "n_samples": 2, "height": 20}
    with pytest.raises(ConfigError, match="multiples of factor 8"):
        generate_fields(seed=0, **settings)
