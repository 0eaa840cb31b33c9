"""The synthetic generator at the default config: format, intermittency, spectrum, heavy tail, learnable signal,
persistence; and its oracle ensemble."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from pysteps.utils.spectral import rapsd as pysteps_rapsd

from atmo.downscale.coarsen import coarsen
from atmo.downscale.field_files import read_fields, read_split, write_fields
from atmo.downscale.oracle import write_oracle
from atmo.downscale.sample_files import read_header
from atmo.downscale.split import time_split
from atmo.downscale.synthetic.fields import PREDICTORS, SyntheticDownscaleSettings, generate_fields, oracle_members
from atmo.errors import ConfigError, InputError
from atmo.metrics.ensemble import pooled_crps
from atmo.metrics.spectra import rapsd, spectral_slope

REPO = Path(__file__).resolve().parents[3]


def _default_synthetic() -> tuple[int, dict]:
    """The downscale generator settings of config/config.yaml, completed by the schema defaults."""
    block = yaml.safe_load((REPO / "config/config.yaml").read_text())["downscale"]
    return block.get("seed", 0), dataclasses.asdict(SyntheticDownscaleSettings(**block.get("synthetic", {})))


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
    assert 150.0 <= precip.max() <= 200.0, "extremes in the write-up's 150-200 mm range"
    wet = precip[precip > 0]
    # An exponential tail with the same mean would put e^-10 (5e-5) of the wet cells above 10x the
    # mean; this heavy tail puts over ten times as many there.
    assert np.mean(wet > 10 * wet.mean()) > 10 * np.exp(-10)
    assert wet.mean() < np.median(wet) * 2.5 and precip.max() > 25 * wet.mean()


def test_the_rain_spectrum_has_a_radar_like_slope_and_the_wet_fraction_aimed_for(default_file) -> None:
    """RAPSD slope over wavelengths of 4-32 cells within radar rain's -2.5 to -3.5, about -2.9 as documented;
    about 40 % of the cell-days wet (>= 0.1 mm)."""
    precip = read_fields(default_file[0]).precip_hr_mm
    slope = spectral_slope(*rapsd(precip))
    assert -3.1 < slope < -2.7
    # the same fit on pysteps' RAPSD (an independent implementation), mean of the per-day spectra
    power = np.mean([pysteps_rapsd(day, fft_method=np.fft) for day in precip], axis=0)
    k = np.arange(1, power.size) / precip.shape[-1]
    assert spectral_slope(k, power[1:]) == pytest.approx(slope, abs=0.05)
    assert 0.35 < np.mean(precip >= 0.1) < 0.45


def test_rain_areas_persist_from_day_to_day(default_file) -> None:
    precip = read_fields(default_file[0]).precip_hr_mm
    lag = {d: np.corrcoef(precip[:-d].ravel(), precip[d:].ravel())[0, 1] for d in (1, 5)}
    assert lag[1] > 0.25 and lag[1] > lag[5] + 0.15


def test_fields_are_spatially_correlated(default_file) -> None:
    precip = read_fields(default_file[0]).precip_hr_mm
    lag1 = np.corrcoef(precip[:, :, :-1].ravel(), precip[:, :, 1:].ravel())[0, 1]
    lag8 = np.corrcoef(precip[:, :, :-8].ravel(), precip[:, :, 8:].ravel())[0, 1]
    assert lag1 > 0.8 and lag1 > lag8 > 0.05, "coherent rain areas, not pixel speckle"


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
    settings = {**_default_synthetic()[1], "n_samples": 5, "height": 20}
    with pytest.raises(ConfigError, match=r"key 'downscale.synthetic.height': expected a multiple of factor \(8\)"):
        generate_fields(seed=0, **settings)


#: A small run for the oracle: 30 days of 32 x 32 cells, factor 4.
SMALL = SyntheticDownscaleSettings(n_samples=30, height=32, width=32, factor=4)


def test_oracle_members_keep_the_coarse_field_and_differ_from_each_other() -> None:
    fields = generate_fields(seed=4, **dataclasses.asdict(SMALL))
    days = np.array([3, 17, 29])
    draws = list(
        oracle_members(SMALL, seed=4, days=days, coarse_mm=fields.precip_lr_mm[days], k=6, rng=np.random.default_rng(0))
    )
    members = np.stack([m for m, _ in draws])
    np.testing.assert_array_equal(np.stack([t for _, t in draws]), fields.precip_hr_mm[days])
    assert members.shape == (3, 6, 32, 32) and members.dtype == np.float32 and members.min() >= 0
    coarse = np.repeat(fields.precip_lr_mm[days][:, None], 6, axis=1)
    np.testing.assert_allclose(coarsen(members, 4), coarse, rtol=1e-5, atol=1e-5)
    dry_blocks = np.kron(coarse == 0, np.ones((4, 4))) > 0
    assert not members[dry_blocks].any(), "a dry coarse cell is a dry block"
    assert np.std(members, axis=1).mean() > 0.05, "the fine texture is drawn afresh"
    # knowing the resolved index, the oracle is far closer to the truth than the coarse field's blocks
    blocks = np.kron(fields.precip_lr_mm[days], np.ones((4, 4)))[:, None]
    truth = fields.precip_hr_mm[days]
    assert pooled_crps(truth, members, 1).mean() < 0.6 * np.abs(blocks[:, 0] - truth).mean()


def test_the_oracle_file_refuses_other_fields(tmp_path: Path) -> None:
    path = tmp_path / "fields.h5"
    fields = generate_fields(seed=4, **dataclasses.asdict(SMALL))
    write_fields(path, fields, time_split(fields.time_s, val_fraction=0.2, test_fraction=0.2, gap_steps=1))
    write_oracle(fields=path, out_path=tmp_path / "oracle.h5", settings=SMALL, data_seed=4, k=3, seed=0)
    header = read_header(tmp_path / "oracle.h5")
    assert (header.n_cases, header.k) == (len(read_split(path).test), 3) and header.attrs["mode"] == "oracle"
    with pytest.raises(InputError, match=r"not 'atmo\.downscale\.synthetic\.fields seed=5'"):
        write_oracle(fields=path, out_path=tmp_path / "x.h5", settings=SMALL, data_seed=5, k=3, seed=0)
    other = dataclasses.replace(SMALL, tail=0.7)
    with pytest.raises(InputError, match="not what the synthetic settings generate"):
        write_oracle(fields=path, out_path=tmp_path / "x.h5", settings=other, data_seed=4, k=3, seed=0)
    assert not (tmp_path / "x.h5").exists()
