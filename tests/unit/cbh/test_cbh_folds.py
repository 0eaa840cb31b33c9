"""Leave-one-flight-out folds: disjoint, deterministic splits; the test flight never validates."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from atmo.cbh.cache import CacheTable, build_cache, read_cache_table
from atmo.cbh.folds import (
    FOLD_COLUMNS,
    Fold,
    ValidationSettings,
    fold_indices,
    labelled_counts,
    make_folds,
    pretraining_indices,
    read_fold_table,
    write_fold_table,
)
from atmo.errors import ConfigError, InputError
from atmo.settings import build_block


def make_table(sizes: dict[str, int], unlabelled: dict[str, int] | None = None, seed: int = 0) -> CacheTable:
    """A cache table of flights with ``sizes`` samples; the last ``unlabelled[f]`` labels of ``f`` NaN."""
    rng = np.random.default_rng(seed)
    flight_index = np.repeat(np.arange(len(sizes)), list(sizes.values()))
    n = len(flight_index)
    cbh_km = rng.uniform(0.3, 2.5, n).astype(np.float32)
    for name, count in (unlabelled or {}).items():
        rows = np.flatnonzero(flight_index == list(sizes).index(name))
        cbh_km[rows[len(rows) - count :]] = np.nan
    geometry = rng.uniform(0.2, 3.0, (n, 3)).astype(np.float32)
    geometry[rng.random(n) < 0.3] = np.nan
    return CacheTable(
        flights=list(sizes),
        flight_index=flight_index,
        cbh_km=cbh_km,
        era5=rng.normal(size=(n, 4)).astype(np.float32),
        era5_names=["t2m", "blh", "lcl_m", "rh2m_pct"],
        geometry=geometry,
        geometry_names=["cbh_geom_km", "shadow_offset_m", "shadow_confidence"],
    )


SIZES = {"30Oct24": 30, "10Feb25": 5, "23Oct24": 20, "12Feb25": 25}


def _flight_rows(table: CacheTable, flight: str) -> np.ndarray:
    return np.flatnonzero((table.flight_index == table.flights.index(flight)) & np.isfinite(table.cbh_km))


def test_fraction_folds_are_disjoint_complete_and_hold_out_a_share_of_every_training_flight() -> None:
    table = make_table(SIZES)
    validation = ValidationSettings(fraction=0.2, seed=3)
    folds = make_folds(table, validation)
    assert [fold.test_flight for fold in folds] == list(SIZES) and [f.fold_id for f in folds] == [0, 1, 2, 3]
    for fold in folds:
        split = fold_indices(table, fold, validation)
        train, val, test = split["train"], split["val"], split["test"]
        assert fold.val_flights == () and set(fold.train_flights) == set(SIZES) - {fold.test_flight}
        np.testing.assert_array_equal(test, _flight_rows(table, fold.test_flight))
        assert not (set(train) & set(val)) and not (set(train) & set(test)) and not (set(val) & set(test))
        others = np.concatenate([_flight_rows(table, f) for f in fold.train_flights])
        np.testing.assert_array_equal(np.sort(np.r_[train, val]), np.sort(others))
        assert (len(train), len(val), len(test)) == (fold.n_train, fold.n_val, fold.n_test)
        for flight in fold.train_flights:
            n_flight = len(_flight_rows(table, flight))
            assert np.isin(_flight_rows(table, flight), val).sum() == round(0.2 * n_flight)
        assert all(np.all(np.diff(part) > 0) for part in split.values())


def test_fraction_split_is_deterministic_seeded_and_the_same_for_a_flight_in_every_fold() -> None:
    table = make_table(SIZES)
    validation = ValidationSettings(seed=1)
    folds = make_folds(table, validation)
    again = make_folds(table, validation)
    assert folds == again
    val = [fold_indices(table, f, validation)["val"] for f in folds]
    np.testing.assert_array_equal(val[0], fold_indices(table, again[0], validation)["val"])
    rows_12feb = _flight_rows(table, "12Feb25")
    assert (np.intersect1d(val[0], rows_12feb) == np.intersect1d(val[1], rows_12feb)).all()
    other_seed = ValidationSettings(seed=2)
    assert not np.array_equal(fold_indices(table, make_folds(table, other_seed)[0], other_seed)["val"], val[0])


def test_flight_validation_takes_the_next_large_enough_flight_cyclically() -> None:
    table = make_table(SIZES)
    validation = ValidationSettings(method="flight", min_flight_samples=10)
    folds = make_folds(table, validation)
    # 10Feb25 (5 samples) is too small to validate on and is skipped
    assert [f.val_flights for f in folds] == [("23Oct24",), ("23Oct24",), ("12Feb25",), ("30Oct24",)]
    for fold in folds:
        split = fold_indices(table, fold, validation)
        assert fold.test_flight not in fold.val_flights + fold.train_flights
        np.testing.assert_array_equal(split["val"], _flight_rows(table, fold.val_flights[0]))
        assert set(fold.train_flights) == set(SIZES) - {fold.test_flight, fold.val_flights[0]}
        trained = np.unique(table.flight_index[split["train"]])
        assert {table.flights[i] for i in trained} == set(fold.train_flights)


def test_unlabelled_samples_are_dropped_from_every_split_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    table = make_table(SIZES, unlabelled={"30Oct24": 4, "23Oct24": 1})
    assert labelled_counts(table)["30Oct24"] == (26, 4)
    validation = ValidationSettings()
    with caplog.at_level(logging.INFO, logger="atmo.cbh.folds"):
        folds = make_folds(table, validation)
    assert "dropped 5 samples" in caplog.text
    assert folds[0].n_test == 26
    unlabelled = set(np.flatnonzero(np.isnan(table.cbh_km)))
    for fold in folds:
        split = fold_indices(table, fold, validation)
        assert not unlabelled & set(np.concatenate(list(split.values())))
        assert fold.n_train + fold.n_val + fold.n_test == np.isfinite(table.cbh_km).sum()


@pytest.mark.parametrize("method", ["flight", "fraction"])
def test_pretraining_takes_every_training_frame_labelled_or_not_and_never_the_test_flight(method: str) -> None:
    table = make_table(SIZES, unlabelled={"30Oct24": 10, "23Oct24": 8, "12Feb25": 5})
    validation = ValidationSettings(method=method, fraction=0.25, min_flight_samples=5)
    for fold in make_folds(table, validation):
        frames = pretraining_indices(table, fold, validation)
        labelled = fold_indices(table, fold, validation)
        train, val = set(frames["train"]), set(frames["val"])
        test_flight = table.flights.index(fold.test_flight)
        not_test = set(np.flatnonzero(table.flight_index != test_flight))
        assert not train & val and train | val == not_test  # every frame of the other flights, once
        assert set(labelled["train"]) <= train
        unlabelled = {i for i in train if np.isnan(table.cbh_km[i])}
        assert unlabelled == {i for i in not_test - val if np.isnan(table.cbh_km[i])} and unlabelled
        if method == "flight":
            val_flight = table.flights.index(fold.val_flights[0])
            assert val == set(np.flatnonzero(table.flight_index == val_flight))
        else:
            assert val == set(labelled["val"])


def test_bad_tables_and_settings_raise_one_line_errors() -> None:
    with pytest.raises(InputError, match="at least two flights"):
        make_folds(make_table({"30Oct24": 5}), ValidationSettings(), source="cache.h5")
    with pytest.raises(InputError, match=r"cache\.h5: flight '23Oct24' has no sample with a finite cbh_km"):
        make_folds(make_table(SIZES, unlabelled={"23Oct24": 20}), ValidationSettings(), source="cache.h5")
    two = make_table({"30Oct24": 20, "10Feb25": 20})
    assert len(make_folds(two, ValidationSettings())) == 2
    with pytest.raises(InputError, match="validation method 'flight'"):
        make_folds(two, ValidationSettings(method="flight"))
    with pytest.raises(InputError, match="validation method 'flight'"):
        make_folds(make_table(SIZES), ValidationSettings(method="flight", min_flight_samples=40))
    with pytest.raises(InputError, match="holds out no sample"):
        make_folds(make_table({"a": 1, "b": 1, "c": 1}), ValidationSettings())
    with pytest.raises(ConfigError, match=r"'cbh\.validation\.method': expected one of \['fraction', 'flight'\]"):
        build_block(ValidationSettings, {"method": "random"}, "cbh.validation")
    with pytest.raises(ConfigError, match=r"'cbh\.validation\.fraction'"):
        build_block(ValidationSettings, {"fraction": 1.0}, "cbh.validation")
    assert build_block(ValidationSettings, None, "cbh.validation") == ValidationSettings()


def test_fold_table_round_trips_and_a_foreign_fold_is_refused(tmp_path: Path) -> None:
    table = make_table(SIZES)
    for validation in (ValidationSettings(), ValidationSettings(method="flight")):
        folds = make_folds(table, validation)
        path = tmp_path / f"folds_{validation.method}.csv"
        write_fold_table(path, folds)
        assert path.read_text().splitlines()[0] == ",".join(FOLD_COLUMNS)
        assert read_fold_table(path) == folds
    fold = make_folds(table, ValidationSettings())[0]
    other = make_table({**SIZES, "30Oct24": 31})
    with pytest.raises(InputError, match="does not match the cache"):
        fold_indices(other, fold, ValidationSettings(), source="other.h5")
    with pytest.raises(InputError, match="the cache flights are"):
        fold_indices(table, Fold(0, "18Feb25", ("10Feb25",), (), 1, 0, 1), ValidationSettings())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("fold_id,", "fold,", 1), "columns"),
        (lambda text: text.replace("\n0,30Oct24,", "\n1,30Oct24,", 1), "fold ids repeat"),
        (lambda text: text.replace(",10Feb25;", ",30Oct24;10Feb25;", 1), "also trained or validated"),
        (lambda text: text.replace(",30,", ",x,", 1), "n_test 'x' is not a non-negative integer"),
        (lambda text: text.splitlines()[0] + "\n", "no fold"),
    ],
)
def test_bad_fold_tables_name_the_file(tmp_path: Path, edit, message: str) -> None:
    path = tmp_path / "folds.csv"
    write_fold_table(path, make_folds(make_table(SIZES), ValidationSettings()))
    path.write_text(edit(path.read_text()))
    with pytest.raises(InputError, match=message) as err:
        read_fold_table(path)
    assert str(err.value).startswith(str(path))


def test_folds_of_a_real_cache(campaign, tmp_path: Path) -> None:
    out = tmp_path / "cache.h5"
    build_cache(
        out,
        campaign.names,
        campaign.flight_paths,
        campaign.geometry_paths,
        campaign.era5_path,
        ["t2m", "d2m", "sp", "blh", "tcwv", "u10", "v10", "lcc", "cape"],
        (12, 16),
    )
    table = read_cache_table(out)
    validation = ValidationSettings(method="flight", min_flight_samples=10)
    folds = make_folds(table, validation, source=out)
    assert [f.n_test for f in folds] == [np.isfinite(t.cbh_km).sum() for t in campaign.tracks]
    assert "18Feb25" not in {flight for f in folds for flight in f.val_flights}  # 6 labelled samples < 10
    assert folds[-1].val_flights == ("30Oct24",)
