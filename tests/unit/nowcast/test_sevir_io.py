"""atmo.nowcast.sevir_files: decoding, file naming, catalog reading/selection and the data-file checks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.nowcast.sevir_files import (
    CATALOG_COLUMNS,
    MINUTE_OFFSETS,
    MODALITIES,
    PIXEL_KM,
    SEVIR_PROJ,
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


def _catalog_row(event_id: str, img_type: str, **changes: object) -> dict[str, object]:
    """One complete catalog row of a 48 km storm event on 2019-06-02 (``changes`` replace fields)."""
    pixels = 48 // PIXEL_KM.get(img_type, 1)
    return {
        **dict.fromkeys(CATALOG_COLUMNS, ""),
        "id": event_id,
        "file_name": f"{img_type}/2019/SEVIR_{img_type.upper()}_STORMEVENTS_2019_0101_0630.h5",
        "file_index": 0,
        "img_type": img_type,
        "time_utc": "2019-06-02 12:00:00",
        "minute_offsets": MINUTE_OFFSETS,
        "event_type": "Hail",
        "proj": SEVIR_PROJ,
        "size_x": pixels,
        "size_y": pixels,
        "height_m": 48000.0,
        "width_m": 48000.0,
        **changes,
    }


def test_incomplete_rows_are_dropped_only_where_selected_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "CATALOG.csv"
    rows = [
        _catalog_row("S000001", "vil"),
        _catalog_row("S000001", "ir069"),
        _catalog_row("S000001", "lght"),
        _catalog_row("S000001", "vis", minute_offsets="", size_x=""),  # vis is never selected here
        _catalog_row("S000002", "vil"),
        _catalog_row("S000002", "ir107", size_x=""),  # selected, no size: dropped
        _catalog_row("S000003", "vil", minute_offsets="", size_y=""),  # its VIL dropped: no event left
        _catalog_row("S000004", "ir069"),
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    catalog = read_catalog(path)  # the incomplete rows are no reason to refuse the catalog
    assert len(catalog) == len(rows)
    with caplog.at_level("WARNING", logger="atmo.nowcast.sevir_files"):
        selected = select_events(catalog, Selection(modalities=MODALITIES), path)
    assert sorted(zip(selected["id"], selected["img_type"], strict=True)) == [
        ("S000001", "ir069"),
        ("S000001", "lght"),
        ("S000001", "vil"),
        ("S000002", "vil"),
    ]
    assert selected["size_x"].notna().all() and (selected["minute_offsets"] == MINUTE_OFFSETS).all()
    dropped = [r.getMessage() for r in caplog.records if "lacking a required field" in r.getMessage()]
    assert dropped == [
        "dropping 2 of 7 selected row(s) lacking a required field: "
        "1 ir107 without size_x; 1 vil without minute_offsets, size_y"
    ]
    # with everything complete that it selects, the same catalog gives no such line
    caplog.clear()
    with caplog.at_level("WARNING", logger="atmo.nowcast.sevir_files"):
        only_s1 = select_events(catalog[catalog["id"] != "S000003"], Selection(modalities=("vil", "ir069")), path)
    assert set(only_s1["id"]) == {"S000001", "S000002"}
    assert not [r for r in caplog.records if "lacking" in r.getMessage()]


def test_an_empty_selection_or_a_missing_required_column_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "CATALOG.csv"
    pd.DataFrame([_catalog_row("S000001", "vil", minute_offsets="")]).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        select_events(read_catalog(path), Selection(), path)
    assert str(err.value).startswith(f"{path}: no event of its 0 usable one(s) matches nowcast.selection ")
    assert "\n" not in str(err.value)
    pd.DataFrame([_catalog_row("S000001", "vil")]).drop(columns=["size_x"]).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        read_catalog(path)
    assert str(err.value) == f"{path}: catalog lacks column(s) ['size_x']"


def test_catalog_keeps_sevir_columns(pristine_tree: Path) -> None:
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    assert tuple(pd.read_csv(pristine_tree / "CATALOG.csv").columns) == CATALOG_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(catalog["time_utc"])


def test_selection_filters_and_thins_evenly(pristine_tree: Path) -> None:
    path = pristine_tree / "CATALOG.csv"
    catalog = read_catalog(path)
    everything = select_events(catalog, Selection(), path)
    assert set(everything["id"]) == set(catalog["id"])
    storms = select_events(catalog, Selection(kinds=("storm",)), path)
    assert storms["id"].str.startswith("S").all() and len(storms) > 0
    complete = select_events(catalog, Selection(require=("vil", "ir069", "ir107", "lght")), path)
    assert (complete.groupby("id")["img_type"].nunique() == 4).all()
    vil_only = select_events(catalog, Selection(modalities=("vil",)), path)
    assert set(vil_only["img_type"]) == {"vil"}
    thinned = select_events(catalog, Selection(max_events=3), path)
    times = sorted(catalog.drop_duplicates("id")["time_utc"])
    chosen = sorted(thinned.drop_duplicates("id")["time_utc"])
    assert len(chosen) == 3 and chosen[0] == times[0] and chosen[-1] == times[-1]
    late = select_events(catalog, Selection(start="2019-01-01"), path)
    assert (late["time_utc"] >= pd.Timestamp("2019-01-01")).all()


def test_selection_drops_irregular_rows(pristine_tree: Path) -> None:
    path = pristine_tree / "CATALOG.csv"
    catalog = read_catalog(path)
    odd = catalog["id"] == catalog["id"].iloc[0]
    catalog.loc[odd, "minute_offsets"] = "-125:-120"
    assert catalog["id"].iloc[0] not in set(select_events(catalog, Selection(), path)["id"])


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
