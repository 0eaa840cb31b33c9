"""A tiny regression problem shared by the training-core tests and the kill/resume job script.

Linear targets with noise, a two-layer MLP with dropout (so the torch RNG matters) and a dataset
that adds NumPy noise per item (so worker seeding matters). Small enough to train in milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from atmo.train import TrainConfig, Trainer, make_loader, seed_everything, to_device

N_FEATURES = 4


class NoisyRegression(Dataset):
    """``y = x @ w + 0.1 * noise``; items get fresh NumPy jitter on ``x`` (an augmentation)."""

    def __init__(self, n: int, seed: int, jitter: float = 0.01) -> None:
        rng = np.random.default_rng(seed)
        self.x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
        weights = np.array([1.5, -2.0, 0.5, 3.0], dtype=np.float32)
        self.y = (self.x @ weights + 0.1 * rng.normal(size=n)).astype(np.float32)
        self.jitter = jitter

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        x = self.x[i] + self.jitter * np.random.normal(size=N_FEATURES).astype(np.float32)
        return {"x": torch.from_numpy(x), "y": torch.tensor(self.y[i])}


def tiny_net() -> nn.Module:
    return nn.Sequential(nn.Linear(N_FEATURES, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))


def loss_step(model: nn.Module, batch: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
    batch = to_device(batch, device)
    return F.mse_loss(model(batch["x"]).squeeze(-1), batch["y"])


def val_step(model: nn.Module, batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, Any]:
    batch = to_device(batch, device)
    pred = model(batch["x"]).squeeze(-1)
    return {"loss": F.mse_loss(pred, batch["y"]), "mae": (pred - batch["y"]).abs().mean()}


def make_trainer(
    out_dir: Path, *, n_train: int = 192, n_val: int = 64, **overrides: Any
) -> tuple[Trainer, Any, Any, TrainConfig]:
    """Seeded model + trainer + loaders on the CPU; ``overrides`` are train-config keys or Trainer keywords."""
    trainer_kw = {
        key: overrides.pop(key)
        for key in ("optimizer", "val_step", "callbacks", "meta", "loss_step", "inputs", "keep_epochs")
        if key in overrides
    }
    config = TrainConfig.from_dict(
        {"epochs": 4, "batch_size": 32, "lr": 0.01, "device": "cpu", "progress": False, **overrides}
    )
    seed_everything(config.seed, config.deterministic)
    model = tiny_net()
    if callable(trainer_kw.get("optimizer")):
        trainer_kw["optimizer"] = trainer_kw["optimizer"](model.parameters())
    trainer = Trainer(
        model,
        config,
        out_dir,
        loss_step=trainer_kw.pop("loss_step", loss_step),
        val_step=trainer_kw.pop("val_step", val_step),
        **trainer_kw,
    )
    train_loader = make_loader(NoisyRegression(n_train, seed=1), config, shuffle=True)
    val_loader = make_loader(NoisyRegression(n_val, seed=2, jitter=0.0), config, shuffle=False)
    return trainer, train_loader, val_loader, config
