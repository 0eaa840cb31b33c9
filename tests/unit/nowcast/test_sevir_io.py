"""atmo.io.sevir: decoding, file naming, catalog reading/selection and the data-file checks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.io.sevir import (
    CATALOG_COLUMNS,
    Selection,
    SevirReader,
    check_data_files,
    data_file_name,
    decode_ir,
    decode_vil,
    encode_ir,
    encode_vil,
    read_catalog,
    select_events,
)


def test_vil_decoding_matches_the_benchmark_thresholds() -> None:
    # VIP thresholds of the SEVIR benchmark and their kg/m2 from the format note.
    codes = np.array([16, 74, 133, 160, 181, 219], dtype=np.uint8)
    expected = [0.15, 0.78, 3.5, 7.1, 12.1, 32.2]
    np.testing.assert_allclose(decode_vil(codes), expected, rtol=0.03)
    assert decode_vil(np.array([0, 5], dtype=np.uint8)).tolist() == [0.0, 0.0]
    assert decode_vil(np.array([10], dtype=np.uint8))[0] == pytest.approx(8 / 90.66)
    assert np.isnan(decode_vil(np.array([255], dtype=np.uint8))[0])


def test_vil_encoding_inverts_decoding() -> None:
    codes = np.concatenate([[0], np.arange(6, 255)]).astype(np.uint8)
    assert np.array_equal(encode_vil(decode_vil(codes)), codes)
    assert encode_vil(np.array([0.0, 1e-4, 500.0])).tolist() == [0, 0, 254]


def test_ir_is_hundredths_of_degrees_celsius() -> None:
    raw = np.array([-6543, 0, 2510], dtype=np.int16)
    np.testing.assert_allclose(decode_ir(raw), [-65.43, 0.0, 25.10], atol=1e-4)
    assert np.array_equal(encode_ir(decode_ir(raw)), raw)


@pytest.mark.parametrize(
    ("img_type", "storm", "when", "name"),
    [
        ("vil", True, datetime(2019, 3, 2), "vil/2019/SEVIR_VIL_STORMEVENTS_2019_0101_0630.h5"),
        ("ir069", True, datetime(2018, 7, 1), "ir069/2018/SEVIR_IR069_STORMEVENTS_2018_0701_1231.h5"),
        ("ir107", False, datetime(2018, 5, 9), "ir107/2018/SEVIR_IR107_RANDOMEVENTS_2018_0501_0831.h5"),
        ("vil", False, datetime(2019, 12, 31), "vil/2019/SEVIR_VIL_RANDOMEVENTS_2019_0901_1231.h5"),
        ("lght", True, datetime(2019, 6, 15), "lght/2019/SEVIR_LGHT_ALLEVENTS_2019_0601_0701.h5"),
        ("lght", False, datetime(2018, 12, 3), "lght/2018/SEVIR_LGHT_ALLEVENTS_2018_1201_0101.h5"),
    ],
)
def test_file_names_follow_sevir(img_type: str, storm: bool, when: datetime, name: str) -> None:
    assert data_file_name(img_type, storm, when) == name


def test_catalog_missing_columns_is_one_line_error(sevir_tree: Path) -> None:
    path = sevir_tree / "CATALOG.csv"
    pd.read_csv(path).drop(columns=["file_index", "proj"]).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"lacks column\(s\) \['file_index', 'proj'\]") as err:
        read_catalog(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_catalog_cut_mid_row_is_refused_naming_the_line(sevir_tree: Path) -> None:
    path = sevir_tree / "CATALOG.csv"
    text = path.read_bytes()
    lines = text.count(b"\n")
    path.write_bytes(text[: len(text) * 2 // 3])  # a download that stopped two thirds of the way
    cut_line = path.read_bytes().count(b"\n") + 1
    with pytest.raises(InputError) as err:
        read_catalog(path)
    assert str(err.value) == f"{path}: ends mid-row at line {cut_line}: the file is truncated (fetch it again)"
    assert cut_line < lines


def test_a_catalog_row_without_a_required_field_is_refused_naming_it(sevir_tree: Path) -> None:
    path = sevir_tree / "CATALOG.csv"
    catalog = pd.read_csv(path)
    catalog.loc[3, ["size_x", "minute_offsets"]] = np.nan
    catalog.loc[:, "episode_id"] = np.nan  # optional: SEVIR's random events have none
    catalog.to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"line 5 \(event '{catalog['id'][3]}'\) has no minute_offsets, size_x$"):
        read_catalog(path)


def test_catalog_keeps_sevir_columns(pristine_tree: Path) -> None:
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    assert tuple(pd.read_csv(pristine_tree / "CATALOG.csv").columns) == CATALOG_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(catalog["time_utc"])


def test_selection_filters_and_thins_evenly(pristine_tree: Path) -> None:
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    everything = select_events(catalog, Selection())
    assert set(everything["id"]) == set(catalog["id"])
    storms = select_events(catalog, Selection(kinds=("storm",)))
    assert storms["id"].str.startswith("S").all() and len(storms) > 0
    complete = select_events(catalog, Selection(require=("vil", "ir069", "ir107", "lght")))
    assert (complete.groupby("id")["img_type"].nunique() == 4).all()
    vil_only = select_events(catalog, Selection(modalities=("vil",)))
    assert set(vil_only["img_type"]) == {"vil"}
    thinned = select_events(catalog, Selection(max_events=3))
    times = sorted(catalog.drop_duplicates("id")["time_utc"])
    chosen = sorted(thinned.drop_duplicates("id")["time_utc"])
    assert len(chosen) == 3 and chosen[0] == times[0] and chosen[-1] == times[-1]
    late = select_events(catalog, Selection(start="2019-01-01"))
    assert (late["time_utc"] >= pd.Timestamp("2019-01-01")).all()


def test_selection_drops_irregular_rows(pristine_tree: Path) -> None:
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    odd = catalog["id"] == catalog["id"].iloc[0]
    catalog.loc[odd, "minute_offsets"] = "-125:-120"
    assert catalog["id"].iloc[0] not in set(select_events(catalog, Selection())["id"])


def test_reader_returns_physical_units(pristine_tree: Path) -> None:
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    with SevirReader(pristine_tree / "data") as reader:
        for _, row in catalog.iterrows():
            if row["img_type"] == "lght":
                assert reader.raw(row).shape[1] == 5
                continue
            value = reader.physical(row)
            assert value.shape == (row["size_y"], row["size_x"], 49) and value.dtype == np.float32
            low, high = (0.0, 100.0) if row["img_type"] == "vil" else (-90.0, 50.0)
            assert low <= np.nanmin(value) and np.nanmax(value) <= high


# ----- bad input: every case is a one-line InputError naming the file, before anything is read


def _first_file(catalog: pd.DataFrame, img_type: str) -> str:
    return catalog.loc[catalog["img_type"] == img_type, "file_name"].iloc[0]


def _assert_names(err: pytest.ExceptionInfo, path: Path, text: str) -> None:
    message = str(err.value)
    assert message.startswith(str(path)) and text in message and "\n" not in message, message


def test_truncated_file(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    path = sevir_tree / "data" / _first_file(catalog, "vil")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, path, "")


def test_foreign_hdf5_without_sevir_datasets(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    path = sevir_tree / "data" / _first_file(catalog, "ir069")
    with h5py.File(path, "w") as handle:
        handle.create_dataset("temperature", data=np.zeros(3))
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, path, "missing dataset 'id'")


def test_data_file_missing(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    path = sevir_tree / "data" / _first_file(catalog, "ir107")
    path.unlink()
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, path, "does not exist")


def test_catalog_event_not_in_raster_file(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    row = catalog[catalog["img_type"] == "vil"].index[0]
    catalog.loc[row, "id"] = "S999999"
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, sevir_tree / "data" / catalog.loc[row, "file_name"], "S999999")


def test_catalog_event_not_in_lightning_file(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    row = catalog[catalog["img_type"] == "lght"].index[0]
    catalog.loc[row, "id"] = "S999999"
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, sevir_tree / "data" / catalog.loc[row, "file_name"], "S999999 listed in the catalog is not")


def test_file_index_out_of_range(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    row = catalog[catalog["img_type"] == "vil"].index[0]
    catalog.loc[row, "file_index"] = 99
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, sevir_tree / "data" / catalog.loc[row, "file_name"], "file_index 99 out of range")


def test_shape_disagrees_with_catalog_size(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    catalog.loc[catalog["img_type"] == "vil", ["size_x", "size_y"]] = 384
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, sevir_tree / "data" / _first_file(catalog, "vil"), "384, 384, 49)")


def test_wrong_dtype(sevir_tree: Path) -> None:
    catalog = read_catalog(sevir_tree / "CATALOG.csv")
    path = sevir_tree / "data" / _first_file(catalog, "vil")
    with h5py.File(path, "a") as handle:
        data = handle["vil"][()]
        del handle["vil"]
        handle.create_dataset("vil", data=data.astype(np.int16))
    with pytest.raises(InputError) as err:
        check_data_files(catalog, sevir_tree / "data")
    _assert_names(err, path, "expected uint8")
