"""Training a variant through the shared path: files, every periodic epoch kept, variant checks, parse-time checks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from downscale_helpers import tiny_fields_file

from atmo.downscale.field_files import read_fields, read_split, write_fields
from atmo.downscale.models import ConditionalVAE
from atmo.downscale.sampling import check_sampling_epochs, sampled_checkpoint
from atmo.downscale.training import build_variant_entry, load_variant, train_variant
from atmo.errors import ConfigError, InputError
from atmo.train import check_entries, load_checkpoint

SPEC = {
    "arch": "cvae",
    "params": {"latent_dim": 4, "base_filters": 2, "n_blocks": 2, "inject_blocks": [0], "spatial_channels": 4},
    "loss": {"w_max": 10.0, "tail_boost": 5.0, "beta_kl": 0.01},
}
TRAIN = {"epochs": 2, "batch_size": 8, "device": "cpu", "progress": False, "checkpoint_every": 1, "seed": 0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("train")
    fields = tiny_fields_file(root / "fields.h5")
    out = root / "v3"
    summary = train_variant(
        fields=fields,
        variant="v3",
        spec=SPEC,
        train={**TRAIN, "epochs": 4, "keep_checkpoints": 1},  # the run prunes its own periodic checkpoints to one
        model_path=out / "model.pt",
        epochs_dir=out / "epochs",
    )
    return fields, out, summary


def test_training_writes_the_model_history_metrics_and_every_epochs_weights(trained) -> None:
    _, out, summary = trained
    for name in ("model.pt", "history.csv", "metrics.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "epochs").iterdir()) == [f"epoch{e}.pt" for e in (1, 2, 3, 4)] + ["index.json"]
    pruned = {p.name for p in (out / "run" / "checkpoints").iterdir()}
    assert pruned == {f"epoch_{e:04d}.pt" for e in (4, summary["best_epoch"])}, "keep_checkpoints 1, and the best"
    assert summary["epochs_run"] == 4
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["y_ref_mm"] > 0 and len(metrics["latent_kl_per_dim"]) == 4
    assert 0 <= metrics["latent_active_units_kl"] <= 4 and "latent_active_units_burda" in metrics
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert {"val_loss", "val_tail_mae", "val_kl", "val_active_units", "val_crps", "train_recon"} <= set(header)
    for epoch in (1, 2, 3, 4):
        kept = sampled_checkpoint(out / "epochs", epoch)
        loaded = load_variant(kept, "v3")
        assert loaded.epoch == epoch and isinstance(loaded.model, ConditionalVAE) and not loaded.model.training
        assert loaded.meta["variant"] == "v3" and loaded.meta["params"]["factor"] == 4
        assert "state" not in load_checkpoint(kept), "the weights alone, without the optimizer state"
    last = load_checkpoint(out / "run" / "checkpoints" / "epoch_0004.pt")
    kept = load_variant(out / "epochs" / "epoch4.pt", "v3").model.state_dict()
    assert torch.equal(last["model"]["decoder.head.weight"], kept["decoder.head.weight"])
    assert load_variant(out / "model.pt", "v3").meta["loss"]["y_ref_mm"] == metrics["y_ref_mm"]


def test_a_checkpoint_of_another_variant_is_refused_in_one_line(trained) -> None:
    _, out, _ = trained
    for name in ("model.pt", "epochs/epoch1.pt"):
        with pytest.raises(InputError) as err:
            load_variant(out / name, "v2")
        message = str(err.value)
        assert message.startswith(str(out / name)) and "variant 'v3', not of 'v2'" in message and "\n" not in message


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(InputError, match="not an atmo checkpoint"):
        load_variant(path, "v3")


@pytest.mark.parametrize(
    ("epochs", "words"),
    [
        ([3], ["epoch 3 is never checkpointed", "checkpoint_every = 2"]),
        ([6], ["epoch 6 is never checkpointed", "runs 4 epochs"]),
        ([0], ["expected epochs >= 1"]),
        ([2, 2], ["repeated epoch"]),
    ],
)
def test_sampling_epochs_the_config_cannot_checkpoint(epochs, words) -> None:
    with pytest.raises(ConfigError) as err:
        check_sampling_epochs(epochs, {"epochs": 4, "checkpoint_every": 2})
    message = str(err.value)
    assert "downscale.sampling.epochs" in message and all(w in message for w in words), message
    check_sampling_epochs([2, 4], {"epochs": 4, "checkpoint_every": 2})


def test_an_epoch_after_early_stopping_samples_the_last_epoch_trained_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """lr ~ 0 keeps the (deterministic) validation KL constant: no improvement, so patience 2 stops at epoch 3,
    which is no multiple of checkpoint_every = 2: its weights are kept as the last epoch's."""
    fields = tiny_fields_file(tmp_path / "fields.h5")
    train = {**TRAIN, "epochs": 6, "checkpoint_every": 2, "lr": 1e-30, "weight_decay": 0.0, "monitor": "val_kl"}
    out = tmp_path / "v1"
    summary = train_variant(
        fields=fields,
        variant="v1",
        spec={**SPEC, "params": {**SPEC["params"], "inject_blocks": []}},
        train={**train, "patience": 2},
        model_path=out / "model.pt",
        epochs_dir=out / "epochs",
    )
    assert summary["epochs_run"] == 3 and summary["stopped_early"]
    assert sampled_checkpoint(out / "epochs", 2) == out / "epochs" / "epoch2.pt"
    with caplog.at_level("WARNING", logger="atmo.downscale.sampling"):
        chosen = sampled_checkpoint(out / "epochs", 6)
    assert chosen == out / "epochs" / "epoch3.pt" and load_variant(chosen, "v1").epoch == 3
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith("downscale.sampling.epochs: epoch 6 was never reached: early stopping ended training")
    assert "sampling epoch 3, the last one trained" in message
    with pytest.raises(ConfigError, match=r"key 'downscale\.sampling\.epochs': epoch 1 was never checkpointed"):
        sampled_checkpoint(out / "epochs", 1)


def test_entries_are_checked_at_parse_time_with_the_key_named() -> None:
    def build(entry):
        return build_variant_entry(entry, in_channels=7, coarse_shape=(8, 8), factor=8)

    check_entries("downscale", {"v3": {**SPEC, "params": {**SPEC["params"], "n_blocks": 3}}}, build)
    with pytest.raises(ConfigError, match=r"'downscale\.models\.v3\.params\.n_blocks'.*factor 8"):
        check_entries("downscale", {"v3": SPEC}, build)
    with pytest.raises(ConfigError, match=r"'downscale\.models\.v3\.loss\.w_max'"):
        check_entries("downscale", {"v3": {**SPEC, "loss": {"w_max": 0.5}, "params": {"n_blocks": 3}}}, build)


def test_training_makes_its_choices_without_the_test_days(tmp_path: Path) -> None:
    """The normalisation, the tail reference y_ref, the loss and the best epoch come from the training
    and validation days only: the same file with every test day's fields replaced by garbage trains
    to the same history and the same weights."""
    clean = tiny_fields_file(tmp_path / "clean.h5")
    fields, split = read_fields(clean), read_split(clean)
    test = np.asarray(split.test)
    assert test.size > 0
    garbage = {
        name: np.where(
            np.isin(np.arange(len(fields.time_s)), test)[:, *([None] * (array.ndim - 1))], array * 50 + 7, array
        )
        for name, array in (
            ("precip_hr_mm", fields.precip_hr_mm),
            ("precip_lr_mm", fields.precip_lr_mm),
            ("predictors_lr", fields.predictors_lr),
        )
    }
    poisoned = tmp_path / "poisoned.h5"
    write_fields(poisoned, replace(fields, **garbage), split)
    runs = {}
    for name, path in (("clean", clean), ("poisoned", poisoned)):
        out = tmp_path / name
        train_variant(fields=path, variant="v3", spec=SPEC, train={**TRAIN, "epochs": 3}, model_path=out / "model.pt")
        history = pd.read_csv(out / "history.csv").drop(columns="seconds")
        runs[name] = (history, torch.load(out / "model.pt", weights_only=True)["model"])
    pd.testing.assert_frame_equal(runs["clean"][0], runs["poisoned"][0])
    assert all(torch.equal(runs["clean"][1][k], runs["poisoned"][1][k]) for k in runs["clean"][1])
