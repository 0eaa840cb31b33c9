"""Throughput of riskseg whole-scene inference on CPU (run: ``pytest tests/benchmarks/test_riskseg_inference_speed.py
--benchmark-only``).

:func:`atmo.riskseg.inference.predict_probabilities` end to end (windowed GeoTIFF reads, normalisation,
blended sliding windows, the compressed probability GeoTIFF with overviews) on a 1024 x 1024 scene of 5
float32 bands, with a small segmentation-models-pytorch U-Net (ResNet-18 encoder, random weights: speed
does not depend on them) and the default ``riskseg.inference`` settings (64-px windows, 16-px overlap,
spline blend, batch 16), TTA on and off. Reported in megapixels of scene per second; with 64/16 windows
every scene pixel is predicted about 1.8 times, and TTA multiplies the model's work by 8.

Everything runs on :data:`THREADS` thread(s), so the numbers stay comparable on a shared machine; the
load average at the start of each test is stored with its numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import segmentation_models_pytorch as smp
import torch
from rasterio.transform import from_origin

from atmo.io.geotiff import write_geotiff
from atmo.riskseg import SCENE_NODATA
from atmo.riskseg.inference import InferenceSettings, predict_probabilities

THREADS = 1
SIZE = 1024
N_BANDS = 5
RESULTS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module", autouse=True)
def _threads_and_table(request: pytest.FixtureRequest) -> Iterator[None]:
    """Pin the thread count; at the end print the collected numbers (bypassing capture)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(threads)
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is not None and capture is not None and RESULTS:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for case, row in RESULTS.items():
                reporter.write_line(f"{case:<16} " + "  ".join(f"{key}={value}" for key, value in row.items()))


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1024 x 1024 x 5 float32 scene on a UTM grid with a nodata border, like the standard form."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(N_BANDS, SIZE, SIZE)).astype(np.float32)
    data[:, :8], data[:, :, :8] = SCENE_NODATA, SCENE_NODATA
    path = tmp_path_factory.mktemp("riskseg_speed") / "scene.tif"
    transform = from_origin(400_000.0, 4_500_000.0, 30.0, 30.0)
    return write_geotiff(path, data, crs="EPSG:32633", transform=transform, nodata=SCENE_NODATA)


@pytest.mark.parametrize("tta", [False, True], ids=["tta_off", "tta_on"])
def test_sliding_window_throughput(benchmark, scene: Path, tmp_path: Path, tta: bool) -> None:
    torch.manual_seed(0)
    model = smp.Unet(encoder_name="resnet18", encoder_weights=None, in_channels=N_BANDS, classes=3)
    settings = replace(InferenceSettings(), tta=tta)
    mean, std = np.zeros(N_BANDS), np.ones(N_BANDS)

    def run() -> dict[str, Any]:
        return predict_probabilities(model, scene, mean, std, tmp_path / "probs.tif", settings)

    summary = benchmark.pedantic(run, rounds=1 if tta else 2, iterations=1)
    seconds = benchmark.stats.stats.median
    values = {
        "scene_px": f"{SIZE}x{SIZE}",
        "window": settings.window,
        "overlap": settings.overlap,
        "s_per_scene": round(seconds, 2),
        "megapixels_per_s": round(SIZE * SIZE / 1e6 / seconds, 4),
        "threads": THREADS,
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    benchmark.extra_info.update(values)
    RESULTS[f"infer_{'tta' if tta else 'plain'}"] = values
    assert summary["n_valid_pixels"] == (SIZE - 8) ** 2
