"""Device choice, AMP gating, seeding, RNG snapshots and seeded loaders."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from train_toys import NoisyRegression, make_trainer

from atmo.errors import InputError
from atmo.train import (
    TrainConfig,
    amp_enabled,
    make_loader,
    reseed_loader,
    resolve_device,
    restore_rng_state,
    rng_state,
    seed_everything,
    to_device,
    visible_gpu_count,
)

NO_ACCELERATOR = not torch.cuda.is_available() and not torch.backends.mps.is_available()


@pytest.mark.skipif(not NO_ACCELERATOR, reason="this machine has an accelerator, so auto does not pick the CPU")
def test_auto_resolves_to_cpu_without_accelerator() -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert visible_gpu_count() == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_or_unknown_device_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"train.device: device 'cuda' requested but not available"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_amp_only_on_cuda(tmp_path: Path) -> None:
    assert amp_enabled(True, torch.device("cuda"))
    assert not amp_enabled(True, torch.device("cpu"))
    assert not amp_enabled(True, torch.device("mps"))
    assert not amp_enabled(False, torch.device("cuda"))
    trainer, *_ = make_trainer(tmp_path, device="cpu", amp=True)
    assert not trainer.amp and not trainer.scaler.is_enabled()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_amp_trains_on_cuda(tmp_path: Path) -> None:
    assert visible_gpu_count() >= 1
    trainer, train_loader, val_loader, _ = make_trainer(tmp_path, device="auto", amp=True, epochs=2)
    assert trainer.device.type == "cuda" and trainer.amp and trainer.scaler.is_enabled()
    summary = trainer.fit(train_loader, val_loader)
    assert summary["device"] == "cuda"
    assert summary["final_val_loss"] < summary["final_train_loss"] * 10


def test_to_device_walks_containers() -> None:
    batch = {"x": torch.ones(2), "pair": (torch.zeros(1), [torch.ones(1)]), "name": "a"}
    moved = to_device(batch, torch.device("cpu"))
    assert moved["name"] == "a" and isinstance(moved["pair"], tuple) and torch.equal(moved["pair"][1][0], torch.ones(1))


def test_seed_everything_repeats_all_generators() -> None:
    draws = []
    for _ in range(2):
        seed_everything(7, deterministic=True)
        draws.append((torch.rand(3), np.random.rand(3), random.random()))
    assert torch.equal(draws[0][0], draws[1][0])
    np.testing.assert_array_equal(draws[0][1], draws[1][1])
    assert draws[0][2] == draws[1][2]
    assert torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.benchmark


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path: Path) -> None:
    seed_everything(3)
    np.random.normal()  # leaves a cached Gaussian in NumPy's state
    torch.save({"rng": rng_state()}, tmp_path / "rng.pt")
    expected = (torch.rand(4), np.random.rand(4), np.random.normal(), random.random())
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    got = (torch.rand(4), np.random.rand(4), np.random.normal(), random.random())
    assert torch.equal(expected[0], got[0])
    np.testing.assert_array_equal(expected[1], got[1])
    assert expected[2:] == got[2:]


def order(loader) -> list[float]:
    return [float(v) for batch in loader for v in batch["y"]]


def test_reseeded_loader_order_depends_only_on_seed() -> None:
    config = TrainConfig(batch_size=8, num_workers=0)
    loader = make_loader(NoisyRegression(40, seed=0), config, shuffle=True)
    reseed_loader(loader, 5)
    first = order(loader)
    torch.rand(100)  # global RNG use in between must not matter
    order(loader)
    reseed_loader(loader, 5)
    assert order(loader) == first
    reseed_loader(loader, 6)
    assert order(loader) != first


def test_reseed_works_for_a_plain_dataloader() -> None:
    loader = torch.utils.data.DataLoader(NoisyRegression(40, seed=0), batch_size=8, shuffle=True)
    reseed_loader(loader, 5)
    first = order(loader)
    reseed_loader(loader, 5)
    assert order(loader) == first and loader.worker_init_fn is not None


def test_workers_get_reproducible_numpy_seeds() -> None:
    """With a worker, the NumPy jitter of items repeats for the same loader seed."""
    config = TrainConfig(batch_size=8, num_workers=1)
    loader = make_loader(NoisyRegression(16, seed=0, jitter=1.0), config, shuffle=False)
    xs = []
    for seed in (1, 1, 2):
        reseed_loader(loader, seed)
        xs.append(torch.cat([batch["x"] for batch in loader]))
    assert torch.equal(xs[0], xs[1]) and not torch.equal(xs[0], xs[2])
