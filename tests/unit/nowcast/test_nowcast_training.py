"""atmo.nowcast.training on real tiny caches: files, safe loading, resuming a finished run, restarting a changed one."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import h5py
import pytest
import torch
from sevir_helpers import build_caches, event_ids, stormiest_event

from atmo.errors import InputError
from atmo.metrics.contingency import SEVIR_THRESHOLDS, ContingencyAccumulator
from atmo.nowcast.cache import CacheConfig
from atmo.nowcast.dataset import NowcastDataset
from atmo.nowcast.models import StormGraphTransformer, UNet2D
from atmo.nowcast.training import ValidationCsi, load_nowcast_model, train_nowcast_model
from atmo.train import count_parameters, load_checkpoint, model_meta, save_checkpoint

# The machine is shared: train on one thread (module scope, so the shared runs use it too).
pytestmark = pytest.mark.usefixtures("one_torch_thread")

CACHE = CacheConfig(grid_size=16, frames_in=12, frames_out=6, stride=12)  # 3 samples per event
SGT = {
    "arch": "sgt",
    "params": {
        "hidden_dim": 8,
        "stem_channels": 4,
        "max_cells": 8,
        "gnn_heads": 1,
        "transformer_layers": 1,
        "transformer_heads": 2,
    },
}
UNET = {"arch": "unet", "params": {"base_channels": 4, "depth": 2}, "loss": {"extreme_weight": 0, "physics_weight": 0}}
TRAIN = {"epochs": 2, "batch_size": 4, "lr": 0.003, "monitor": "val_mse", "device": "cpu", "progress": False}


@pytest.fixture(scope="module")
def caches(pristine_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Train cache of three events (9 samples) and validation cache of one event (3 samples)."""
    ids = event_ids(pristine_tree)
    train = [ids[0], ids[1], ids[3]]
    val = stormiest_event(pristine_tree, [i for i in ids if i not in train], slice(12, 42))  # val_csi_m defined
    events = {"train": train, "val": [val]}
    return build_caches(pristine_tree, tmp_path_factory.mktemp("nowcast_cache"), events, CACHE)


def train(caches: dict[str, Path], spec: dict[str, Any], root: Path) -> dict[str, Any]:
    """Train ``spec`` into ``root/run`` and ``root/model.pt``; return the summary."""
    return train_nowcast_model(caches["train"], caches["val"], spec, TRAIN, root / "model.pt")


@pytest.fixture(scope="module")
def sgt_run(caches: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("sgt_run")
    return root, train(caches, SGT, root)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_sgt_run_writes_a_safely_loadable_model(sgt_run: tuple[Path, dict[str, Any]], caches: dict[str, Path]) -> None:
    root, summary = sgt_run
    run = root / "run"
    assert {"last.pt", "best.pt", "history.csv", "metrics.json", "fingerprint.json"} <= {p.name for p in run.iterdir()}
    assert (root / "history.csv").read_text() == (run / "history.csv").read_text()  # the rule's outputs
    assert (root / "metrics.json").is_file()
    with (run / "history.csv").open() as handle:
        history = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in history] == [1, 2]
    assert all(float(row["val_mse"]) >= 0 for row in history) and "train_physics" in history[0]
    assert all(0 <= float(row["val_csi_m"]) <= 1 for row in history)
    assert summary["epochs_run"] == 2 and summary["monitor"] == "val_mse"

    checkpoint = torch.load(root / "model.pt", map_location="cpu", weights_only=True)
    with h5py.File(caches["train"]) as cache:
        frames = int(cache.attrs["frames_in"]), int(cache.attrs["frames_out"])
    params = checkpoint["meta"]["params"]
    assert (params["frames_in"], params["frames_out"]) == frames == (12, 6)
    assert params["hidden_dim"] == SGT["params"]["hidden_dim"]
    # model.pt holds the best epoch's weights, not necessarily the last ones
    assert checkpoint["epoch"] == summary["best_epoch"]
    assert_same_weights(checkpoint["model"], weights(run / "best.pt"))

    model = load_nowcast_model(root / "model.pt")
    assert isinstance(model, StormGraphTransformer) and not model.training
    assert count_parameters(model) == summary["n_parameters"] > 0
    item = NowcastDataset(caches["val"])[0]
    with torch.no_grad():
        vil = model(item["x"][None], item["present"][None], item["motion"][None])
    assert vil.shape == (1, 6, 16, 16) and torch.isfinite(vil).all()


def test_second_call_resumes_the_finished_run(sgt_run: tuple[Path, dict[str, Any]], caches: dict[str, Path]) -> None:
    root, first = sgt_run
    last, history = root / "run" / "last.pt", (root / "run" / "history.csv").read_text()
    stamp, before = last.stat().st_mtime_ns, weights(root / "model.pt")

    again = train(caches, SGT, root)

    assert last.stat().st_mtime_ns == stamp  # no epoch was run again
    assert (root / "run" / "history.csv").read_text() == history
    assert_same_weights(weights(root / "model.pt"), before)
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in first.items() if k != "seconds"}


def test_fresh_run_is_deterministic(
    sgt_run: tuple[Path, dict[str, Any]], caches: dict[str, Path], tmp_path: Path
) -> None:
    train(caches, SGT, tmp_path)
    assert_same_weights(weights(tmp_path / "model.pt"), weights(sgt_run[0] / "model.pt"))


def test_changed_spec_restarts_from_epoch_1(caches: dict[str, Path], tmp_path: Path) -> None:
    train(caches, SGT, tmp_path)
    changed = {**SGT, "params": {**SGT["params"], "hidden_dim": 16}}
    summary = train(caches, changed, tmp_path)
    assert summary["epochs_run"] == 2
    with (tmp_path / "run" / "history.csv").open() as handle:
        assert [int(row["epoch"]) for row in csv.DictReader(handle)] == [1, 2]
    assert load_checkpoint(tmp_path / "model.pt")["meta"]["params"]["hidden_dim"] == 16
    fresh = tmp_path / "fresh"
    train(caches, changed, fresh)
    assert_same_weights(weights(tmp_path / "model.pt"), weights(fresh / "model.pt"))


def test_changed_augmentation_restarts_from_epoch_1(caches: dict[str, Path], tmp_path: Path) -> None:
    train(caches, SGT, tmp_path)
    train_nowcast_model(caches["train"], caches["val"], SGT, TRAIN, tmp_path / "model.pt", augment={"rot90": False})
    assert load_checkpoint(tmp_path / "model.pt")["meta"]["augment"] == {"flips": True, "rot90": False}
    fresh = tmp_path / "fresh"
    train_nowcast_model(caches["train"], caches["val"], SGT, TRAIN, fresh / "model.pt", augment={"rot90": False})
    assert_same_weights(weights(tmp_path / "model.pt"), weights(fresh / "model.pt"))


def test_monitoring_val_csi_m_without_echo_in_the_validation_truth_stops_before_training(
    caches: dict[str, Path], tmp_path: Path
) -> None:
    calm = caches["train"].parent / "calm_val.h5"  # a validation split whose truth never reaches VIP 16
    with h5py.File(caches["val"]) as source, h5py.File(calm, "w") as out:
        for name in source:
            data = source[name][...]
            out.create_dataset(name, data=data * 0.05 if name in ("x", "y") else data)
        out.attrs.update(source.attrs)
    with pytest.raises(InputError, match=r"never reaches VIP 16.*val_csi_m"):
        train_nowcast_model(caches["train"], calm, SGT, {**TRAIN, "monitor": "val_csi_m"}, tmp_path / "model.pt")
    assert not (tmp_path / "run").exists()


def test_validation_csi_m_sums_counts_over_the_split_and_restarts_each_epoch() -> None:
    generator = torch.Generator().manual_seed(0)
    truth = torch.rand(7, 3, 8, 8, generator=generator)
    forecast = (truth + 0.3 * torch.randn(7, 3, 8, 8, generator=generator)).clamp(0, 1)
    whole = ContingencyAccumulator(SEVIR_THRESHOLDS, 3)
    whole.update(forecast.numpy(), truth.numpy())
    meter = ValidationCsi(frames_out=3)
    for part in (slice(0, 1), slice(1, 7)):  # batches of 1 and 6: a mean of batch CSIs would differ
        meter.update(forecast[part], truth[part])
    assert meter.summary({}) == {"csi_m": pytest.approx(whole.csi_m())}
    meter.update(truth, truth)
    assert meter.summary({}) == {"csi_m": pytest.approx(1.0)}  # the previous epoch's counts are gone


def test_unet_spec(caches: dict[str, Path], tmp_path: Path) -> None:
    summary = train(caches, UNET, tmp_path)
    model = load_nowcast_model(tmp_path / "model.pt")
    assert isinstance(model, UNet2D) and model.depth == 2
    assert summary["n_parameters"] == count_parameters(model)
    assert "final_train_physics" not in summary  # a UNet has no physics terms
    with (tmp_path / "run" / "history.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2


def test_checkpoint_without_architecture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    save_checkpoint(path, torch.nn.Linear(2, 2), {}, epoch=1, metrics={})
    with pytest.raises(InputError, match="not an atmo model file"):
        load_nowcast_model(path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"junk\.pt: not a readable torch checkpoint"):
        load_nowcast_model(tmp_path / "junk.pt")


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (model_meta("cbh", "sgt", {}), "is a cbh model \\(sgt\\), not a nowcast model"),
        (model_meta("nowcast", "gan", {}), "architecture 'gan' is not a nowcast architecture"),
    ],
)
def test_model_of_another_module_or_architecture_is_refused(tmp_path: Path, meta: dict, problem: str) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, torch.nn.Linear(2, 2), {}, epoch=1, metrics={}, meta=meta)
    with pytest.raises(InputError, match=problem):
        load_nowcast_model(path)
