"""atmo.nowcast.training on real tiny caches: files written, safe loading, resume of a finished run."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import pytest
import torch

from atmo.errors import InputError
from atmo.io.sevir import read_catalog
from atmo.nowcast.cache import CacheConfig, build_cache
from atmo.nowcast.dataset import NowcastDataset
from atmo.nowcast.models import StormGraphTransformer, UNet2D
from atmo.nowcast.training import count_parameters, load_trained_model, train_nowcast_model
from atmo.train import save_checkpoint

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


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """The machine is shared: train on one thread (module scope, so the shared runs use it too)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def caches(pristine_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Train cache of three events (9 samples) and validation cache of one event (3 samples)."""
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    ids = list(catalog.drop_duplicates("id")["id"])
    out = tmp_path_factory.mktemp("nowcast_cache")
    for split, events in {"train": ids[:3], "val": ids[3:4]}.items():
        build_cache(catalog, events, pristine_tree / "data", out / f"{split}.h5", CACHE)
    return {"train": out / "train.h5", "val": out / "val.h5"}


def train(caches: dict[str, Path], spec: dict[str, Any], root: Path) -> dict[str, Any]:
    """Train ``spec`` into ``root/run`` and ``root/model.pt``; return the summary."""
    return train_nowcast_model(caches["train"], caches["val"], spec, TRAIN, root / "run", root / "model.pt")


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
    assert {"last.pt", "best.pt", "history.csv", "metrics.json"} <= {p.name for p in run.iterdir()}
    with (run / "history.csv").open() as handle:
        history = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in history] == [1, 2]
    assert all(float(row["val_mse"]) >= 0 for row in history) and "train_physics" in history[0]
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

    model = load_trained_model(root / "model.pt")
    assert isinstance(model, StormGraphTransformer) and not model.training
    assert count_parameters(model) == summary["n_parameters"] > 0
    item = NowcastDataset(caches["val"])[0]
    with torch.no_grad():
        vil = model(item["x"][None], item["present"][None])
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


def test_changed_spec_refuses_to_resume(sgt_run: tuple[Path, dict[str, Any]], caches: dict[str, Path]) -> None:
    root, _ = sgt_run
    changed = {**SGT, "params": {**SGT["params"], "hidden_dim": 16}}
    with pytest.raises(InputError, match="different run"):
        train_nowcast_model(caches["train"], caches["val"], changed, TRAIN, root / "run", root / "other.pt")
    assert not (root / "other.pt").exists()


def test_unet_spec(caches: dict[str, Path], tmp_path: Path) -> None:
    summary = train(caches, UNET, tmp_path)
    model = load_trained_model(tmp_path / "model.pt")
    assert isinstance(model, UNet2D) and model.depth == 2
    assert summary["n_parameters"] == count_parameters(model)
    assert "final_train_physics" not in summary  # a UNet has no physics terms
    with (tmp_path / "run" / "history.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2


def test_checkpoint_without_architecture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    save_checkpoint(path, torch.nn.Linear(2, 2), {}, epoch=1, metrics={})
    with pytest.raises(InputError, match="not a nowcast model checkpoint"):
        load_trained_model(path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"junk\.pt: not a readable torch checkpoint"):
        load_trained_model(tmp_path / "junk.pt")
