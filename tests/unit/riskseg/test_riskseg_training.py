"""A riskseg variant trains through the shared path; its checkpoint loads only as that variant."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from atmo.errors import InputError
from atmo.riskseg.tiles import TilingSettings, build_tiles
from atmo.riskseg.training import load_variant, train_variant

SPEC = {
    "arch": "attention_unet",
    "params": {"encoder": "resnet18", "encoder_depth": 3, "decoder_channels": [8, 8, 8], "dropout": 0.1},
    "loss": {"coral_weight": 0.3},
}
TRAIN = {"epochs": 2, "batch_size": 4, "lr": 0.01, "progress": False}


@pytest.fixture
def tiles(scene_pair, tmp_path: Path) -> Path:
    path = tmp_path / "tiles.h5"
    build_tiles(*scene_pair, path, tmp_path / "summary.json", TilingSettings(tile_size=16), seed=0)
    return path


def test_train_variant_writes_a_model_of_that_variant_and_seed(tiles: Path, tmp_path: Path) -> None:
    model_path = tmp_path / "v25/seed3/model.pt"
    train_variant(
        tiles=tiles, train_tiles=tiles, variant="v25", spec=SPEC, seed=3, train=TRAIN, augment={}, model_path=model_path
    )
    history = (model_path.parent / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,train_loss,train_focal,train_coral,val_loss")
    assert len(history) == 3
    model = load_variant(model_path, "v25")
    assert model.band_names and model.in_channels == 5
    meta = torch.load(model_path, weights_only=True)["meta"]
    assert meta["seed"] == 3 and meta["variant"] == "v25"
    assert meta["augment"]["flips"] is True  # in the fingerprint: an edit of it does not resume this run
    with pytest.raises(InputError, match="variant 'v25', not of 'v2'"):
        load_variant(model_path, "v2")


def test_seeds_give_different_weights(tiles: Path, tmp_path: Path) -> None:
    one = {"epochs": 1, "batch_size": 4, "progress": False}
    paths = []
    for seed in (1, 2):
        path = tmp_path / f"s{seed}/model.pt"
        train_variant(
            tiles=tiles, train_tiles=tiles, variant="v", spec=SPEC, seed=seed, train=one, augment={}, model_path=path
        )
        paths.append(path)
    first, second = (torch.load(p, weights_only=True)["model"] for p in paths)
    assert not torch.equal(first["classifier.weight"], second["classifier.weight"])


def test_training_makes_its_choices_without_the_test_tiles(tiles: Path, tmp_path: Path) -> None:
    """The best epoch (validation loss) and the weights come from the training and validation tiles only:
    the test tiles' covariates and labels replaced by garbage train to the same history and weights."""
    poisoned = tmp_path / "poisoned.h5"
    shutil.copyfile(tiles, poisoned)
    with h5py.File(poisoned, "r+") as handle:
        assert handle["test/label"].shape[0] > 0
        handle["test/image"][...] = handle["test/image"][()] * 9.0 + 3.0
        handle["test/label"][...] = 2 - np.minimum(handle["test/label"][()], 2)
    runs = {}
    for name, path in (("clean", tiles), ("poisoned", poisoned)):
        model_path = tmp_path / name / "model.pt"
        train_variant(
            tiles=path, train_tiles=path, variant="v", spec=SPEC, seed=0, train=TRAIN, augment={}, model_path=model_path
        )
        history = pd.read_csv(model_path.parent / "history.csv").drop(columns="seconds")
        runs[name] = (history, torch.load(model_path, weights_only=True)["model"])
    pd.testing.assert_frame_equal(runs["clean"][0], runs["poisoned"][0])
    assert all(torch.equal(runs["clean"][1][key], runs["poisoned"][1][key]) for key in runs["clean"][1])
