"""Atomic writes, checked HDF5 opening and the worker-safe HDF5 dataset."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from atmo.errors import InputError
from atmo.io.atomic import atomic_path, write_json
from atmo.io.h5dataset import H5ArrayDataset
from atmo.io.hdf5 import open_hdf5, require_dataset


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out" / "data.h5"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_path_moves_complete_file_into_place(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json(target, {"b": 1, "a": 2})
    assert target.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def _write_h5(path: Path, n: int = 10) -> None:
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(n * 4, dtype=np.float16).reshape(n, 2, 2)
        f["y"] = np.arange(n, dtype=np.uint8)


def test_open_hdf5_rejects_missing_empty_foreign_and_truncated(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        open_hdf5(tmp_path / "nope.h5")
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_hdf5(tmp_path / "empty.h5")
    (tmp_path / "foreign.h5").write_text("col_a,col_b\n1,2\n")
    with pytest.raises(InputError, match="not an HDF5 file"):
        open_hdf5(tmp_path / "foreign.h5")
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as f:
        f.create_dataset("x", data=np.random.default_rng(0).random((200, 100)))
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError) as info, open_hdf5(truncated) as handle:
        require_dataset(handle, "x", kinds="f")
    assert str(truncated) in str(info.value) and "\n" not in str(info.value)


def test_require_dataset_checks_kind_rank_and_shape(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    _write_h5(path)
    with open_hdf5(path) as handle:
        assert require_dataset(handle, "x", kinds="f", shape=(None, 2, 2)).shape == (10, 2, 2)
        with pytest.raises(InputError, match="missing dataset 'vil'"):
            require_dataset(handle, "vil", kinds="u")
        with pytest.raises(InputError, match="expected kind 'u'"):
            require_dataset(handle, "x", kinds="u")
        with pytest.raises(InputError, match="expected 4 dimensions"):
            require_dataset(handle, "x", kinds="f", ndim=4)
        with pytest.raises(InputError, match=r"expected \('any', 3, 2\)"):
            require_dataset(handle, "x", kinds="f", shape=(None, 3, 2))


def test_h5_dataset_with_worker_processes(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    _write_h5(path, n=12)
    dataset = H5ArrayDataset(path, ["x", "y"])
    loader = DataLoader(dataset, batch_size=4, num_workers=2, shuffle=False)
    batches = list(loader)
    assert [b["x"].dtype for b in batches] == [torch.float32] * 3
    assert torch.equal(torch.cat([b["y"] for b in batches]), torch.arange(12, dtype=torch.uint8))


def test_h5_dataset_rejects_unaligned_sample_counts(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros((5, 2))
        f["y"] = np.zeros(4)
    with pytest.raises(InputError, match="different sample counts"):
        H5ArrayDataset(path, ["x", "y"])


def test_atomic_output_gets_umask_permissions(tmp_path: Path) -> None:
    import os

    target = tmp_path / "shared.json"
    write_json(target, {})
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
