"""Compare two runs' output trees file by file, by content, so "same results" can be asserted.

Two runs of the workflow with the same config and seeds (say, locally and on a SLURM cluster) must
give the same numbers. Bytes are the wrong test: HDF5, GeoTIFF and NetCDF files carry creation
details, and floating-point sums may be ordered differently by a different thread layout. So each
format is opened with its reader and compared by value:

* integers, strings, booleans, shapes, dtypes, attributes and CRS/transforms: exactly;
* floating-point values (arrays, tensors, JSON/CSV numbers, numbers in text): with
  ``numpy.isclose(rtol=RTOL, atol=ATOL)``, NaN equal to NaN;
* keys, columns and attributes named like a duration (:data:`VOLATILE`: ``seconds``, ``fit_seconds``,
  ``seconds_per_sample``, ...) are ignored: wall-clock times differ between any two runs; so are
  the input hashes of a training run's ``fingerprint.json`` (an upstream ``model.pt`` holds such times).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

RTOL = 1e-5
ATOL = 1e-8
VOLATILE = re.compile(r"^(\w+_)?seconds(_per_\w+)?$")
# Per-run bookkeeping, not results: logs and benchmark timings differ between any two runs.
SKIPPED_PARTS = frozenset({"logs", "benchmarks"})
# The run summary: its provenance (date, wall time, machine) belongs to the run, not to the results.
SKIPPED_FILES = frozenset({"summary.md", "summary.json", "summary.html"})
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def output_files(root: Path, tops: tuple[str, ...] = ("results", "resources")) -> set[str]:
    """Paths (relative to ``root``) of every output file under ``tops``, without logs/benchmarks."""
    found = set()
    for top in tops:
        for path in (root / top).rglob("*"):
            relative = path.relative_to(root)
            if path.is_file() and not SKIPPED_PARTS & set(relative.parts) and relative.name not in SKIPPED_FILES:
                found.add(relative.as_posix())
    return found


def compare_trees(expected_root: Path, actual_root: Path) -> list[str]:
    """Every difference between two output trees (missing files, then values), as readable lines."""
    expected, actual = output_files(expected_root), output_files(actual_root)
    problems = [f"{p}: only in {expected_root}" for p in sorted(expected - actual)]
    problems += [f"{p}: only in {actual_root}" for p in sorted(actual - expected)]
    for relative in sorted(expected & actual):
        problems += [f"{relative}: {d}" for d in compare_files(expected_root / relative, actual_root / relative)]
    return problems


def compare_files(expected: Path, actual: Path) -> list[str]:
    """Differences between two files of the same format (chosen by suffix; bytes when unknown)."""
    reader = READERS.get(expected.suffix.lower())
    if reader is None:
        return [] if expected.read_bytes() == actual.read_bytes() else ["bytes differ"]
    return list(_diff(reader(expected), reader(actual), ""))


def _diff(a: Any, b: Any, where: str) -> Iterator[str]:
    """Yield differences between two decoded values (nested dicts/lists/arrays/scalars)."""
    at = where or "value"
    if isinstance(a, dict) and isinstance(b, dict):
        keys_a = {k for k in a if not VOLATILE.search(str(k))}
        keys_b = {k for k in b if not VOLATILE.search(str(k))}
        if keys_a != keys_b:
            yield f"{at}: keys differ ({sorted(map(str, keys_a ^ keys_b))})"
        for key in sorted(keys_a & keys_b, key=str):
            yield from _diff(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            yield f"{at}: length {len(a)} != {len(b)}"
        else:
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                yield from _diff(x, y, f"{where}[{index}]")
    elif _is_array(a) or _is_array(b):
        yield from _diff_arrays(_as_array(a), _as_array(b), at)
    elif isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, int | float) and isinstance(b, int | float) and _close(a, b)):
            yield f"{at}: {a!r} != {b!r}"
    elif a != b or type(a) is not type(b):
        yield f"{at}: {a!r} != {b!r}"


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray | np.generic) or type(value).__module__ == "torch"


def _as_array(value: Any) -> np.ndarray:
    if type(value).__module__ == "torch":
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _diff_arrays(a: np.ndarray, b: np.ndarray, at: str) -> Iterator[str]:
    if a.shape != b.shape or a.dtype != b.dtype:
        yield f"{at}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
    elif a.dtype.kind in "fc":
        close = np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
        if not close.all():
            worst = float(np.nanmax(np.abs(a - b)))
            yield f"{at}: {int((~close).sum())} of {a.size} values differ (max abs difference {worst:.3g})"
    elif not np.array_equal(a, b):
        yield f"{at}: {int((a != b).sum()) if a.shape else 1} of {a.size} values differ"


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


# -- readers: each turns a file into nested plain values ------------------------------------------


def _read_hdf5(path: Path) -> dict[str, Any]:
    content: dict[str, Any] = {}
    with h5py.File(path, "r") as handle:
        content["/"] = {"attrs": dict(handle.attrs)}

        def visit(name: str, item: h5py.HLObject) -> None:
            entry: dict[str, Any] = {"attrs": dict(item.attrs)}
            if isinstance(item, h5py.Dataset):
                entry["data"] = item[()]
            content[name] = entry

        handle.visititems(visit)
    return content


def _read_json(path: Path) -> Any:
    content = json.loads(path.read_text())
    if path.name == "fingerprint.json":
        # A run's input hashes cover files such as an upstream model.pt whose training summary holds
        # wall-clock seconds, so they differ between any two runs; the inputs are compared by value.
        content.pop("inputs", None)
    return content


def _read_csv(path: Path) -> dict[str, Any]:
    frame = pd.read_csv(path)
    return {"columns": list(frame.columns), **{str(c): frame[c].to_numpy() for c in frame.columns}}


def _read_geotiff(path: Path) -> dict[str, Any]:
    import rasterio

    with rasterio.open(path) as dataset:
        return {
            "data": dataset.read(),
            "crs": str(dataset.crs),
            "transform": tuple(dataset.transform),
            "nodata": dataset.nodata,
            "descriptions": list(dataset.descriptions),
            "tags": dataset.tags(),
        }


def _read_netcdf(path: Path) -> dict[str, Any]:
    import netCDF4

    with netCDF4.Dataset(path) as dataset:
        content: dict[str, Any] = {"attrs": {a: dataset.getncattr(a) for a in dataset.ncattrs()}}
        for name, variable in dataset.variables.items():
            values = variable[:]
            content[name] = {
                "attrs": {a: variable.getncattr(a) for a in variable.ncattrs()},
                "data": np.ma.filled(values, np.nan) if values.dtype.kind == "f" else np.ma.getdata(values),
            }
        return content


def _read_torch(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def _read_png(path: Path) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(path)


def _read_text(path: Path) -> dict[str, Any]:
    """Text with the numbers pulled out, so a table of floats compares with the tolerance."""
    text = path.read_text()
    numbers = [float(n) for n in NUMBER.findall(text)]
    return {"text": NUMBER.sub("#", text), "numbers": np.array(numbers, dtype=float)}


READERS: dict[str, Callable[[Path], Any]] = {
    ".h5": _read_hdf5,
    ".hdf5": _read_hdf5,
    ".json": _read_json,
    ".csv": _read_csv,
    ".tif": _read_geotiff,
    ".tiff": _read_geotiff,
    ".nc": _read_netcdf,
    ".pt": _read_torch,
    ".png": _read_png,
    ".md": _read_text,
    ".txt": _read_text,
}
