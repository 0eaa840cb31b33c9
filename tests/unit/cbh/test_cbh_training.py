"""The cbh jobs on a real small cache: strict pretraining, network training + test-flight predictions, baselines.

Held-out data must not leak: the MAE of a fold trains on that fold's training samples only, and the
physical-feature preprocessing of a network job does not change when the test flight's values do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

import atmo.cbh.training as training
from atmo.cbh.cache import build_cache, read_cache_table
from atmo.cbh.folds import ValidationSettings, fold_indices, make_folds, write_fold_table
from atmo.cbh.lofo import CLOSED_FORM, write_baselines, write_gbdt, write_pooled_gbdt
from atmo.cbh.models import CBH_MODELS
from atmo.errors import InputError
from atmo.train import load_model, model_meta, save_checkpoint

VALIDATION = {"method": "fraction", "fraction": 0.25, "seed": 0}
ENCODER = {"view": {"kind": "column", "patch_height": 8}, "params": {"embed_dim": 8, "depth": 1, "heads": 2}}
ENCODER["params"] |= {"decoder_dim": 8, "decoder_heads": 2, "mask_ratio": 0.5}
TRAIN = {"epochs": 1, "batch_size": 8, "device": "cpu", "progress": False, "deterministic": False}
SPEC = {"arch": "concat", "encoder": "column", "params": {"head_hidden": [8], "physical_hidden": 4}}
SPEC["view"] = ENCODER["view"]


@pytest.fixture(scope="module")
def lofo(campaign, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A cache of the session campaign, its fold table and the fold-0 MAE encoder."""
    root = tmp_path_factory.mktemp("cbh_training")
    cache = root / "cache.h5"
    variables = ["t2m", "d2m", "blh"]
    build_cache(
        cache, campaign.names, campaign.flight_paths, campaign.geometry_paths, campaign.era5_path, variables, (16, 24)
    )
    folds = root / "folds.csv"
    write_fold_table(folds, make_folds(read_cache_table(cache), ValidationSettings(**VALIDATION)))
    encoder = root / "mae" / "model.pt"
    training.pretrain_mae(
        cache=cache, folds_path=folds, fold="0", encoder_name="column", encoder=ENCODER, seed=0, train=TRAIN,
        validation=VALIDATION, model_path=encoder,
    )  # fmt: skip
    return {"root": root, "cache": cache, "folds": folds, "encoder": encoder}


def _train(
    lofo: dict[str, Path], out: Path, cache: Path | None = None, encoder: Path | None = None, seed: int = 0
) -> Path:
    training.train_variant(
        cache=cache or lofo["cache"], folds_path=lofo["folds"], fold_id=0, variant="concat", spec=SPEC, seed=seed,
        train=TRAIN, validation=VALIDATION, encoder_path=encoder or lofo["encoder"], model_path=out / "model.pt",
        predictions_path=out / "predictions.csv",
    )  # fmt: skip
    return out


def test_strict_pretraining_sees_only_the_folds_training_samples(lofo, monkeypatch, tmp_path: Path) -> None:
    seen: list[np.ndarray] = []
    original = training.MaeDataset

    def recording(path, indices, view):
        seen.append(np.asarray(indices))
        return original(path, indices, view)

    monkeypatch.setattr(training, "MaeDataset", recording)
    training.pretrain_mae(
        cache=lofo["cache"], folds_path=lofo["folds"], fold="1", encoder_name="column", encoder=ENCODER,
        seed=0, train=TRAIN, validation=VALIDATION, model_path=tmp_path / "model.pt",
    )  # fmt: skip
    table = read_cache_table(lofo["cache"])
    test_samples = np.flatnonzero(table.flight_index == 1)
    assert len(seen) == 2 and not np.intersect1d(np.concatenate(seen), test_samples).size
    meta = torch.load(tmp_path / "model.pt", weights_only=True)["meta"]
    assert meta["module"] == "cbh" and meta["arch"] == "mae" and meta["pretraining_fold"] == "1"


def test_pretraining_trains_on_the_unlabelled_frames_and_counts_them(lofo, monkeypatch, tmp_path: Path) -> None:
    cache = tmp_path / "cache.h5"
    shutil.copyfile(lofo["cache"], cache)
    table = read_cache_table(cache)
    unlabelled = np.flatnonzero(table.flight_index == 1)[-3:]
    with h5py.File(cache, "r+") as handle:
        handle["cbh_km"][unlabelled] = np.nan
    folds = tmp_path / "folds.csv"
    write_fold_table(folds, make_folds(read_cache_table(cache), ValidationSettings(**VALIDATION)))
    seen: list[np.ndarray] = []
    original = training.MaeDataset
    monkeypatch.setattr(training, "MaeDataset", lambda p, i, v: seen.append(np.asarray(i)) or original(p, i, v))
    training.pretrain_mae(
        cache=cache, folds_path=folds, fold="0", encoder_name="column", encoder=ENCODER, seed=0, train=TRAIN,
        validation=VALIDATION, model_path=tmp_path / "mae" / "model.pt",
    )  # fmt: skip
    assert set(unlabelled) <= set(seen[0])
    metrics = json.loads((tmp_path / "mae" / "metrics.json").read_text())
    without_label = int(np.isnan(read_cache_table(cache).cbh_km[seen[0]]).sum())
    assert metrics["n_train_unlabelled"] == without_label >= 3 and metrics["n_train_samples"] == len(seen[0])
    assert metrics["n_val_samples"] == len(seen[1])


def test_transductive_pretraining_sees_every_flight(lofo, monkeypatch, tmp_path: Path) -> None:
    seen: list[np.ndarray] = []
    original = training.MaeDataset
    monkeypatch.setattr(training, "MaeDataset", lambda p, i, v: seen.append(np.asarray(i)) or original(p, i, v))
    training.pretrain_mae(
        cache=lofo["cache"], folds_path=lofo["folds"], fold="all", encoder_name="column", encoder=ENCODER,
        seed=0, train=TRAIN, validation=VALIDATION, model_path=tmp_path / "model.pt",
    )  # fmt: skip
    flights = read_cache_table(lofo["cache"]).flight_index
    assert set(flights[np.concatenate(seen)]) == set(range(len(set(flights))))


def test_wp4_job_predicts_exactly_the_test_flight(lofo, tmp_path: Path) -> None:
    out = _train(lofo, tmp_path)
    predictions = pd.read_csv(out / "predictions.csv")
    table = read_cache_table(lofo["cache"])
    test = (table.flight_index == 0) & np.isfinite(table.cbh_km)  # its labelled frames
    assert predictions["sample"].tolist() == np.flatnonzero(test).tolist()
    assert set(predictions["flight"]) == {table.flights[0]} and np.isfinite(predictions["pred_km"]).all()
    assert {"history.csv", "metrics.json"} <= {p.name for p in out.iterdir()}


def test_the_jobs_seed_replaces_train_seed(lofo, tmp_path: Path) -> None:
    runs = {seed: _train(lofo, tmp_path / f"seed{seed}", seed=seed) for seed in (0, 1)}
    checkpoints = {seed: torch.load(out / "model.pt", weights_only=True) for seed, out in runs.items()}
    assert {seed: checkpoint["meta"]["seed"] for seed, checkpoint in checkpoints.items()} == {0: 0, 1: 1}
    predictions = {seed: pd.read_csv(out / "predictions.csv")["pred_km"] for seed, out in runs.items()}
    assert not np.allclose(predictions[0], predictions[1])  # other initial weights, other batches
    again = pd.read_csv(_train(lofo, tmp_path / "again", seed=1) / "predictions.csv")["pred_km"]
    assert np.array_equal(again, predictions[1])


def test_changing_the_test_flights_data_changes_nothing_in_training(lofo, tmp_path: Path) -> None:
    """The preprocessing, the best epoch and the weights come from the training flights only: the test
    flight's ERA5 features, labels and images replaced by garbage train to the same history and weights."""
    altered = tmp_path / "altered.h5"
    shutil.copyfile(lofo["cache"], altered)
    with h5py.File(altered, "r+") as handle:
        test = handle["flight_index"][()] == 0
        for name, garbage in (("era5", lambda x: x * 3.0 + 100.0), ("cbh_km", lambda x: x * 7.0 + 5.0)):
            values = handle[name][()]
            values[test] = garbage(values[test])
            handle[name][...] = values
        images = handle["images"][()]
        images[test] = 255 - images[test]
        handle["images"][...] = images
    runs = {
        name: _train(lofo, tmp_path / name, cache=cache)
        for name, cache in (("original", lofo["cache"]), ("altered", altered))
    }
    checkpoints = {name: torch.load(out / "model.pt", weights_only=True) for name, out in runs.items()}
    assert checkpoints["original"]["meta"]["features"] == checkpoints["altered"]["meta"]["features"]
    weights = [checkpoints[name]["model"] for name in ("original", "altered")]
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    histories = [pd.read_csv(out / "history.csv").drop(columns="seconds") for out in runs.values()]
    pd.testing.assert_frame_equal(*histories)


def test_an_encoder_of_another_module_stops_the_job_before_training(lofo, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.pt"
    save_checkpoint(foreign, torch.nn.Linear(2, 2), {}, epoch=1, metrics={}, meta=model_meta("nowcast", "unet", {}))
    with pytest.raises(InputError, match=r"foreign\.pt: is a nowcast model"):
        _train(lofo, tmp_path / "out", encoder=foreign)
    assert not (tmp_path / "out" / "run").exists() and not (tmp_path / "out" / "predictions.csv").exists()


def test_baselines_and_gbdt_use_the_training_flights_only(lofo, tmp_path: Path) -> None:
    outputs = {name: tmp_path / f"{name}.csv" for name in CLOSED_FORM}
    facts = write_baselines(lofo["cache"], lofo["folds"], 2, VALIDATION, outputs)
    write_gbdt(lofo["cache"], lofo["folds"], 2, VALIDATION, {"max_iter": 10}, tmp_path / "gbdt.csv")
    table = read_cache_table(lofo["cache"])
    split = fold_indices(
        table, make_folds(table, ValidationSettings(**VALIDATION))[2], ValidationSettings(**VALIDATION)
    )
    climatology = pd.read_csv(outputs["climatology"])
    assert all(len(pd.read_csv(path)) == len(split["test"]) for path in outputs.values())
    expected = table.cbh_km[np.concatenate([split["train"], split["val"]])].mean()
    assert np.allclose(climatology["pred_km"], expected) and set(climatology["flight"]) == {table.flights[2]}
    assert 0.0 <= facts["geometry_filled_fraction"] <= 1.0
    assert len(pd.read_csv(tmp_path / "gbdt.csv")) == len(split["test"])
    score = write_pooled_gbdt(lofo["cache"], {"max_iter": 10, "pooled_folds": 3}, tmp_path / "pooled.json")
    assert json.loads((tmp_path / "pooled.json").read_text())["gbdt_pooled_r2"] == pytest.approx(score)


def test_a_residual_model_corrects_the_shadow_prior(lofo, tmp_path: Path) -> None:
    spec = {**SPEC, "params": {**SPEC["params"], "residual_on_prior": True}}
    training.train_variant(
        cache=lofo["cache"], folds_path=lofo["folds"], fold_id=0, variant="concat_prior", spec=spec, seed=0,
        train=TRAIN, validation=VALIDATION, encoder_path=lofo["encoder"], model_path=tmp_path / "model.pt",
        predictions_path=tmp_path / "predictions.csv",
    )  # fmt: skip
    model = load_model(tmp_path / "model.pt", CBH_MODELS, "cbh")
    table = read_cache_table(lofo["cache"])
    split = fold_indices(
        table, make_folds(table, ValidationSettings(**VALIDATION))[0], ValidationSettings(**VALIDATION)
    )
    prior = training.physical_prior(table, split)["test"]
    expected = np.where(np.isfinite(table.geometry[split["test"], 0]) & (table.geometry[split["test"], 0] > 0),
                        table.geometry[split["test"], 0], table.cbh_km[split["train"]].mean())  # fmt: skip
    assert np.allclose(prior, expected)
    view = torch.rand(len(prior), model.encoder.config["n_tokens"], model.encoder.config["patch_dim"])
    physical = torch.zeros(len(prior), model.physical_mlp[0].in_features)
    with torch.no_grad():
        shift = model(view, physical, torch.as_tensor(prior)) - model(view, physical, torch.zeros(len(prior)))
    assert torch.allclose(shift, torch.as_tensor(prior, dtype=torch.float32))
    with pytest.raises(ValueError, match="needs prior_km"):
        model(view, physical)
