"""Sampling a checkpoint on the test split: the ensemble file layout, modes, reproducibility, refusals."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from downscale_helpers import tiny_fields_file

from atmo.downscale.field_files import read_fields, read_split
from atmo.downscale.sample_files import read_header
from atmo.downscale.sampling import sample_checkpoint
from atmo.downscale.training import train_variant
from atmo.errors import ConfigError, InputError

SPEC = {"arch": "cvae", "params": {"latent_dim": 4, "base_filters": 2, "n_blocks": 2, "spatial_channels": 4}}
TRAIN = {"epochs": 1, "batch_size": 8, "device": "cpu", "progress": False}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sampling")
    fields = tiny_fields_file(root / "fields.h5")
    train_variant(fields=fields, variant="v3", spec=SPEC, train=TRAIN, model_path=root / "v3" / "model.pt")
    return fields, root / "v3" / "model.pt"


def _sample(checkpoint, out: Path, **change) -> Path:
    fields, model = checkpoint
    keywords = {"mode": "prior", "k": 3, "temperature": 1.0, "batch_size": 2, "seed": 5, **change}
    sample_checkpoint(fields=fields, checkpoint=model, variant="v3", out_path=out, **keywords)
    return out


@pytest.mark.parametrize("mode", ["prior", "posterior"])
def test_samples_file_has_the_documented_layout(checkpoint, tmp_path: Path, mode: str) -> None:
    path = _sample(checkpoint, tmp_path / "samples.h5", mode=mode, temperature=1.2)
    fields, split = read_fields(checkpoint[0]), read_split(checkpoint[0])
    n = len(split.test)
    with h5py.File(path) as f:
        assert f["samples"].shape == (n, 3, 16, 16) and f["samples"].dtype == np.float32
        np.testing.assert_array_equal(f["truth"][()], fields.precip_hr_mm[split.test])
        np.testing.assert_array_equal(f["coarse"][()], fields.precip_lr_mm[split.test])
        np.testing.assert_array_equal(f["index"][()], split.test)
        assert (f["samples"][()] >= 0).all() and f["samples"].attrs["units"] == "mm"
        samples = f["samples"][()]
    assert np.std(samples, axis=1).mean() > 0, "members of a case differ"
    header = read_header(path)
    assert header.attrs["variant"] == "v3" and header.attrs["mode"] == mode and header.attrs["epoch"] == 1
    assert header.attrs["k"] == 3 and header.attrs["temperature"] == 1.2 and not header.attrs["deterministic"]


def test_the_same_seed_gives_the_same_samples(checkpoint, tmp_path: Path) -> None:
    a = _sample(checkpoint, tmp_path / "a.h5")
    b = _sample(checkpoint, tmp_path / "b.h5")
    with h5py.File(a) as fa, h5py.File(b) as fb:
        np.testing.assert_array_equal(fa["samples"][()], fb["samples"][()])


def test_posterior_mean_is_deterministic_with_one_member(checkpoint, tmp_path: Path) -> None:
    path = _sample(checkpoint, tmp_path / "mean.h5", mode="posterior_mean", k=1)
    header = read_header(path)
    assert header.k == 1 and header.attrs["deterministic"] and np.isnan(header.attrs["temperature"])
    with pytest.raises(ConfigError, match=r"downscale\.sampling\.k"):
        _sample(checkpoint, tmp_path / "bad.h5", mode="posterior_mean", k=2)


@pytest.mark.parametrize(
    ("change", "key"),
    [({"mode": "dream"}, "mode"), ({"k": 0}, "k"), ({"temperature": 0.0}, "temperature")],
)
def test_bad_sampling_settings_are_config_errors(checkpoint, tmp_path: Path, change, key) -> None:
    with pytest.raises(ConfigError, match=rf"downscale\.sampling\.{key}"):
        _sample(checkpoint, tmp_path / "bad.h5", **change)
    assert not (tmp_path / "bad.h5").exists()


def test_a_checkpoint_of_another_variant_is_refused(checkpoint, tmp_path: Path) -> None:
    fields, model = checkpoint
    with pytest.raises(InputError, match="variant 'v3', not of 'v1'"):
        sample_checkpoint(
            fields=fields,
            checkpoint=model,
            variant="v1",
            mode="prior",
            k=2,
            temperature=1.0,
            out_path=tmp_path / "x.h5",
        )
