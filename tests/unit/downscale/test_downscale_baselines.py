"""Bicubic and noisy-bicubic baselines: shapes, non-negativity, mass consistency, residual noise."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from downscale_helpers import tiny_fields_file

from atmo.downscale.baselines import ResidualNoise, bicubic_mm, write_baseline
from atmo.downscale.coarsen import coarsen
from atmo.downscale.field_files import read_split
from atmo.downscale.sample_files import read_header


def _coarse(seed: int = 0) -> np.ndarray:
    lr = np.random.default_rng(seed).gamma(0.4, 6.0, (3, 4, 5)).astype(np.float32)
    lr[0, :2, :2] = 0.0  # a dry corner next to wet cells: bicubic overshoots below zero there
    return lr


def test_bicubic_is_non_negative_and_mass_consistent() -> None:
    lr = _coarse()
    fine = bicubic_mm(lr, 4)
    assert fine.shape == (3, 16, 20) and fine.dtype == np.float32 and fine.min() >= 0
    np.testing.assert_allclose(coarsen(fine, 4), lr, atol=1e-4)
    plain = bicubic_mm(lr, 4, mass_consistent=False)
    assert plain.min() >= 0 and np.abs(coarsen(plain, 4) - lr).max() > 1e-2
    assert (fine[0, :8, :8] == 0).all(), "dry coarse cells stay dry"


def test_a_constant_coarse_field_is_reproduced_exactly() -> None:
    lr = np.full((1, 3, 3), 2.5, np.float32)
    np.testing.assert_allclose(bicubic_mm(lr, 2), 2.5, rtol=1e-6)


def test_residual_noise_draws_from_the_residuals_of_the_intensity_bin() -> None:
    rng = np.random.default_rng(0)
    bicubic = np.concatenate([np.zeros(100), np.full(100, 10.0)]).reshape(1, 10, 20)
    truth = bicubic + np.where(bicubic > 0, rng.choice([-2.0, 2.0], bicubic.shape), 0.0)
    noise = ResidualNoise.fit(bicubic, truth, n_bins=4, max_per_bin=1000, rng=rng)
    members = noise.sample(np.array([[[0.0, 10.0]]]), k=50, rng=rng)
    assert members.shape == (1, 50, 1, 2) and members.dtype == np.float32
    assert (members[0, :, 0, 0] == 0).all(), "dry pixels have zero residuals"
    assert set(np.unique(members[0, :, 0, 1])) == {8.0, 12.0}


def test_residual_noise_is_clipped_at_zero() -> None:
    rng = np.random.default_rng(1)
    bicubic = np.full((1, 4, 4), 1.0)
    noise = ResidualNoise.fit(bicubic, bicubic - 3.0, n_bins=2, max_per_bin=10, rng=rng)
    assert (noise.sample(bicubic, k=3, rng=rng) == 0).all()


@pytest.fixture(scope="module")
def fields(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_fields_file(tmp_path_factory.mktemp("baselines") / "fields.h5")


def test_baseline_files_have_the_sampling_layout(fields: Path, tmp_path: Path) -> None:
    n_test = len(read_split(fields).test)
    write_baseline(fields=fields, method="bicubic", out_path=tmp_path / "bicubic.h5", k=7)
    write_baseline(fields=fields, method="bicubic_noise", out_path=tmp_path / "noise.h5", k=6, seed=3)
    for name, k, deterministic in (("bicubic", 1, True), ("noise", 6, False)):
        header = read_header(tmp_path / f"{name}.h5")
        assert (header.n_cases, header.k, header.fine_shape) == (n_test, k, (16, 16))
        assert header.attrs["deterministic"] == deterministic and header.attrs["epoch"] == -1
        with h5py.File(tmp_path / f"{name}.h5") as f:
            samples, coarse = f["samples"][()], f["coarse"][()]
        assert samples.min() >= 0 and np.isfinite(samples).all()
    np.testing.assert_allclose(coarsen(samples[:, 0], 4), coarse, atol=50.0)  # noisy: near, not equal
    assert np.std(samples, axis=1).mean() > 0


def test_noisy_baseline_needs_two_members(fields: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="k >= 2"):
        write_baseline(fields=fields, method="bicubic_noise", out_path=tmp_path / "x.h5", k=1)
    with pytest.raises(ValueError, match="unknown downscale baseline"):
        write_baseline(fields=fields, method="nearest", out_path=tmp_path / "x.h5")
