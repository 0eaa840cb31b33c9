"""CBH datasets: one read of the cache, the view's patches in memory, safe and identical with workers."""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import atmo.cbh.dataset as dataset_module
from atmo.cbh.cache import build_cache, read_cache_table
from atmo.cbh.dataset import CbhDataset, MaeDataset, read_view_patches
from atmo.cbh.views import ViewSettings, extract_view, patchify
from atmo.errors import InputError
from atmo.train import TrainConfig, make_loader

VIEW = ViewSettings(kind="columns", n_columns=2, patch_height=8, channels="all")
VARIABLES = ["t2m", "d2m", "blh"]  # a subset of the campaign's ERA5 variables is enough here


@pytest.fixture(scope="module")
def cache(campaign, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cbh_dataset") / "cache.h5"
    build_cache(
        path,
        campaign.names,
        campaign.flight_paths,
        campaign.geometry_paths,
        campaign.era5_path,
        VARIABLES,
        (24, 32),
    )
    return path


def _physical(cache: Path, indices: np.ndarray) -> np.ndarray:
    features, _ = read_cache_table(cache).tabular()
    features = np.nan_to_num(features[indices])
    return ((features - features.mean(0)) / (features.std(0) + 1e-6)).astype(np.float32)


def test_dataset_items_hold_the_view_physical_features_and_label(cache: Path) -> None:
    indices = np.array([50, 2, 8, 86, 2])  # any order, repeats allowed; even: labelled frames
    physical = _physical(cache, indices)
    data = CbhDataset(cache, indices, VIEW, physical)
    with h5py.File(cache) as f:
        frames = f["images"][np.unique(indices)]
        labels = f["cbh_km"][...]
    expected = patchify(torch.from_numpy(extract_view(frames, VIEW)), VIEW)
    rows = {index: row for row, index in enumerate(np.unique(indices))}
    assert len(data) == 5
    for i, index in enumerate(indices):
        item = data[i]
        assert set(item) == {"view", "physical", "cbh_km", "prior_km", "index"} and item["index"] == index
        assert item["view"].dtype == torch.float32 and item["view"].shape == (2 * 3, 3 * 8)  # 2 columns of 3 tokens
        torch.testing.assert_close(item["view"], expected[rows[index]])
        torch.testing.assert_close(item["physical"], torch.from_numpy(physical[i]))
        assert item["cbh_km"].dtype == torch.float32 and item["cbh_km"].shape == ()
        assert item["cbh_km"].item() == pytest.approx(labels[index])
    mae = MaeDataset(cache, indices, VIEW)
    assert set(mae[1]) == {"view", "index"} and torch.equal(mae[1]["view"], data[1]["view"])


def test_dataset_reads_in_slabs_like_all_at_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    indices = np.arange(176)[::-3]
    whole, labels = read_view_patches(cache, indices, VIEW)
    monkeypatch.setattr(dataset_module, "SLAB_BYTES", 5 * 3 * 24 * 32)  # 5 frames per slab
    sliced, sliced_labels = read_view_patches(cache, indices, VIEW)
    np.testing.assert_array_equal(sliced, whole)
    np.testing.assert_array_equal(sliced_labels, labels)


def test_dataset_opens_the_cache_once_and_holds_no_handle(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = []
    real_open = dataset_module.open_hdf5

    def counting_open(path):
        opened.append(path)
        return real_open(path)

    monkeypatch.setattr(dataset_module, "open_hdf5", counting_open)
    data = CbhDataset(cache, np.arange(0, 40, 2), VIEW)
    for i in range(len(data)):
        data[i]
    assert len(opened) == 1
    assert data[0]["physical"].shape == (0,)
    assert not any(isinstance(value, h5py.File | h5py.Dataset) for value in vars(data).values())
    pickle.dumps(data)  # what a spawned worker receives


def test_dataset_two_workers_give_the_batches_of_one(cache: Path) -> None:
    indices = np.arange(0, 88, 2)
    data = CbhDataset(cache, indices, VIEW, _physical(cache, indices))
    serial = list(DataLoader(data, batch_size=8, num_workers=0))
    parallel = list(DataLoader(data, batch_size=8, num_workers=2))
    assert len(serial) == len(parallel) == 6
    for a, b in zip(serial, parallel, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    config = {"batch_size": 8, "device": "cpu", "seed": 3}
    shuffled = [
        [batch["index"] for batch in make_loader(data, TrainConfig(**config, num_workers=workers), shuffle=True)]
        for workers in (0, 2)
    ]
    assert all(torch.equal(a, b) for a, b in zip(*shuffled, strict=True))
    assert not torch.equal(torch.cat(shuffled[0]), torch.from_numpy(indices))


def test_dataset_refuses_bad_indices_and_features(cache: Path) -> None:
    with pytest.raises(InputError, match="outside the 176 samples"):
        MaeDataset(cache, [0, 176], VIEW)
    with pytest.raises(ValueError, match="one row per index"):
        CbhDataset(cache, [0, 1], VIEW, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="impute them first"):
        CbhDataset(cache, [0, 1], VIEW, np.array([[0.0], [np.nan]], np.float32))
    with pytest.raises(InputError, match="does not exist"):
        MaeDataset(cache.parent / "missing.h5", [0], VIEW)
