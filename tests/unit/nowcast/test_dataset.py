"""atmo.nowcast.dataset: contract shapes, DataLoader with worker processes, foreign files refused."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from sevir_helpers import build_caches, event_ids
from torch.utils.data import DataLoader

from atmo.errors import InputError
from atmo.nowcast.cache import CacheConfig
from atmo.nowcast.dataset import AugmentSettings, NowcastDataset
from atmo.train.dihedral import DihedralOp, transform_field, transform_vectors

ALL_OPS = [DihedralOp(bool(c), bool(r), k) for c in (0, 1) for r in (0, 1) for k in range(4)]


@pytest.fixture(scope="module")
def cache_file(pristine_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = CacheConfig(grid_size=16, frames_in=12, frames_out=6, stride=6)
    events = {"train": event_ids(pristine_tree)}
    return build_caches(pristine_tree, tmp_path_factory.mktemp("cache"), events, cfg)["train"]


def test_items_follow_the_contract(cache_file: Path) -> None:
    dataset = NowcastDataset(cache_file)
    assert (dataset.frames_in, dataset.frames_out, dataset.grid_size) == (12, 6, 16)
    item = dataset[0]
    assert item["x"].shape == (12, 4, 16, 16) and item["x"].dtype == torch.float32
    assert item["y"].shape == (6, 16, 16) and item["y"].dtype == torch.float32
    assert item["present"].shape == (4,) and item["present"].dtype == torch.bool
    assert item["motion"].shape == (2, 16, 16) and item["motion"].dtype == torch.float32
    assert set(dataset.normalisation) == {"vil", "ir069", "ir107", "lght"}


def test_dataloader_with_two_workers_matches_serial(cache_file: Path) -> None:
    torch.set_num_threads(1)
    dataset = NowcastDataset(cache_file)
    serial = list(DataLoader(dataset, batch_size=4, num_workers=0))
    parallel = list(DataLoader(dataset, batch_size=4, num_workers=2))
    assert len(serial) == len(parallel) > 1
    for a, b in zip(serial, parallel, strict=True):
        assert a["x"].shape[1:] == (12, 4, 16, 16)
        for key in ("x", "y", "present"):
            assert torch.equal(a[key], b[key])
    with h5py.File(cache_file) as handle:
        np.testing.assert_array_equal(serial[0]["x"].numpy(), handle["x"][:4].astype(np.float32))


def test_augmented_items_are_one_symmetry_of_the_stored_sample_motion_included(cache_file: Path) -> None:
    plain = NowcastDataset(cache_file)[1]
    augmented = NowcastDataset(cache_file, augment=AugmentSettings())
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        item = augmented[1]
        match = [op for op in ALL_OPS if torch.equal(item["x"], transform_field(plain["x"], op))]
        assert match, "not a flip or turn of the stored sample"
        op = match[0]
        assert torch.equal(item["y"], transform_field(plain["y"], op))
        assert torch.equal(item["motion"], transform_vectors(plain["motion"], op))
        seen.add(op)
    assert len(seen) > 4
    assert torch.equal(NowcastDataset(cache_file)[1]["x"], plain["x"])  # no augmentation unless asked


def test_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=np.zeros((2, 3)))
    with pytest.raises(InputError, match="not a nowcast cache"):
        NowcastDataset(path)
