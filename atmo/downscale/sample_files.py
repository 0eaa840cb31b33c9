"""The ensemble file: K downscaled fields per test case, from a model checkpoint or a baseline.

Model samples (:mod:`atmo.downscale.sampling`), the bicubic baselines and the posterior-mean
reference (:mod:`atmo.downscale.baselines`) all write this one layout, so one scorer
(:mod:`atmo.downscale.scoring`) reads them all::

    samples  (N, K, H, W)  float32  downscaled precipitation, mm, >= 0 (K = 1 for a deterministic method)
    truth    (N, H, W)     float32  precip_hr_mm of the test cases, mm
    coarse   (N, h, w)     float32  precip_lr_mm of the test cases, mm (the input)
    index    (N,)          int64    rows of the fields file (its test split, in order)
    time     (N,)          int64    period start, seconds since 1970-01-01 UTC

Root attributes: ``format = "atmo-downscale-samples"``, ``format_version``, ``method`` (``cvae``,
``bicubic``, ``bicubic_noise``), ``variant`` (the model variant or the method), ``epoch`` (the
checkpoint's, -1 for a baseline), ``mode`` (``prior``, ``posterior``, ``posterior_mean``,
``bicubic``, ``bicubic_noise``), ``k``, ``temperature`` (NaN where it means nothing),
``deterministic`` (whether K = 1 is the method, not a setting), ``seed``, ``factor``, ``fields``
(the fields file). Samples are chunked one case at a time: a scorer reads batches of cases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from atmo.downscale.field_files import DownscaleFields
from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.io.hdf5 import open_hdf5, require_dataset

FORMAT = "atmo-downscale-samples"
FORMAT_VERSION = 1
ATTRS = ("method", "variant", "epoch", "mode", "k", "temperature", "deterministic", "seed", "factor", "fields")


@dataclass(frozen=True)
class SamplesHeader:
    """Shapes and attributes of an ensemble file (everything but the arrays)."""

    n_cases: int
    k: int
    fine_shape: tuple[int, int]
    attrs: dict[str, Any]


class SamplesWriter:
    """Fills the datasets of an open ensemble file case batch by case batch (see :func:`samples_writer`)."""

    def __init__(self, handle: h5py.File, n_cases: int) -> None:
        self.handle = handle
        self.n_cases = n_cases
        self.filled = 0

    def write(self, samples_mm: np.ndarray, truth_mm: np.ndarray, coarse_mm: np.ndarray) -> None:
        """Append cases: ``samples_mm (b, K, H, W)``, ``truth_mm (b, H, W)``, ``coarse_mm (b, h, w)``."""
        b = samples_mm.shape[0]
        if not np.isfinite(samples_mm).all() or samples_mm.min(initial=0.0) < 0:
            raise ValueError("samples must be finite and non-negative (mm)")
        stop = self.filled + b
        self.handle["samples"][self.filled : stop] = samples_mm
        self.handle["truth"][self.filled : stop] = truth_mm
        self.handle["coarse"][self.filled : stop] = coarse_mm
        self.filled = stop


@contextmanager
def samples_writer(
    path: str | os.PathLike[str],
    *,
    k: int,
    fine_shape: tuple[int, int],
    coarse_shape: tuple[int, int],
    index: np.ndarray,
    time_s: np.ndarray,
    attrs: Mapping[str, Any],
) -> Iterator[SamplesWriter]:
    """Create the ensemble file atomically; the block writes all ``len(index)`` cases through the writer."""
    n = len(index)
    missing = [key for key in ATTRS if key not in attrs]
    if missing:
        raise ValueError(f"ensemble file attributes missing: {missing}")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as out:
        out.attrs.update(format=FORMAT, format_version=FORMAT_VERSION, **{key: attrs[key] for key in ATTRS})
        out.create_dataset("samples", shape=(n, k, *fine_shape), dtype=np.float32, chunks=(1, k, *fine_shape))
        out.create_dataset("truth", shape=(n, *fine_shape), dtype=np.float32, chunks=(1, *fine_shape))
        out.create_dataset("coarse", shape=(n, *coarse_shape), dtype=np.float32)
        for name in ("samples", "truth", "coarse"):
            out[name].attrs["units"] = "mm"
        out.create_dataset("index", data=np.asarray(index, dtype=np.int64))
        out.create_dataset("time", data=np.asarray(time_s, dtype=np.int64))
        writer = SamplesWriter(out, n)
        yield writer
        if writer.filled != n:
            raise ValueError(f"ensemble file got {writer.filled} of {n} cases")


def _attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_header(path: str | os.PathLike[str]) -> SamplesHeader:
    """Check an ensemble file's layout and return its shapes and attributes; :class:`InputError` otherwise."""
    where = os.fspath(path)
    with open_hdf5(where) as handle:
        if handle.attrs.get("format") != FORMAT:
            raise InputError(where, f"format attribute is {handle.attrs.get('format')!r}, expected {FORMAT!r}")
        samples = require_dataset(handle, "samples", kinds="f", ndim=4)
        n, k, height, width = samples.shape
        require_dataset(handle, "truth", kinds="f", shape=(n, height, width))
        require_dataset(handle, "coarse", kinds="f", ndim=3)
        require_dataset(handle, "index", kinds="iu", shape=(n,))
        missing = [key for key in ATTRS if key not in handle.attrs]
        if missing:
            raise InputError(where, f"missing attributes {missing}")
        attrs = {key: _attr(handle.attrs[key]) for key in ATTRS}
    if n == 0:
        raise InputError(where, "holds no cases")
    return SamplesHeader(n, k, (height, width), attrs)


def iter_batches(path: str | os.PathLike[str], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(truth (b, H, W), samples (b, K, H, W))`` float64-ready float32 arrays, ``batch_size`` cases at a time."""
    with open_hdf5(path) as handle:
        n = handle["samples"].shape[0]
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            yield handle["truth"][start:stop], handle["samples"][start:stop]


def read_times(path: str | os.PathLike[str]) -> np.ndarray:
    """Period start of every case ``(N,)``, seconds since 1970-01-01 UTC."""
    with open_hdf5(path) as handle:
        return handle["time"][()]


def read_truth(path: str | os.PathLike[str]) -> np.ndarray:
    """All truth fields ``(N, H, W)`` (small enough for memory without the ensemble)."""
    with open_hdf5(path) as handle:
        return handle["truth"][()]


def reference_samples_writer(
    path: str | os.PathLike[str],
    data: DownscaleFields,
    index: np.ndarray,
    *,
    name: str,
    k: int,
    seed: int,
    fields: str,
) -> AbstractContextManager[SamplesWriter]:
    """:func:`samples_writer` for an untrained product of ``data``'s cases ``index`` (a baseline, the oracle).

    Such a product has no variant, epoch, mode or temperature: ``name`` stands for method, variant
    and mode, the epoch is -1, the temperature NaN, and it is deterministic when it has one member.
    """
    attrs = {
        "method": name,
        "variant": name,
        "epoch": -1,
        "mode": name,
        "k": k,
        "temperature": float("nan"),
        "deterministic": k == 1,
        "seed": seed,
        "factor": data.factor,
        "fields": fields,
    }
    return samples_writer(
        path,
        k=k,
        fine_shape=tuple(data.precip_hr_mm.shape[1:]),
        coarse_shape=tuple(data.precip_lr_mm.shape[1:]),
        index=index,
        time_s=data.time_s[index],
        attrs=attrs,
    )
