"""Trainer: early stopping, schedulers, clipping, checkpoint files, history and metrics content."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from train_toys import NoisyRegression, loss_step, make_trainer, tiny_net, val_step

from atmo.errors import InputError
from atmo.train import load_checkpoint, to_device


def constant_val_step(model, batch, device) -> dict[str, Any]:
    """``val_step`` plus a metric that never improves after epoch 1."""
    return {**val_step(model, batch, device), "const": 1.0}


def test_early_stopping_after_patience_epochs_without_improvement(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(
        tmp_path, epochs=10, patience=2, monitor="val_const", val_step=constant_val_step
    )
    summary = trainer.fit(train, val)
    assert summary["epochs_run"] == 3 and summary["stopped_early"]
    assert summary["best_epoch"] == 1 and summary["best_value"] == 1.0
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1
    assert len(pd.read_csv(tmp_path / "history.csv")) == 3


def test_no_early_stop_while_improving_or_without_patience(tmp_path: Path) -> None:
    improving, train, val, _ = make_trainer(tmp_path / "a", epochs=5, patience=2, lr=0.05)
    summary = improving.fit(train, val)
    assert summary["epochs_run"] == 5 and not summary["stopped_early"]
    history = pd.read_csv(tmp_path / "a" / "history.csv")
    assert summary["best_epoch"] == int(history.loc[history["val_loss"].idxmin(), "epoch"])

    patient, train, val, _ = make_trainer(tmp_path / "b", epochs=4, monitor="val_const", val_step=constant_val_step)
    assert patient.fit(train, val)["epochs_run"] == 4


def test_cosine_scheduler_anneals_over_epochs(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, epochs=4, lr=0.1, scheduler="cosine")
    trainer.fit(train, val)
    lrs = pd.read_csv(tmp_path / "history.csv")["lr"].tolist()
    expected = [0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert lrs == pytest.approx(expected, rel=1e-9)


def test_plateau_scheduler_cuts_lr_when_monitor_stalls(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(
        tmp_path,
        epochs=4,
        lr=0.1,
        scheduler="plateau",
        plateau_patience=0,
        plateau_factor=0.5,
        monitor="val_const",
        val_step=constant_val_step,
    )
    trainer.fit(train, val)
    assert pd.read_csv(tmp_path / "history.csv")["lr"].tolist() == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_no_scheduler_keeps_lr(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, epochs=3, lr=0.02, scheduler="none")
    trainer.fit(train, val)
    assert pd.read_csv(tmp_path / "history.csv")["lr"].tolist() == [0.02] * 3


class NormRecordingSGD(torch.optim.SGD):
    """SGD that records the global gradient norm it is asked to apply."""

    def __init__(self, params) -> None:
        super().__init__(params, lr=0.01)
        self.norms: list[float] = []

    def step(self, closure=None):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        return super().step(closure)


def big_loss_step(model, batch, device) -> torch.Tensor:
    """Targets scaled by 100, so raw gradient norms are far above the clip threshold."""
    batch = to_device(batch, device)
    return F.mse_loss(model(batch["x"]).squeeze(-1), 100 * batch["y"])


@pytest.mark.parametrize("grad_clip", [0.5, None])
def test_grad_clip_bounds_the_applied_norm(tmp_path: Path, grad_clip: float | None) -> None:
    trainer, train, val, _ = make_trainer(
        tmp_path, epochs=1, grad_clip=grad_clip, optimizer=NormRecordingSGD, loss_step=big_loss_step
    )
    trainer.fit(train, val)
    norms = trainer.optimizer.norms
    assert len(norms) == 6
    if grad_clip is None:
        assert max(norms) > 10
    else:
        assert max(norms) <= grad_clip * (1 + 1e-5)


def test_checkpoint_every_n_epochs_gives_exactly_those_files(tmp_path: Path) -> None:
    trainer, train, val, config = make_trainer(tmp_path, epochs=7, checkpoint_every=3, meta={"hidden": 16})
    trainer.fit(train, val)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pt",
        "checkpoints",
        "fingerprint.json",
        "history.csv",
        "last.pt",
        "metrics.json",
    ]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch_0003.pt", "epoch_0006.pt"]
    raw = torch.load(tmp_path / "checkpoints" / "epoch_0003.pt", weights_only=True)
    assert raw["epoch"] == 3 and raw["metrics"]["epoch"] == 3
    assert raw["config"] == config.to_dict() and raw["meta"] == {"hidden": 16}
    assert "state" in raw  # the resume state too: the fallback when last.pt is damaged
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["epoch"] == 7 and last["state"]["finished"]
    assert not torch.equal(raw["model"]["0.weight"], last["model"]["0.weight"])


@pytest.mark.parametrize(
    ("keep", "keep_epochs", "expected"),
    [
        (2, (), [1, 5, 6]),  # the newest two and the best epoch (1: val_const never improves)
        (2, (3,), [1, 3, 5, 6]),  # and an epoch a module samples later
        (1, (), [1, 6]),
        (None, (), [1, 2, 3, 4, 5, 6]),  # null keeps every one
    ],
)
def test_only_the_newest_best_and_sampled_checkpoints_are_kept(
    tmp_path: Path, keep: int | None, keep_epochs: tuple[int, ...], expected: list[int]
) -> None:
    trainer, train, val, _ = make_trainer(
        tmp_path,
        epochs=6,
        monitor="val_const",
        val_step=constant_val_step,
        keep_checkpoints=keep,
        keep_epochs=keep_epochs,
    )
    trainer.fit(train, val)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [f"epoch_{e:04d}.pt" for e in expected]
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1


def test_history_and_metrics_content(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, epochs=5, lr=0.05)
    summary = trainer.fit(train, val)
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "val_mae", "lr", "seconds"]
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0] / 2
    assert (history["seconds"] >= 0).all()

    # The logged validation numbers are those of the saved weights on the validation set.
    model = tiny_net().eval()
    load_checkpoint(tmp_path / "last.pt", model)
    data = NoisyRegression(64, seed=2, jitter=0.0)
    with torch.no_grad():
        pred = model(torch.from_numpy(data.x)).squeeze(-1)
    target = torch.from_numpy(data.y)
    assert history["val_loss"].iloc[-1] == pytest.approx(float(F.mse_loss(pred, target)), rel=1e-5)
    assert history["val_mae"].iloc[-1] == pytest.approx(float((pred - target).abs().mean()), rel=1e-5)

    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk == summary
    best = history.loc[history["val_loss"].idxmin()]
    assert summary["best_epoch"] == best["epoch"] and summary["best_value"] == pytest.approx(best["val_loss"])
    assert summary["best_val_mae"] == pytest.approx(best["val_mae"])
    assert summary["final_val_loss"] == pytest.approx(history["val_loss"].iloc[-1])
    assert summary["epochs_run"] == 5 and summary["device"] == "cpu" and not summary["stopped_early"]


def test_loss_extras_are_logged_and_default_validation_uses_loss_step(tmp_path: Path) -> None:
    def with_extras(model, batch, device):
        loss = loss_step(model, batch, device)
        return loss, {"rmse": loss.detach().sqrt()}

    trainer, train, val, _ = make_trainer(tmp_path, epochs=2, loss_step=with_extras, val_step=None)
    trainer.fit(train, val)
    columns = pd.read_csv(tmp_path / "history.csv").columns.tolist()
    assert columns == ["epoch", "train_loss", "train_rmse", "val_loss", "val_rmse", "lr", "seconds"]


def test_rerunning_a_finished_run_trains_nothing(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, epochs=2)
    first = trainer.fit(train, val)
    before = load_checkpoint(tmp_path / "last.pt")["model"]
    again, train, val, _ = make_trainer(tmp_path, epochs=2, progress=True)  # progress may differ
    assert again.fit(train, val) == first
    after = load_checkpoint(tmp_path / "last.pt")["model"]
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_unknown_monitor_is_an_input_error(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, monitor="val_csi")
    with pytest.raises(InputError, match=r"train.monitor: metric 'val_csi' is not produced; available: \["):
        trainer.fit(train, val)
    trainer, train, _, _ = make_trainer(tmp_path / "b")
    with pytest.raises(InputError, match="no validation loader"):
        trainer.fit(train, None)
    assert not (tmp_path / "b").exists()


def test_training_without_validation_monitors_train_loss(tmp_path: Path) -> None:
    trainer, train, _, _ = make_trainer(tmp_path, epochs=2, monitor="train_loss")
    summary = trainer.fit(train)
    assert summary["best_epoch"] in (1, 2) and "final_train_loss" in summary


def test_zero_epochs_exports_the_initial_weights_validated_once(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, epochs=0)
    initial = {name: value.clone() for name, value in trainer.model.state_dict().items()}
    summary = trainer.fit(train, val)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == 0 and summary["best_epoch"] == 0 and summary["epochs_run"] == 0
    assert all(torch.equal(best["model"][name], value) for name, value in initial.items())
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["epoch"].tolist() == [0] and "train_loss" not in history.columns

    model = tiny_net().eval()
    load_checkpoint(tmp_path / "best.pt", model)
    data = NoisyRegression(64, seed=2, jitter=0.0)
    with torch.no_grad():
        pred = model(torch.from_numpy(data.x)).squeeze(-1)
    assert history["val_loss"].iloc[0] == pytest.approx(float(F.mse_loss(pred, torch.from_numpy(data.y))), rel=1e-5)
