"""Compute cost of the Storm-Graph Transformer on CPU (run: ``pytest tests/benchmarks/test_nowcast_speed.py
--benchmark-only``).

* training throughput: samples/s of one forward + loss + backward + AdamW step (grad clipping as the
  training core does it), at the input size, SGT parameters and batch size of ``config/config.yaml``
  ("default": 64 x 64 grid, 13 -> 12 frames, batch 16) and of ``config/full.yaml`` ("full": 384 x 384,
  12 -> 6, batch capped at :data:`FULL_BATCH` so it runs on a laptop CPU);
* peak memory of those training steps. Torch allocates outside Python's allocator, so ``tracemalloc``
  sees nothing, and ``ru_maxrss`` of the test process is the peak of everything it ever did. Each
  configuration is therefore measured in a fresh subprocess: it loads the batch and builds the model and
  optimizer, records its resident set (``VmRSS``), resets the kernel's high-water mark
  (``/proc/self/clear_refs``), runs :data:`MEMORY_STEPS` training steps and reads the high-water mark
  (``VmHWM``) again. ``train_peak_mb`` is what the OS (and a scheduler's ``mem_mb``) sees for the whole
  training process; ``step_extra_mb`` is the part the training steps add (activations, gradients, optimizer
  state, allocator slack) on top of the loaded model and batch;
* inference time per forecast (one sample, default input size) of the SGT against the optical-flow and
  persistence baselines, through the same predictor wrappers whose time ``write_forecasts`` records.

Inputs are real cache samples of synthetic SEVIR storm events (all storms, no missing modality), so the
storm-cell detector and graph see realistic cell counts. Everything runs on :data:`THREADS` thread(s): the
baselines are single-threaded, and the numbers stay comparable on a shared machine. The load average at
the start of each test is stored with its numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from atmo.nowcast.cache import CacheConfig, build_cache
from atmo.nowcast.dataset import NowcastDataset
from atmo.nowcast.forecast import baseline_predictor, model_predictor
from atmo.nowcast.losses import NowcastLoss
from atmo.nowcast.models import NowcastModel, build_model
from atmo.nowcast.sevir_files import data_file_names, read_catalog, write_catalog
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, synthetic_catalog, write_synthetic_file
from atmo.train import TrainConfig, build_optimizer

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
THREADS = 1
FULL_BATCH = 2
MEMORY_STEPS = 3
Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Setup:
    """Input size, SGT parameters and batch size of one config tier's nowcast block."""

    name: str
    cache: CacheConfig
    sgt_params: dict[str, Any]
    batch_size: int
    train: TrainConfig

    @classmethod
    def from_config(cls, name: str, file: str, max_batch: int | None = None) -> Setup:
        block = yaml.safe_load((CONFIG_DIR / file).read_text())["nowcast"]
        cache = block["cache"]
        train = TrainConfig.from_dict(block["train"], where="nowcast.train")
        batch = train.batch_size if max_batch is None else min(train.batch_size, max_batch)
        return cls(
            name,
            CacheConfig(**{key: cache[key] for key in ("grid_size", "frames_in", "frames_out", "stride")}),
            dict(block["models"]["sgt"]["params"]),
            batch,
            train,
        )

    def build_sgt(self) -> NowcastModel:
        torch.manual_seed(0)
        return build_model("sgt", frames_in=self.cache.frames_in, frames_out=self.cache.frames_out, **self.sgt_params)


SETUPS = {
    "default": Setup.from_config("default", "config.yaml"),
    "full": Setup.from_config("full", "full.yaml", max_batch=FULL_BATCH),
}
RESULTS: dict[str, dict[str, Any]] = {}


def storm_batch(setup: Setup, root: Path) -> Batch:
    """``batch_size`` samples of a cache built like ``setup``'s from synthetic all-storm events.

    The events are 2 km per grid cell like the default tier's cache (image = 2 x grid, at most SEVIR's 384 km).
    """
    cfg = setup.cache
    per_event = len(range(0, 49 - cfg.frames_in - cfg.frames_out + 1, cfg.stride))
    synth = SyntheticSevirConfig(
        n_events=-(-setup.batch_size // per_event),
        image_size=min(2 * cfg.grid_size, 384),
        storm_fraction=1.0,
        missing_fraction=0.0,
        seed=1,
    )
    catalog = synthetic_catalog(synth)
    write_catalog(root / "CATALOG.csv", catalog)
    for name in data_file_names(catalog):
        write_synthetic_file(catalog, name, root / "data" / name, synth)
    catalog = read_catalog(root / "CATALOG.csv")
    build_cache(catalog, list(catalog["id"].unique()), root / "data", root / "cache.h5", cfg)
    dataset = NowcastDataset(root / "cache.h5")
    return torch.utils.data.default_collate([dataset[i] for i in range(setup.batch_size)])


def training_step(setup: Setup, model: NowcastModel) -> Callable[[Batch], float]:
    """One optimisation step as :class:`atmo.train.Trainer` runs it with the nowcast loss (CPU, no AMP)."""
    optimizer = build_optimizer(model, setup.train)
    criterion = NowcastLoss()
    model.train()

    def step(batch: Batch) -> float:
        optimizer.zero_grad(set_to_none=True)
        forecast = model.forecast(batch["x"], batch["present"], batch["motion"])
        loss, _ = criterion(forecast.vil, batch["y"], forecast.physics)
        loss.backward()
        if setup.train.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), setup.train.grad_clip)
        optimizer.step()
        return loss.item()

    return step


@pytest.fixture(scope="module", autouse=True)
def _threads_and_table(request: pytest.FixtureRequest) -> Iterator[None]:
    """Pin the thread count; at the end print the collected numbers as a table (bypassing capture)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(threads)
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is not None and capture is not None and RESULTS:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in results_table(RESULTS):
                reporter.write_line(line)


def results_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """One small table per kind of case (``train_*``, ``memory_*``, ``infer_*``), columns in recorded order."""
    lines = []
    for kind in dict.fromkeys(case.split("_")[0] for case in results):
        rows = {case: row for case, row in results.items() if case.split("_")[0] == kind}
        columns = list(dict.fromkeys(key for row in rows.values() for key in row))
        widths = [max(len(c), *(len(_cell(row.get(c))) for row in rows.values())) for c in columns]
        first = max(len(case) for case in rows)
        lines.append(f"{'':<{first}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
        for case, row in rows.items():
            cells = (f"{_cell(row.get(c)):>{w}}" for c, w in zip(columns, widths, strict=True))
            lines.append(f"{case:<{first}}  " + "  ".join(cells))
        lines.append("")
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Batch]:
    """``batches(name)``: the batch of setup ``name``, built on first use (the full one takes ~10 s)."""
    made: dict[str, Batch] = {}

    def get(name: str) -> Batch:
        if name not in made:
            made[name] = storm_batch(SETUPS[name], tmp_path_factory.mktemp(f"nowcast_{name}"))
        return made[name]

    return get


def _record(benchmark, case: str, **values: Any) -> None:
    values = {**values, "threads": THREADS, "load_avg_1min": round(os.getloadavg()[0], 2)}
    benchmark.extra_info.update(values)
    RESULTS[case] = values


@pytest.mark.parametrize("name", ["default", "full"])
def test_sgt_training_throughput(benchmark, batches: Callable[[str], Batch], name: str) -> None:
    setup, batch = SETUPS[name], batches(name)
    model = setup.build_sgt()
    step = training_step(setup, model)
    rounds = 5 if name == "default" else 3
    loss = benchmark.pedantic(step, args=(batch,), rounds=rounds, iterations=1, warmup_rounds=1)
    seconds = benchmark.stats.stats.median
    _record(
        benchmark,
        f"train_{name}",
        grid=setup.cache.grid_size,
        frames=f"{setup.cache.frames_in}->{setup.cache.frames_out}",
        batch=setup.batch_size,
        parameters=sum(p.numel() for p in model.parameters()),
        s_per_step=seconds,
        samples_per_s=setup.batch_size / seconds,
    )
    assert torch.isfinite(torch.tensor(loss))


@pytest.mark.parametrize("name", ["default", "full"])
def test_sgt_training_peak_memory(
    benchmark, batches: Callable[[str], Batch], name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    batch_path = tmp_path_factory.mktemp("memory") / f"{name}.pt"
    torch.save(batches(name), batch_path)
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}

    def measure() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, __file__, name, str(batch_path)], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    memory = benchmark.pedantic(measure, rounds=1, iterations=1)
    _record(benchmark, f"memory_{name}", batch=SETUPS[name].batch_size, **memory)
    assert memory["train_peak_mb"] >= memory["before_steps_mb"] > 0


@pytest.mark.parametrize("forecaster", ["sgt", "optical_flow", "persistence"])
def test_inference_time_per_forecast(benchmark, batches: Callable[[str], Batch], forecaster: str) -> None:
    setup = SETUPS["default"]
    sample = {key: value[:1] for key, value in batches("default").items()}
    if forecaster == "sgt":
        predict = model_predictor(setup.build_sgt())
    else:
        predict = baseline_predictor(forecaster, setup.cache.frames_out)
    forecast = benchmark.pedantic(
        predict, args=(sample["x"], sample["present"], sample["motion"]), rounds=10, iterations=1, warmup_rounds=1
    )
    _record(
        benchmark,
        f"infer_{forecaster}",
        grid=setup.cache.grid_size,
        frames=f"{setup.cache.frames_in}->{setup.cache.frames_out}",
        ms_per_forecast=1000 * benchmark.stats.stats.median,
    )
    assert forecast.shape == (1, setup.cache.frames_out, setup.cache.grid_size, setup.cache.grid_size)


# -- subprocess side of the memory measurement --------------------------------------------------------------


def _status_mb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in MB (Linux ``/proc/self/status``)."""
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) / 1024


def _measure_training_memory(name: str, batch_path: str) -> dict[str, Any]:
    torch.set_num_threads(THREADS)
    setup = SETUPS[name]
    batch = torch.load(batch_path, weights_only=True)
    model = setup.build_sgt()
    step = training_step(setup, model)
    before = _status_mb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:  # then VmHWM is the lifetime peak, an upper bound; say so
        reset = False
    for _ in range(MEMORY_STEPS):
        step(batch)
    peak = _status_mb("VmHWM")
    return {
        "before_steps_mb": round(before, 1),
        "train_peak_mb": round(peak, 1),
        "step_extra_mb": round(peak - before, 1),
        "hwm_reset": reset,
    }


if __name__ == "__main__":
    print(json.dumps(_measure_training_memory(sys.argv[1], sys.argv[2])))
