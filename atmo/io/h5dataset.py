"""A PyTorch dataset over aligned HDF5 arrays that is safe with ``num_workers > 0``.

h5py file handles must not cross a ``fork``: a handle opened in the parent and used in several
workers corrupts reads or deadlocks (the seeds fell back to ``num_workers=0`` for that reason).
This dataset therefore opens its file lazily, once per process, keyed by the process id, and only
stores the path and lengths in the picklable object.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5, require_dataset


class H5ArrayDataset(Dataset):
    """Item ``i`` is ``{name: torch.as_tensor(file[name][i]) for name in keys}``.

    All ``keys`` must share their first (sample) axis. Floating data is returned as float32.
    """

    def __init__(self, path: str | os.PathLike[str], keys: Sequence[str]) -> None:
        self.path = os.fspath(path)
        self.keys = tuple(keys)
        with open_hdf5(self.path) as handle:
            lengths = {key: require_dataset(handle, key, kinds="fiub").shape[0] for key in self.keys}
        if len(set(lengths.values())) != 1:
            raise InputError(self.path, f"datasets have different sample counts {lengths}")
        self._length = next(iter(lengths.values()))
        self._handle: h5py.File | None = None
        self._owner_pid: int | None = None

    def __len__(self) -> int:
        return self._length

    def _file(self) -> h5py.File:
        if self._handle is None or self._owner_pid != os.getpid():
            self._handle = h5py.File(self.path, "r")
            self._owner_pid = os.getpid()
        return self._handle

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        handle = self._file()
        item = {}
        for key in self.keys:
            value = np.asarray(handle[key][index])
            if value.dtype.kind == "f":
                value = value.astype(np.float32, copy=False)
            item[key] = torch.from_numpy(value)
        return item

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handle"] = None
        state["_owner_pid"] = None
        return state
