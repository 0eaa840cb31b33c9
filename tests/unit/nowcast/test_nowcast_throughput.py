"""The throughput script runs on the CPU (no GPU needed) and its numbers are consistent."""

from __future__ import annotations

import json
from pathlib import Path

from atmo.nowcast.throughput import main

CONFIG = Path(__file__).resolve().parents[3] / "config/test.yaml"


def test_every_model_is_measured_on_the_cpu_and_the_epoch_estimate_follows_the_rate(tmp_path: Path, capsys) -> None:
    out = tmp_path / "throughput.json"
    args = ["--config", str(CONFIG), "--device", "cpu", "--steps", "1", "--train-samples", "1000", "--out", str(out)]
    results = main([*args, "--models", "sgt", "unet", "convlstm"])
    assert [(m.model, m.precision, m.compiled) for m in results] == [
        ("sgt", "fp32", False),
        ("unet", "fp32", False),
        ("convlstm", "fp32", False),
    ]
    for m in results:
        assert m.samples_per_s > 0 and m.parameters > 0 and m.peak_memory_mb is None  # no GPU memory on a CPU
        assert abs(m.epoch_minutes - 1000 / m.samples_per_s / 60) < 0.01
    assert json.loads(out.read_text())[0]["model"] == "sgt"
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| model | device | precision") and len(table) == 2 + 3
