"""The per-fold reference jobs on a real small cache: every baseline fits on the training flights only,
ridge chooses its penalty without the test flight, and the oracle reads the generator's noiseless base."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from atmo.cbh.cache import CacheTable, build_cache, read_cache_table
from atmo.cbh.flight_files import NOISELESS_CBH as NOISELESS
from atmo.cbh.flight_files import FlightTrack, read_noiseless_cbh, write_flight
from atmo.cbh.folds import ValidationSettings, fold_indices, make_folds, write_fold_table
from atmo.cbh.lofo import CLOSED_FORM, inner_splits, training_samples, write_baselines, write_gbdt, write_ridge
from atmo.cbh.oracle import write_oracle
from atmo.errors import InputError

VALIDATION = {"method": "fraction", "fraction": 0.25, "seed": 0}
RIDGE = {"alphas": [0.01, 1.0, 100.0]}
GBDT = {"max_iter": 10}
FOLD = 2


@pytest.fixture(scope="module")
def cache(campaign, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A cache of the session campaign (ERA5 t2m, d2m, blh and the derived lcl_m) and its fold table."""
    root = tmp_path_factory.mktemp("cbh_lofo")
    path = root / "cache.h5"
    names, flights, geometry = campaign.names, campaign.flight_paths, campaign.geometry_paths
    build_cache(path, names, flights, geometry, campaign.era5_path, ["t2m", "d2m", "blh"], (16, 24))
    folds = root / "folds.csv"
    write_fold_table(folds, make_folds(read_cache_table(path), ValidationSettings(**VALIDATION)))
    return {"cache": path, "folds": folds}


def _run_all(cache: Path, folds: Path, out: Path) -> dict[str, pd.DataFrame | dict]:
    """Every reference job of fold :data:`FOLD`: ``{approach: predictions}`` plus the facts."""
    outputs = {name: out / f"{name}.csv" for name in CLOSED_FORM}
    facts = write_baselines(cache, folds, FOLD, VALIDATION, outputs)
    ridge = write_ridge(cache, folds, FOLD, VALIDATION, RIDGE, out / "ridge.csv")
    write_gbdt(cache, folds, FOLD, VALIDATION, GBDT, out / "gbdt.csv")
    frames = {name: pd.read_csv(out / f"{name}.csv") for name in (*CLOSED_FORM, "ridge", "gbdt")}
    return {**frames, "facts": facts, "ridge_facts": ridge}


def _altered(cache: Path, out: Path, change: Callable[[h5py.File, np.ndarray], None]) -> Path:
    """A copy of ``cache`` with ``change(handle, test-flight mask)`` applied."""
    altered = out / "altered.h5"
    shutil.copyfile(cache, altered)
    with h5py.File(altered, "r+") as handle:
        change(handle, handle["flight_index"][()] == FOLD)
    return altered


def _garbage(handle: h5py.File, test: np.ndarray, names: tuple[str, ...]) -> None:
    for name in names:
        values = handle[name][()]
        values[test] = values[test] * 3.0 + 2.0
        handle[name][...] = values


def test_every_baseline_fits_on_the_training_flights_only(cache, tmp_path: Path) -> None:
    original = _run_all(cache["cache"], cache["folds"], tmp_path / "original")
    altered = _altered(cache["cache"], tmp_path, lambda h, test: _garbage(h, test, ("cbh_km",)))
    changed = _run_all(altered, cache["folds"], tmp_path / "changed")
    for name in (*CLOSED_FORM, "ridge", "gbdt"):
        assert not np.allclose(original[name]["cbh_km"], changed[name]["cbh_km"])  # the labels did change
        np.testing.assert_array_equal(original[name]["pred_km"], changed[name]["pred_km"], err_msg=name)
    assert original["facts"] == changed["facts"] and original["ridge_facts"] == changed["ridge_facts"]
    table = read_cache_table(cache["cache"])
    test = original["climatology"]["sample"].to_numpy()
    assert set(original["lcl"]["flight"]) == {table.flights[FOLD]} and len(test) == int(
        ((table.flight_index == FOLD) & np.isfinite(table.cbh_km)).sum()
    )
    lcl_km = table.era5[test, table.era5_names.index("lcl_m")] / 1000
    np.testing.assert_allclose(original["lcl"]["pred_km"], lcl_km, rtol=1e-6)  # every ERA5 sample has an LCL
    assert original["facts"]["lcl_filled_fraction"] == 0.0


def test_the_ridge_penalty_is_chosen_without_the_test_flight(cache, tmp_path: Path) -> None:
    """Garbage features and labels on the test flight change its predictions, never the choice."""
    original = write_ridge(cache["cache"], cache["folds"], FOLD, VALIDATION, RIDGE, tmp_path / "a.csv")
    altered = _altered(cache["cache"], tmp_path, lambda h, test: _garbage(h, test, ("cbh_km", "era5", "geometry")))
    changed = write_ridge(altered, cache["folds"], FOLD, VALIDATION, RIDGE, tmp_path / "b.csv")
    assert original == changed and original["inner"] == "flights" and original["alpha"] in RIDGE["alphas"]
    assert len(original["inner_mae_km"]) == len(RIDGE["alphas"])
    assert not np.allclose(pd.read_csv(tmp_path / "a.csv")["pred_km"], pd.read_csv(tmp_path / "b.csv")["pred_km"])


def test_inner_splits_hold_out_each_training_flight_or_else_the_validation_split(cache) -> None:
    table = read_cache_table(cache["cache"])
    validation = ValidationSettings(**VALIDATION)
    split = fold_indices(table, make_folds(table, validation)[FOLD], validation)
    train = training_samples(split)
    how, splits = inner_splits(table, split, train)
    held_flights = [set(table.flight_index[train[held]].tolist()) for _, held in splits]
    assert how == "flights" and held_flights == [{k} for k in range(len(table.flights)) if k != FOLD]
    for (fit, _), held in zip(splits, held_flights, strict=True):
        assert set(table.flight_index[train[fit]].tolist()) == set(range(len(table.flights))) - {FOLD} - held
    two = _first_two_flights(table)
    two_split = fold_indices(two, make_folds(two, validation)[0], validation)
    how, splits = inner_splits(two, two_split, training_samples(two_split))
    assert how == "validation" and len(splits) == 1
    fit, held = splits[0]
    train = training_samples(two_split)
    np.testing.assert_array_equal(train[fit], two_split["train"])
    np.testing.assert_array_equal(train[held], two_split["val"])


def _first_two_flights(table: CacheTable) -> CacheTable:
    """The first two flights of ``table`` alone: a campaign whose folds have one training flight."""
    keep = table.flight_index < 2
    return replace(
        table,
        flights=table.flights[:2],
        flight_index=table.flight_index[keep],
        cbh_km=table.cbh_km[keep],
        era5=table.era5[keep],
        geometry=table.geometry[keep],
    )


def _with_noiseless(source: Path, out: Path, values: np.ndarray | None) -> Path:
    """A copy of flight file ``source`` whose noiseless base is ``values`` (None: without the dataset)."""
    path = out / source.name
    shutil.copyfile(source, path)
    with h5py.File(path, "r+") as handle:
        if NOISELESS in handle:
            del handle[NOISELESS]
        if values is not None:
            handle.create_dataset(NOISELESS, data=values.astype(np.float32))
    return path


def _unlabel_fourth_labelled_test_frame(handle: h5py.File, test: np.ndarray) -> None:
    """One more frame without a lidar label (cbh_km NaN, as between lidar samples): the oracle skips it."""
    labels = handle["cbh_km"][()]
    labels[np.flatnonzero(test & np.isfinite(labels))[3]] = np.nan
    handle["cbh_km"][...] = labels


def test_the_oracle_predicts_the_noiseless_base_of_the_labelled_test_samples(campaign, cache, tmp_path: Path) -> None:
    track = campaign.tracks[FOLD]
    noiseless = 1.0 + 0.01 * np.arange(track.n_samples)  # a distinct value per frame: checks the sample mapping
    flight = _with_noiseless(campaign.flight_paths[FOLD], tmp_path, noiseless)
    labelled_before = np.isfinite(read_cache_table(cache["cache"]).cbh_km)
    unlabelled = _altered(cache["cache"], tmp_path, _unlabel_fourth_labelled_test_frame)
    folds = tmp_path / "folds.csv"
    write_fold_table(folds, make_folds(read_cache_table(unlabelled), ValidationSettings(**VALIDATION)))
    write_oracle(unlabelled, folds, FOLD, VALIDATION, flight, tmp_path / "oracle.csv")
    oracle = pd.read_csv(tmp_path / "oracle.csv")
    table = read_cache_table(unlabelled)
    first = int(np.flatnonzero(table.flight_index == FOLD)[0])
    in_flight = oracle["sample"].to_numpy() - first
    was_labelled = np.flatnonzero(labelled_before[table.flight_index == FOLD])
    assert in_flight.tolist() == [i for k, i in enumerate(was_labelled) if k != 3]
    np.testing.assert_allclose(oracle["pred_km"], noiseless[in_flight], rtol=1e-6)
    np.testing.assert_allclose(oracle["cbh_km"], table.cbh_km[oracle["sample"]], rtol=1e-6)
    assert set(oracle["flight"]) == {track.name} and set(oracle["fold_id"]) == {FOLD}


def test_the_oracle_names_a_flight_file_without_the_noiseless_base(campaign, cache, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    old = _with_noiseless(campaign.flight_paths[FOLD], tmp_path / "old", None)  # as campaign files
    with pytest.raises(InputError, match=f"missing dataset '{NOISELESS}'") as err:
        write_oracle(cache["cache"], cache["folds"], FOLD, VALIDATION, old, tmp_path / "oracle.csv")
    assert err.value.path == str(old) and not (tmp_path / "oracle.csv").exists()
    other = _with_noiseless(campaign.flight_paths[0], tmp_path, np.ones(campaign.tracks[0].n_samples))
    with pytest.raises(InputError, match=f"holds flight '{campaign.names[0]}', expected '{campaign.names[FOLD]}'"):
        write_oracle(cache["cache"], cache["folds"], FOLD, VALIDATION, other, tmp_path / "oracle.csv")
    short = _with_noiseless(old, tmp_path, np.ones(campaign.tracks[FOLD].n_samples - 1))
    with pytest.raises(InputError, match=f"dataset '{NOISELESS}' has shape"):
        write_oracle(cache["cache"], cache["folds"], FOLD, VALIDATION, short, tmp_path / "oracle.csv")


def test_read_noiseless_cbh_from_a_hand_made_flight_file(tmp_path: Path) -> None:
    n = 4
    track = FlightTrack(
        name="12Feb25",
        ifov_rad=0.004,
        image_shape=(1, 8, 8),
        cbh_km=np.array([1.0, np.nan, 1.2, 1.3]),
        time_unix_s=1.7e9 + 10.0 * np.arange(n),
        latitude_deg=np.full(n, 35.0),
        longitude_deg=np.full(n, -120.0),
        altitude_m=np.full(n, 20000.0),
        sun_zenith_deg=np.full(n, 40.0),
        sun_azimuth_deg=np.full(n, 150.0),
    )
    path = tmp_path / "12Feb25.h5"
    write_flight(path, track, np.zeros((n, 1, 8, 8), np.uint8))
    with pytest.raises(InputError, match=f"missing dataset '{NOISELESS}'"):
        read_noiseless_cbh(path, "12Feb25")
    with h5py.File(path, "r+") as handle:
        handle.create_dataset(NOISELESS, data=np.array([0.95, 1.1, 1.15, 1.25], np.float32))
    np.testing.assert_allclose(read_noiseless_cbh(path, "12Feb25"), [0.95, 1.1, 1.15, 1.25], rtol=1e-6)
    with pytest.raises(InputError, match="holds flight '12Feb25', expected '30Oct24'"):
        read_noiseless_cbh(path, "30Oct24")
