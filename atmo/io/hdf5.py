"""Checked HDF5 access shared by every reader.

A missing, truncated or foreign HDF5 file should fail with the file's name and the reason, not an
h5py traceback deep inside a data loader. :func:`open_hdf5` checks the file before handing it
out and :func:`require_dataset` checks each dataset's dtype kind and rank.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import h5py
import numpy as np

from atmo.errors import InputError


def open_hdf5(path: str | os.PathLike[str]) -> h5py.File:
    """Open ``path`` read-only, raising :class:`InputError` if it is missing or not valid HDF5."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(path, "file does not exist")
    if os.path.getsize(path) == 0:
        raise InputError(path, "file is empty")
    if not h5py.is_hdf5(path):
        raise InputError(path, "not an HDF5 file (no HDF5 signature)")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise InputError(path, f"cannot be opened as HDF5, probably truncated ({err})") from err


def require_dataset(
    handle: h5py.File | h5py.Group,
    name: str,
    *,
    kinds: str,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
) -> h5py.Dataset:
    """Return dataset ``name`` after checking its dtype kind (``numpy`` kind letters) and shape.

    ``shape`` may contain ``None`` for free axes. Reading one element also proves that the
    dataset's bytes are present, which catches files truncated after the header.
    """
    where = handle.file.filename
    if name not in handle:
        raise InputError(where, f"missing dataset '{name}'")
    obj = handle[name]
    if not isinstance(obj, h5py.Dataset):
        raise InputError(where, f"'{name}' is a group, expected a dataset")
    if obj.dtype.kind not in kinds:
        raise InputError(where, f"dataset '{name}' has dtype {obj.dtype}, expected kind '{kinds}'")
    if ndim is not None and obj.ndim != ndim:
        raise InputError(where, f"dataset '{name}' has shape {obj.shape}, expected {ndim} dimensions")
    if shape is not None and (
        len(shape) != obj.ndim or any(s is not None and s != o for s, o in zip(shape, obj.shape, strict=True))
    ):
        want = tuple("any" if s is None else s for s in shape)
        raise InputError(where, f"dataset '{name}' has shape {obj.shape}, expected {want}")
    if obj.size:
        try:
            obj[(np.s_[-1:],) * obj.ndim]
        except OSError as err:
            raise InputError(where, f"dataset '{name}' cannot be read, file truncated? ({err})") from err
    return obj
