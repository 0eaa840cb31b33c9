"""The synthetic generator writes SEVIR's exact layout, deterministically, with learnable storms."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from sevir_helpers import SMALL, write_sevir_tree

from atmo.nowcast.sevir_files import (
    CATALOG_COLUMNS,
    MINUTE_OFFSETS,
    SEVIR_PROJ,
    SevirReader,
    check_data_files,
    decode_vil,
    read_catalog,
)
from atmo.nowcast.synthetic.sevir import (
    SyntheticSevirConfig,
    laea_forward,
    laea_inverse,
    plan_events,
    simulate_event,
    write_synthetic_file,
)

NAME = re.compile(
    r"(vil|ir069|ir107)/(\d{4})/SEVIR_(VIL|IR069|IR107)_(STORMEVENTS|RANDOMEVENTS)_\2_\d{4}_\d{4}\.h5"
    r"|lght/(\d{4})/SEVIR_LGHT_ALLEVENTS_\5_\d{4}_\d{4}\.h5"
)
# Enough storm pixels for the statistics below, still about two seconds.
STATS = SyntheticSevirConfig(n_events=8, image_size=64, storm_fraction=1.0, missing_fraction=0.0, seed=11)


def test_layout_matches_sevir(pristine_tree: Path) -> None:
    raw = pd.read_csv(pristine_tree / "CATALOG.csv")
    assert tuple(raw.columns) == CATALOG_COLUMNS
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    check_data_files(catalog, pristine_tree / "data")  # the same checks real files get
    assert (catalog["proj"] == SEVIR_PROJ).all() and (catalog["minute_offsets"] == MINUTE_OFFSETS).all()
    assert len(MINUTE_OFFSETS.split(":")) == 49 and MINUTE_OFFSETS.startswith("-120:-115:")
    for name in catalog["file_name"]:
        assert NAME.fullmatch(name), name
        assert (pristine_tree / "data" / name).is_file()
    assert catalog["id"].str.fullmatch(r"S\d{6}|R\d{14}").all()
    storm = catalog["id"].str.startswith("S")
    assert catalog.loc[storm, "event_type"].notna().all() and catalog.loc[~storm, "event_type"].isna().all()
    sizes = {"vil": SMALL.image_size, "ir069": SMALL.image_size // 2, "ir107": SMALL.image_size // 2}
    sizes["lght"] = SMALL.image_size // 8
    assert (catalog["size_x"] == catalog["img_type"].map(sizes)).all()
    assert (catalog["size_x"] == catalog["size_y"]).all()
    assert (catalog["height_m"] == SMALL.image_size * 1000.0).all() and (
        catalog["width_m"] == catalog["height_m"]
    ).all()
    assert (catalog.loc[catalog["img_type"] == "lght", "file_index"] == 0).all()
    assert (catalog["llcrnrlat"] < catalog["urcrnrlat"]).all() and (catalog["llcrnrlon"] < catalog["urcrnrlon"]).all()
    assert catalog["time_utc"].between(pd.Timestamp(SMALL.start), pd.Timestamp(SMALL.end)).all()


def test_file_contents_and_units(pristine_tree: Path) -> None:
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    for _, row in catalog[catalog["img_type"] != "lght"].iterrows():
        with h5py.File(pristine_tree / "data" / row["file_name"]) as handle:
            assert set(handle) == {"id", row["img_type"]}
            assert handle["id"].dtype.kind == "S" and handle["id"][row["file_index"]].decode() == row["id"]
            data = handle[row["img_type"]]
            assert data.dtype == (np.uint8 if row["img_type"] == "vil" else np.int16)
            assert data.shape[1:] == (row["size_y"], row["size_x"], 49)
            values = data[row["file_index"]]
            assert values.min() == row["data_min"] and values.max() == row["data_max"]
    with SevirReader(pristine_tree / "data") as reader:
        for _, row in catalog[catalog["img_type"] == "ir107"].iterrows():
            degc = reader.physical(row)
            assert degc.min() > -75 and degc.max() < 40  # cloud tops to warm ground, degC
        for _, row in catalog[catalog["img_type"] == "lght"].iterrows():
            flashes = reader.raw(row)
            assert flashes.ndim == 2 and flashes.shape[1] == 5
            if len(flashes) == 0:
                continue
            t_s, lat, lon, x, y = flashes.T
            assert t_s.min() >= -7500 and t_s.max() <= 7200  # seconds around time_utc
            assert (x >= 0).all() and (x < row["size_x"]).all() and (y >= 0).all() and (y < row["size_y"]).all()
            assert lat.min() > row["llcrnrlat"] - 0.5 and lat.max() < row["urcrnrlat"] + 0.5
            assert lon.min() > row["llcrnrlon"] - 0.5 and lon.max() < row["urcrnrlon"] + 0.5


def test_projection_round_trip() -> None:
    lat, lon = laea_inverse(np.array([-1.5e6, 0.0, 2.0e5]), np.array([-1.0e6, 0.0, 7.0e5]))
    assert lat[1] == pytest.approx(38.0) and lon[1] == pytest.approx(-98.0)
    x, y = laea_forward(lat, lon)
    np.testing.assert_allclose([x, y], [[-1.5e6, 0.0, 2.0e5], [-1.0e6, 0.0, 7.0e5]], atol=1e-3)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    first = write_sevir_tree(tmp_path / "a")
    second = write_sevir_tree(tmp_path / "b")
    pd.testing.assert_frame_equal(first, second)
    for name in first["file_name"].unique():
        with h5py.File(tmp_path / "a" / "data" / name) as a, h5py.File(tmp_path / "b" / "data" / name) as b:
            assert set(a) == set(b)
            for key in a:
                assert np.array_equal(a[key][()], b[key][()])
    other = SyntheticSevirConfig(**{**SMALL.__dict__, "seed": SMALL.seed + 1})
    assert [p.id for p in plan_events(other)] != [p.id for p in plan_events(SMALL)]


def test_a_file_regenerated_alone_agrees_with_the_catalog(pristine_tree: Path, tmp_path: Path) -> None:
    """One fetch job per file: each file, written alone from the catalog, equals the tree's copy and
    holds the catalog's value ranges."""
    catalog = read_catalog(pristine_tree / "CATALOG.csv")
    for name in catalog["file_name"].unique()[::-1]:  # in reverse, so no file follows its catalog neighbour
        write_synthetic_file(catalog, name, tmp_path / name, SMALL)
        rows = catalog[catalog["file_name"] == name]
        with h5py.File(tmp_path / name) as alone, h5py.File(pristine_tree / "data" / name) as tree:
            assert set(alone) == set(tree)
            for key in alone:
                assert np.array_equal(alone[key][()], tree[key][()])
            if rows["img_type"].iloc[0] != "lght":
                data = alone[rows["img_type"].iloc[0]]
                for _, row in rows.iterrows():
                    values = data[row["file_index"]]
                    assert values.min() == row["data_min"] and values.max() == row["data_max"]


def test_same_seed_same_bytes() -> None:
    plan = plan_events(STATS)[3]
    first, second = simulate_event(plan, STATS), simulate_event(plan, STATS)
    for key in first:
        assert first[key].tobytes() == second[key].tobytes()


@pytest.fixture(scope="module")
def storm_vil() -> list[np.ndarray]:
    return [simulate_event(plan, STATS)["vil"] for plan in plan_events(STATS)]


def test_extremes_occur_in_a_few_percent_of_storm_pixels(storm_vil: list[np.ndarray]) -> None:
    codes = np.stack(storm_vil)
    storm_pixels = (codes >= 16).sum()
    assert 0.01 < (codes >= 181).sum() / storm_pixels < 0.15
    assert 0.001 < (codes >= 219).sum() / storm_pixels < 0.05
    assert np.nanmax(decode_vil(codes)) > 32.2


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation, -1 for a constant field (a shift that leaves no storm in the scored core)."""
    if a.std() == 0 or b.std() == 0:
        return -1.0
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_storm_motion_is_learnable(storm_vil: list[np.ndarray]) -> None:
    """Shifting a frame by the (per event and time, best) displacement predicts 30 min later better
    than persistence does: the fields move coherently, so motion can be learned. Cells initiate and
    decay, so a single time can lack the storms seen 30 minutes later; four times per event are scored."""
    lead, m = 6, 16  # 30 min ahead; displacements up to 16 km (advection is 2-6 km per 5 min)
    core = (slice(m, -m), slice(m, -m))
    wins = scored = 0
    for codes in storm_vil:
        for origin in (12, 18, 24, 30):
            past, future = codes[..., origin].astype(float), codes[..., origin + lead].astype(float)
            if past[core].std() == 0 or future[core].std() == 0:
                continue  # no storm in view at that time
            scored += 1
            persistence = _corr(past[core], future[core])
            best = max(
                _corr(np.roll(past, (dy, dx), axis=(0, 1))[core], future[core])
                for dy in range(-m, m + 1, 2)
                for dx in range(-m, m + 1, 2)
            )
            wins += best > persistence + 0.05
    assert scored >= 20 and wins >= 0.8 * scored


def test_ir_is_cold_over_strong_vil_and_lightning_follows_vil() -> None:
    plan = next(p for p in plan_events(STATS))
    fields = simulate_event(plan, STATS)
    vil = decode_vil(fields["vil"])
    coarse = vil.reshape(32, 2, 32, 2, 49).mean(axis=(1, 3))
    ir107, ir069 = fields["ir107"] / 100.0, fields["ir069"] / 100.0
    strong, clear = coarse > 10, coarse < 0.05
    assert strong.any() and clear.any()
    assert ir107[strong].mean() < -45 < ir107[clear].mean()
    assert ir069[strong].mean() < ir069[clear].mean()
    flashes = fields["lght"]
    assert len(flashes) > 0
    frame = np.ceil((flashes[:, 0] + 7200) / 300).astype(int)
    rows, cols = (flashes[:, 4] * 8).astype(int), (flashes[:, 3] * 8).astype(int)
    assert np.median(vil[rows, cols, frame]) > 12.0
