"""``config/full.yaml``'s nowcast models on the CPU, smaller: the GPU measurement script, kept running.

Run: ``pytest tests/benchmarks/test_nowcast_full_throughput.py --benchmark-only``. The script is
``python -m atmo.nowcast.throughput``, which measures the same models on a GPU.

The full models at a 96 x 96 grid (not 384: a CPU step at full size takes minutes), batch 2, three
timed steps each. The measurements are stored in the benchmark's ``extra_info``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from atmo.nowcast.throughput import main

CONFIG = Path(__file__).resolve().parents[2] / "config/full.yaml"


def test_full_models_training_throughput_on_the_cpu(benchmark) -> None:
    args = ["--config", str(CONFIG), "--device", "cpu", "--grid-size", "96", "--batch-size", "2", "--steps", "3"]
    results = benchmark.pedantic(main, args=(args,), rounds=1, iterations=1)
    benchmark.extra_info["measurements"] = [asdict(m) for m in results]
    assert {m.model for m in results} == {"sgt", "unet", "convlstm"}
    assert all(m.samples_per_s > 0 for m in results)
