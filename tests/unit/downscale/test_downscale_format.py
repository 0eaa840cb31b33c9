"""The downscale HDF5 format: round trip, split, and one clear InputError per kind of bad file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from downscale_helpers import time_subset

from atmo.downscale.coarsen import coarsen
from atmo.downscale.describe import describe_fields
from atmo.downscale.field_files import load_fields, read_fields, read_split, write_fields
from atmo.downscale.split import Split, time_split
from atmo.downscale.synthetic.fields import generate_fields
from atmo.errors import InputError
from atmo.metrics.spectra import rapsd, spectral_slope

TINY = {
    "n_samples": 12,
    "height": 16,
    "width": 24,
    "factor": 4,
    "dry_fraction": 0.5,
    "intensity_mm": 8.5,
    "tail": 0.6,
    "predictability": 0.6,
    "persistence": 0.6,
    "texture_beta": 3.3,
    "texture_persistence": 0.3,
    "start_date": "2001-01-01",
    "south_lat_deg": 43.0,
    "west_lon_deg": 5.0,
    "spacing_deg": 0.0625,
}


@pytest.fixture(scope="module")
def tiny():
    return generate_fields(seed=3, **TINY)


def _split(n: int) -> Split:
    return time_split(np.arange(n), val_fraction=0.25, test_fraction=0.25, gap_steps=1)


def _write_unchecked(path: Path, fields, **override: np.ndarray) -> None:
    """Write the format's datasets without the writer's checks, replacing some by ``override``."""
    data = {
        "precip_hr_mm": fields.precip_hr_mm,
        "precip_lr_mm": fields.precip_lr_mm,
        "predictors_lr": fields.predictors_lr,
        "time": fields.time_s,
        "lat": fields.lat_deg,
        "lon": fields.lon_deg,
        **override,
    }
    with h5py.File(path, "w") as out:
        out.attrs["factor"] = fields.factor
        for name, values in data.items():
            out[name] = values
        for name in ("precip_hr_mm", "precip_lr_mm"):
            out[name].attrs["units"] = "mm"
        out["predictors_lr"].attrs["names"] = list(fields.predictor_names)
        out["predictors_lr"].attrs["units"] = list(fields.predictor_units)


def test_round_trip_keeps_every_array_and_attribute(tiny, tmp_path: Path) -> None:
    path = tmp_path / "fields.h5"
    split = _split(len(tiny))
    write_fields(path, tiny, split)
    back = read_fields(path)
    for name in ("precip_hr_mm", "precip_lr_mm", "predictors_lr", "time_s", "lat_deg", "lon_deg"):
        np.testing.assert_array_equal(getattr(back, name), getattr(tiny, name))
    assert (back.predictor_names, back.predictor_units) == (tiny.predictor_names, tiny.predictor_units)
    assert (back.factor, back.accumulation_h, back.source) == (tiny.factor, 24.0, tiny.source)
    for (name, want), (_, got) in zip(split.items(), read_split(path).items(), strict=True):
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert [p.name for p in tmp_path.iterdir()] == ["fields.h5"]


def test_coarsen_is_the_block_mean() -> None:
    field = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)
    expected = np.array([[field[0, :2, :2].mean(), field[0, :2, 2:4].mean(), field[0, :2, 4:].mean()]])
    np.testing.assert_allclose(coarsen(field, 2)[0, :1], expected)
    assert coarsen(field, 2).shape == (2, 2, 3)


def test_time_split_is_ordered_disjoint_with_gaps() -> None:
    time_s = np.arange(100) * 86_400
    split = time_split(time_s[::-1].copy(), val_fraction=0.15, test_fraction=0.2, gap_steps=3)
    # indices refer to the (reversed) input order, so the latest times have the smallest indices
    times = {name: np.sort(time_s[::-1][idx]) for name, idx in split.items()}
    assert [len(split.train), len(split.val), len(split.test)] == [59, 15, 20]
    assert times["train"].max() + 3 * 86_400 < times["val"].min()
    assert times["val"].max() + 3 * 86_400 < times["test"].min()
    assert times["test"].max() == time_s.max()


def test_time_split_with_too_few_samples_is_an_input_error() -> None:
    with pytest.raises(InputError, match="too few"):
        time_split(np.arange(4), val_fraction=0.2, test_fraction=0.2, gap_steps=2)


def test_join_of_two_files_is_sorted_in_time(tiny, tmp_path: Path) -> None:
    late, early = tmp_path / "late.h5", tmp_path / "early.h5"
    halves = {
        early: np.arange(len(tiny)) < 5,
        late: np.arange(len(tiny)) >= 5,
    }
    for path, keep in halves.items():
        write_fields(path, time_subset(tiny, keep))
    joined = load_fields([late, early])
    np.testing.assert_array_equal(joined.time_s, tiny.time_s)
    np.testing.assert_array_equal(joined.precip_hr_mm, tiny.precip_hr_mm)
    with pytest.raises(InputError, match="overlap in time"):
        load_fields([early, early])


def test_describe_uses_train_only_for_predictor_statistics(tiny) -> None:
    split = _split(len(tiny))
    summary = describe_fields(tiny, split)
    train_tcwv = tiny.predictors_lr[split.train, 0]
    assert summary["predictor_stats_train"]["tcwv"]["mean"] == pytest.approx(float(train_tcwv.mean()))
    assert summary["test"]["max_mm"] == pytest.approx(float(tiny.precip_hr_mm[split.test].max()))
    assert summary["train"]["n_samples"] + summary["val"]["n_samples"] + summary["test"]["n_samples"] == 10
    test = tiny.precip_hr_mm[split.test]
    assert summary["test"]["wet_fraction"] == pytest.approx(float(np.mean(test >= 0.1)))
    assert summary["test"]["rapsd_slope"] == pytest.approx(spectral_slope(*rapsd(test)))
    assert summary["test"]["rapsd_slope"] < -1, "rain areas, not speckle: power falls with wavenumber"


def _assert_one_line(err: pytest.ExceptionInfo[InputError], path: Path, *words: str) -> None:
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert all(word in message for word in words), message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.h5"
    with pytest.raises(InputError) as err:
        load_fields([path])
    _assert_one_line(err, path, "does not exist")


def test_truncated_file(tiny, tmp_path: Path) -> None:
    good, path = tmp_path / "good.h5", tmp_path / "truncated.h5"
    write_fields(good, tiny)
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path)


def test_foreign_file_without_the_datasets(tmp_path: Path) -> None:
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as out:
        out.attrs["factor"] = 4
        out["temperature"] = np.zeros((3, 8, 8), np.float32)
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, "missing dataset 'precip_hr_mm'")


def test_low_resolution_shape_not_matching_factor(tiny, tmp_path: Path) -> None:
    path = tmp_path / "shapes.h5"
    _write_unchecked(path, tiny, precip_lr_mm=coarsen(tiny.precip_hr_mm, 2))
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, "precip_lr_mm has shape (12, 8, 12)", "expected (12, 4, 6) for factor 4")


def test_predictors_on_another_grid(tiny, tmp_path: Path) -> None:
    path = tmp_path / "predictors.h5"
    _write_unchecked(path, tiny, predictors_lr=tiny.predictors_lr[..., :-1])
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, "predictors_lr has shape")


def test_low_resolution_field_that_is_not_the_block_mean(tiny, tmp_path: Path) -> None:
    path = tmp_path / "shuffled.h5"
    _write_unchecked(path, tiny, precip_lr_mm=tiny.precip_lr_mm[::-1].copy())
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, "not the 4x4 block mean")


def test_time_not_increasing(tiny, tmp_path: Path) -> None:
    path = tmp_path / "time.h5"
    _write_unchecked(path, tiny, time=np.zeros(len(tiny), np.int64))
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, "increase strictly")


def test_leaking_split_is_rejected(tiny, tmp_path: Path) -> None:
    path = tmp_path / "leak.h5"
    n = len(tiny)
    write_fields(path, tiny, Split(train=np.arange(1, n - 2), val=np.array([0]), test=np.array([n - 1])))
    with pytest.raises(InputError) as err:
        read_split(path)
    _assert_one_line(err, path, "not ordered in time")


def test_writer_refuses_inconsistent_fields_and_leaves_nothing(tiny, tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    with pytest.raises(InputError):
        write_fields(path, replace(tiny, factor=3))
    assert list(tmp_path.iterdir()) == []


def test_grids_without_an_integer_ratio(tiny, tmp_path: Path) -> None:
    path = tmp_path / "ratio.h5"
    _write_unchecked(path, tiny, precip_lr_mm=np.zeros((len(tiny), 5, 7), np.float32))
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, "16x24 is no integer multiple of the low-resolution grid 5x7")


@pytest.mark.parametrize("name", ["precip_hr_mm", "precip_lr_mm"])
def test_negative_precipitation(tiny, tmp_path: Path, name: str) -> None:
    path = tmp_path / "negative.h5"
    values = getattr(tiny, name).copy()
    values[1, 2, 3] = -0.5
    _write_unchecked(path, tiny, **{name: values})
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, f"{name} has negative values", "-0.5 mm")


@pytest.mark.parametrize("name", ["precip_hr_mm", "precip_lr_mm", "predictors_lr"])
def test_nan_values(tiny, tmp_path: Path, name: str) -> None:
    path = tmp_path / "nan.h5"
    values = getattr(tiny, name).copy()
    values.reshape(-1)[7] = np.nan
    _write_unchecked(path, tiny, **{name: values})
    with pytest.raises(InputError) as err:
        read_fields(path)
    _assert_one_line(err, path, f"{name} contains NaN")
