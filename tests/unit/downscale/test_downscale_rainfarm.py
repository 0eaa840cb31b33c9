"""RainFARM through pysteps: K members that keep each coarse cell's mass, deterministic by seed and case."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from downscale_helpers import tiny_fields_file

from atmo.downscale.baselines import write_baseline
from atmo.downscale.coarsen import coarsen
from atmo.downscale.field_files import read_split
from atmo.downscale.rainfarm import rainfarm_members, restore_mass
from atmo.downscale.sample_files import read_header
from atmo.metrics.spectra import rapsd, spectral_slope


def _coarse(seed: int = 0) -> np.ndarray:
    lr = np.random.default_rng(seed).gamma(0.5, 6.0, (8, 8))
    lr[:3, :3] = 0.0  # a dry corner
    return lr


@pytest.mark.parametrize("kernel", [None, "gaussian", "tophat"])
def test_members_keep_the_coarse_mass_and_dry_cells(kernel: str | None) -> None:
    lr = _coarse()
    members = rainfarm_members(lr, 4, 5, seed=1, case=7, kernel=kernel)
    assert members.shape == (5, 32, 32) and members.dtype == np.float32 and members.min() >= 0
    np.testing.assert_allclose(coarsen(members, 4), np.broadcast_to(lr, (5, 8, 8)), rtol=1e-5, atol=1e-5)
    assert (members[:, :12, :12] == 0).all(), "a dry coarse cell stays dry"
    assert np.std(members, axis=0).mean() > 0.1, "members differ"


def test_draws_are_fixed_by_seed_and_case_and_leave_numpys_global_state_alone() -> None:
    lr = _coarse(1)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = rainfarm_members(lr, 4, 3, seed=5, case=2)
    assert np.array_equal(np.random.get_state()[1], before), "the caller's global generator is restored"
    np.testing.assert_array_equal(first, rainfarm_members(lr, 4, 3, seed=5, case=2))
    assert not np.array_equal(first, rainfarm_members(lr, 4, 3, seed=5, case=3))
    assert not np.array_equal(first, rainfarm_members(lr, 4, 3, seed=6, case=2))
    # member m is the same whatever K: the members of K = 3 are the first three of K = 4
    np.testing.assert_array_equal(first, rainfarm_members(lr, 4, 4, seed=5, case=2)[:3])


def test_the_small_scales_follow_the_given_power_law() -> None:
    """With alpha fixed and no smoothing, the members' log field has the power law RainFARM extrapolates."""
    members = rainfarm_members(np.full((4, 4), 3.0), 16, 20, seed=0, case=0, alpha=3.0, kernel=None)
    slope = spectral_slope(*rapsd(np.log(members)), min_wavelength_px=4, max_wavelength_px=16)
    assert -3.4 < slope < -2.6


def test_an_all_dry_day_gives_dry_members() -> None:
    assert not rainfarm_members(np.zeros((3, 4)), 2, 4, seed=0, case=0).any()


def test_restore_mass_fills_a_wet_cell_whose_block_came_out_dry() -> None:
    fine = np.zeros((4, 4))
    fine[:2, :2] = 1.0
    fixed = restore_mass(fine, np.array([[2.0, 3.0], [0.0, 0.0]]), 2)
    np.testing.assert_allclose(fixed[:2], [[2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]])
    assert not fixed[2:].any()


def test_the_rainfarm_baseline_file_has_k_members_that_keep_the_mass(tmp_path: Path) -> None:
    fields = tiny_fields_file(tmp_path / "fields.h5")
    write_baseline(fields=fields, method="rainfarm", out_path=tmp_path / "rf.h5", k=6, seed=3)
    header = read_header(tmp_path / "rf.h5")
    assert (header.n_cases, header.k) == (len(read_split(fields).test), 6) and not header.attrs["deterministic"]
    assert header.attrs["mode"] == "rainfarm" and header.attrs["epoch"] == -1
    with h5py.File(tmp_path / "rf.h5") as f:
        samples, coarse = f["samples"][()], f["coarse"][()]
    np.testing.assert_allclose(coarsen(samples, 4), np.repeat(coarse[:, None], 6, axis=1), rtol=1e-4, atol=1e-4)
    write_baseline(fields=fields, method="rainfarm", out_path=tmp_path / "again.h5", k=6, seed=3)
    with h5py.File(tmp_path / "again.h5") as f:
        np.testing.assert_array_equal(f["samples"][()], samples)
    with pytest.raises(ValueError, match="k >= 2"):
        write_baseline(fields=fields, method="rainfarm", out_path=tmp_path / "x.h5", k=1)
