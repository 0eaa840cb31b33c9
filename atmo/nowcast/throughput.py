"""Training throughput of the nowcast models at a config's scale: samples/s, peak memory, epoch time.

What a GPU-time estimate needs, measured instead of guessed: one training step is a forward pass,
the loss, the backward pass, gradient clipping and an AdamW step, exactly as :mod:`atmo.train` does
it, on a batch of the config's input size and batch size. Each model entry is measured in fp32 and,
on CUDA, with mixed precision (``torch.autocast`` + gradient scaling) and optionally after
``torch.compile``. The epoch time is extrapolated to a given number of training samples (SEVIR's
35,718 by default, as in the write-up's estimate of 10-15 minutes per epoch at batch 4).

Inputs are random fields with storm-like cores (about a third of the pixels above VIP 74), so the
SGT's storm-cell detector finds its full ``max_cells``: the worst case for the graph network.

``python -m atmo.nowcast.throughput --config config/full.yaml --device cuda`` prints a markdown
table and writes ``--out`` (JSON); the same code runs on the CPU at a small size in
``tests/benchmarks/test_nowcast_full_throughput.py`` and in a unit test, so it keeps working without a GPU.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from atmo.io.atomic import write_json
from atmo.nowcast.models.base import N_MODALITIES
from atmo.nowcast.training import build_entry
from atmo.settings.workflow import validate_workflow_config
from atmo.train import TrainConfig, build_optimizer

#: Training samples of SEVIR's benchmark split (the write-up's epoch-time estimate).
SEVIR_TRAIN_SAMPLES = 35_718


@dataclass(frozen=True)
class Measurement:
    """One model in one precision: throughput, peak accelerator memory and the epoch it implies."""

    model: str
    device: str
    precision: str
    compiled: bool
    batch_size: int
    parameters: int
    samples_per_s: float
    peak_memory_mb: float | None
    epoch_minutes: float


def storm_batch(batch_size: int, frames_in: int, frames_out: int, grid: int, device: torch.device) -> dict:
    """A training batch ``{x, present, motion, y}`` of random fields with intense cores, on ``device``."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch_size, frames_in, N_MODALITIES, grid, grid, generator=generator)
    x[:, :, 0] *= torch.rand(batch_size, frames_in, grid, grid, generator=generator) > 0.5
    y = torch.rand(batch_size, frames_out, grid, grid, generator=generator)
    present = torch.ones(batch_size, N_MODALITIES, dtype=torch.bool)
    motion = 2 * torch.rand(batch_size, 2, grid, grid, generator=generator) - 1
    return {"x": x.to(device), "present": present.to(device), "motion": motion.to(device), "y": y.to(device)}


def measure(
    name: str,
    spec: dict[str, Any],
    cache: dict[str, Any],
    train: TrainConfig,
    device: torch.device,
    *,
    amp: bool = False,
    compile_model: bool = False,
    steps: int = 5,
    warmup: int = 2,
    train_samples: int = SEVIR_TRAIN_SAMPLES,
) -> Measurement:
    """Time ``steps`` training steps of model entry ``spec`` after ``warmup`` untimed ones."""
    model, criterion = build_entry(spec, cache["frames_in"], cache["frames_out"])
    model = model.to(device).train()
    optimizer = build_optimizer(model, train)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    forecast_fn = torch.compile(model.forecast) if compile_model else model.forecast
    batch = storm_batch(train.batch_size, cache["frames_in"], cache["frames_out"], cache["grid_size"], device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, enabled=amp):
            forecast = forecast_fn(batch["x"], batch["present"], batch["motion"])
            total, _ = criterion(forecast.vil, batch["y"], forecast.physics)
        scaler.scale(total).backward()
        if train.grad_clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
        scaler.step(optimizer)
        scaler.update()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    rate = steps * train.batch_size / seconds
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return Measurement(
        model=name,
        device=str(device),
        precision="amp" if amp else "fp32",
        compiled=compile_model,
        batch_size=train.batch_size,
        parameters=sum(p.numel() for p in model.parameters()),
        samples_per_s=round(rate, 3),
        peak_memory_mb=None if peak is None else round(peak, 1),
        epoch_minutes=round(train_samples / rate / 60, 2),
    )


def markdown(measurements: Sequence[Measurement], train_samples: int) -> str:
    """The table the README quotes: one row per model, precision and compilation."""
    lines = [
        "| model | device | precision | compiled | batch | parameters | samples/s | peak GPU MB "
        f"| epoch of {train_samples} (min) |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in measurements:
        peak = "n/a" if m.peak_memory_mb is None else f"{m.peak_memory_mb:.0f}"
        lines.append(
            f"| {m.model} | {m.device} | {m.precision} | {'yes' if m.compiled else 'no'} | {m.batch_size} "
            f"| {m.parameters:,} | {m.samples_per_s:.2f} | {peak} | {m.epoch_minutes:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> list[Measurement]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/full.yaml", help="workflow config whose nowcast block is measured")
    parser.add_argument("--models", nargs="+", default=["sgt", "unet", "convlstm"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (CUDA)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, help="instead of the config's")
    parser.add_argument("--grid-size", type=int, help="instead of the config's (a smaller CPU run)")
    parser.add_argument("--train-samples", type=int, default=SEVIR_TRAIN_SAMPLES)
    parser.add_argument("--out", type=Path, help="write the measurements here as JSON")
    args = parser.parse_args(argv)

    config_path = Path(args.config)
    config = validate_workflow_config(yaml.safe_load(config_path.read_text()))
    nowcast = config["nowcast"]
    cache = {**nowcast["cache"], **({"grid_size": args.grid_size} if args.grid_size else {})}
    train_block = {**nowcast["train"], **({"batch_size": args.batch_size} if args.batch_size else {})}
    train = TrainConfig.from_dict(train_block, where="nowcast.train")
    device = torch.device(args.device)
    variants = [(False, False)]
    if device.type == "cuda":
        variants += [(True, False)] + ([(False, True), (True, True)] if args.compile else [])
    results = [
        measure(
            name,
            nowcast["models"][name],
            cache,
            train,
            device,
            amp=amp,
            compile_model=compiled,
            steps=args.steps,
            train_samples=args.train_samples,
        )
        for name in args.models
        for amp, compiled in variants
    ]
    print(markdown(results, args.train_samples), end="")
    if args.out is not None:
        write_json(args.out, [asdict(m) for m in results])
    return results


if __name__ == "__main__":
    main()
