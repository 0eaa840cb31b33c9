"""Cost of the riskseg dense CRF (run: ``pytest tests/benchmarks/test_riskseg_crf_speed.py --benchmark-only -s``).

* throughput in megapixels/s of the tiled CRF (:func:`~atmo.riskseg.crf.dense_crf_tiled`, default
  ``tile_size``/``halo``, V2.5 weights) on a :data:`SIZE` x :data:`SIZE` px, 5-band scene, against one
  untiled ``pydensecrf`` call (:func:`~atmo.riskseg.crf.crf_tile`) on the same scene, and the fraction
  of pixels on which the two agree. The target is tiled within :data:`TARGET_RATIO` of untiled.
  ``mp_per_s`` is from wall time, ``cpu_mp_per_s`` from the process's CPU time, which a busy shared
  machine disturbs less (one round each: a 4096² call takes about a minute);
* peak memory. ``pydensecrf`` allocates in C++, outside ``tracemalloc``'s view, and ``ru_maxrss`` of the
  test process is the peak of everything it ever did, so each case runs in a fresh subprocess: it loads
  its inputs, records its resident set (``VmRSS``), resets the kernel's high-water mark
  (``/proc/self/clear_refs``), runs the CRF and reads the high-water mark (``VmHWM``). ``peak_mb`` is the
  whole process as a scheduler sees it, ``extra_mb`` what the CRF adds on top of its loaded inputs.
  Cases: the untiled call and the tiled CRF on in-memory arrays (same scene), and
  :func:`~atmo.riskseg.crf.refine_raster` (GeoTIFF in, GeoTIFF out, windowed) at two raster sizes
  (:data:`RASTER_SIZES`), whose peaks should be flat.

The scene is the workflow's synthetic one (:func:`atmo.riskseg.synthetic.scene.make_scene`, smooth correlated
covariates with a nodata border and blob); the probabilities are its labels blurred the way a model
errs: a smooth per-class logit error plus pixel noise. The CRF's cost depends on the data (the bilateral
lattice grows with the spread of the features), so random bands would mislead: on white-noise bands
it runs about 5x slower. ``pydensecrf`` is single-threaded; the children run with one OpenMP thread for
numpy as well. The load average at the start of each test is stored with its numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasterio.transform import from_origin

from atmo.io.geotiff import write_geotiff
from atmo.riskseg import LABEL_NODATA, SCENE_NODATA
from atmo.riskseg.crf import CrfSettings, crf_tile, dense_crf_tiled, refine_raster, standardise_bands
from atmo.riskseg.synthetic.scene import SyntheticSceneSettings, make_scene, smooth_field

SIZE = 4096
RASTER_SIZES = (2048, 4096)
SETTINGS = CrfSettings()
TARGET_RATIO = 1.3
RESULTS: dict[str, dict[str, Any]] = {}


def synthetic_inputs(size: int, seed: int = 0) -> dict[str, Any]:
    """Scene covariates (raw), class probabilities, valid mask and band moments of a ``size``² scene."""
    scene = make_scene(SyntheticSceneSettings(height=size, width=size, nodata_blob_radius_px=size / 12), seed)
    rng = np.random.default_rng(seed + 1)
    onehot = np.eye(3, dtype=np.float32)[np.where(scene.valid, scene.label, 0)].transpose(2, 0, 1)
    logits = 2.0 * onehot + np.stack([smooth_field(rng, scene.valid.shape, 6.0) for _ in range(3)])
    logits += 0.8 * rng.standard_normal(logits.shape, dtype=np.float32)
    probs = np.exp(logits - logits.max(axis=0))
    probs /= probs.sum(axis=0)
    probs[:, ~scene.valid] = SCENE_NODATA
    pixels = scene.covariates[:, scene.valid].astype(np.float64)
    return {
        "scene": scene.covariates,
        "probs": probs.astype(np.float32),
        "valid": scene.valid,
        "label": scene.label,
        "mean": pixels.mean(axis=1),
        "std": pixels.std(axis=1),
    }


@pytest.fixture(scope="module", autouse=True)
def _table(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module, print the collected numbers as one table per case kind (bypassing capture)."""
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is None or capture is None or not RESULTS:
        return
    tiled, untiled = RESULTS.get("throughput_tiled"), RESULTS.get("throughput_untiled")
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for kind in ("throughput", "memory"):
            rows = {case.removeprefix(f"{kind}_"): row for case, row in RESULTS.items() if case.startswith(kind)}
            for line in _format_table(rows):
                reporter.write_line(line)
            reporter.write_line("")
        if tiled and untiled:
            for key in ("mp_per_s", "cpu_mp_per_s"):
                ratio = untiled[key] / tiled[key]
                verdict = "within" if ratio <= TARGET_RATIO else "outside"
                reporter.write_line(f"untiled / tiled {key}: {ratio:.3f} ({verdict} the {TARGET_RATIO}x target)")


def _format_table(rows: dict[str, dict[str, Any]]) -> list[str]:
    """Rows as aligned text, one column per key (first-seen order), ``-`` where a row lacks a key."""
    if not rows:
        return []
    columns = list(dict.fromkeys(key for row in rows.values() for key in row))
    text = {case: [_cell(row.get(column)) for column in columns] for case, row in rows.items()}
    widths = [max(len(column), *(len(cells[i]) for cells in text.values())) for i, column in enumerate(columns)]
    first = max(len(case) for case in rows)
    header = " " * first + "  " + "  ".join(column.rjust(width) for column, width in zip(columns, widths, strict=True))
    body = [
        case.ljust(first) + "  " + "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))
        for case, cells in text.items()
    ]
    return [header, *body]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _record(benchmark, case: str, **values: Any) -> None:
    values = {**values, "load_avg_1min": round(os.getloadavg()[0], 2)}
    benchmark.extra_info.update(values)
    RESULTS[case] = values


@pytest.fixture(scope="module")
def arrays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The :data:`SIZE`² inputs in memory (standardised bands) and saved as ``.npy`` for the children."""
    inputs = synthetic_inputs(SIZE)
    bands = standardise_bands(inputs["scene"], inputs["valid"], inputs["mean"], inputs["std"])
    folder = tmp_path_factory.mktemp("crf_arrays")
    for name, value in (("probs", inputs["probs"]), ("bands", bands), ("valid", inputs["valid"])):
        np.save(folder / f"{name}.npy", value)
    return {"probs": inputs["probs"], "bands": bands, "valid": inputs["valid"], "folder": folder}


@pytest.fixture(scope="module")
def rasters(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    """Per size of :data:`RASTER_SIZES`: the scene and probability GeoTIFFs and the band moments."""
    made = {}
    for size in RASTER_SIZES:
        inputs = synthetic_inputs(size)
        folder = tmp_path_factory.mktemp(f"crf_raster_{size}")
        grid = {"crs": "EPSG:32633", "transform": from_origin(400_000.0, 4_500_000.0, 30.0, 30.0)}
        write_geotiff(folder / "scene.tif", inputs["scene"], nodata=SCENE_NODATA, **grid)
        write_geotiff(folder / "probs.tif", inputs["probs"], nodata=SCENE_NODATA, **grid)
        made[size] = {"folder": folder, "mean": inputs["mean"].tolist(), "std": inputs["std"].tolist()}
    return made


@pytest.mark.parametrize("mode", ["untiled", "tiled"])
def test_crf_throughput(benchmark, arrays: dict[str, Any], mode: str) -> None:
    probs, bands, valid = arrays["probs"], arrays["bands"], arrays["valid"]
    run = crf_tile if mode == "untiled" else dense_crf_tiled
    cpu: list[float] = []

    def timed() -> np.ndarray:
        start = time.process_time()
        classes = run(probs, bands, valid, SETTINGS)
        cpu.append(time.process_time() - start)
        return classes

    classes = benchmark.pedantic(timed, rounds=1, iterations=1)
    seconds = benchmark.stats.stats.median
    arrays[mode] = classes
    values: dict[str, Any] = {
        "pixels": f"{SIZE}x{SIZE}",
        "bands": bands.shape[0],
        "tile": "-" if mode == "untiled" else f"{SETTINGS.tile_size}+2x{SETTINGS.halo}",
        "seconds": seconds,
        "mp_per_s": SIZE * SIZE / seconds / 1e6,
        "cpu_mp_per_s": SIZE * SIZE / min(cpu) / 1e6,
    }
    if "untiled" in arrays and "tiled" in arrays:
        values["agree_with_untiled"] = float(np.mean(arrays["tiled"][valid] == arrays["untiled"][valid]))
    _record(benchmark, f"throughput_{mode}", **values)
    assert (classes == LABEL_NODATA).sum() == (~valid).sum()


@pytest.mark.parametrize("mode", ["untiled", "tiled"])
def test_crf_peak_memory(benchmark, arrays: dict[str, Any], mode: str) -> None:
    memory = benchmark.pedantic(_child, args=(mode, str(arrays["folder"])), rounds=1, iterations=1)
    _record(benchmark, f"memory_{mode}_arrays", pixels=f"{SIZE}x{SIZE}", **memory)
    assert memory["peak_mb"] >= memory["before_mb"] > 0


@pytest.mark.parametrize("size", RASTER_SIZES)
def test_refine_raster_peak_memory_is_flat(benchmark, rasters: dict[int, dict[str, Any]], size: int) -> None:
    spec = rasters[size]
    moments = json.dumps({"mean": spec["mean"], "std": spec["std"]})
    memory = benchmark.pedantic(_child, args=("refine", str(spec["folder"]), moments), rounds=1, iterations=1)
    _record(benchmark, f"memory_refine_{size}", pixels=f"{size}x{size}", **memory)
    assert memory["peak_mb"] >= memory["before_mb"] > 0


def _child(*args: str) -> dict[str, Any]:
    """Run this file's ``__main__`` with ``args`` in a fresh process; its last stdout line is JSON."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- subprocess side of the memory measurement --------------------------------------------------------------


def _memory_mb() -> dict[str, float]:
    """The ``Vm*`` sizes of this process in MB, e.g. ``VmRSS`` (now) and ``VmHWM`` (peak), from ``/proc``."""
    status = Path("/proc/self/status").read_text()
    return {name: int(kb) / 1024 for name, kb in re.findall(r"^(Vm\w+):\s+(\d+) kB", status, re.MULTILINE)}


def _measure(mode: str, folder: str, moments: str | None = None) -> dict[str, Any]:
    """Peak memory of one CRF case in this (fresh) process; see the module docstring."""
    if mode == "refine":
        stats = json.loads(moments or "{}")
        paths = Path(folder) / "probs.tif", Path(folder) / "scene.tif", Path(folder) / "classes.tif"

        def work() -> None:
            refine_raster(paths[0], paths[1], stats["mean"], stats["std"], paths[2], SETTINGS)
    else:
        probs, bands, valid = (np.load(Path(folder) / f"{name}.npy") for name in ("probs", "bands", "valid"))
        run = crf_tile if mode == "untiled" else dense_crf_tiled

        def work() -> None:
            run(probs, bands, valid, SETTINGS)

    before = _memory_mb()["VmRSS"]
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:  # then VmHWM is the lifetime peak, an upper bound; say so
        reset = False
    work()
    peak = _memory_mb()["VmHWM"]
    return {
        "before_mb": round(before, 1),
        "peak_mb": round(peak, 1),
        "extra_mb": round(peak - before, 1),
        "hwm_reset": reset,
    }


if __name__ == "__main__":
    print(json.dumps(_measure(*sys.argv[1:])))
