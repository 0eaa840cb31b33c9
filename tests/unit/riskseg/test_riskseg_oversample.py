"""Class-1 oversampling of the training tiles: duplication, then SMOTE (atmo.riskseg.oversample)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from scipy.ndimage import gaussian_filter

from atmo.errors import ConfigError, InputError
from atmo.riskseg import LABEL_NODATA
from atmo.riskseg import oversample as ovs
from atmo.riskseg.oversample import OversamplingSettings, duplicate_schedule, oversample_tiles

SIZE, BANDS, N_TILES, N_RICH = 16, 3, 40, 8
# The small test split is about 10 % class 1 before oversampling; targets above that exercise both steps.
SETTINGS = OversamplingSettings(duplicate_target_fraction=0.12, target_fraction=0.2, k_neighbors=3, seed=1)


def make_tiles(rng: np.random.Generator, n_tiles: int, n_rich: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiles with spatial class structure: 0 | 1 | 2 bands of a smooth field, class 1 only in the rich ones.

    Rich tiles (the first ``n_rich``) are 40-55 % class 1; the others touch class 0 directly to class 2,
    so a blend that interpolated labels would create class 1 there. Bands carry continuous noise, so a
    pixel's band values identify the tile it was taken from.
    """
    image = np.zeros((n_tiles, BANDS, SIZE, SIZE), dtype=np.float32)
    label = np.zeros((n_tiles, SIZE, SIZE), dtype=np.uint8)
    for t in range(n_tiles):
        field = gaussian_filter(rng.standard_normal((SIZE, SIZE)), 2.5, mode="wrap")
        rank = field.argsort(axis=None).argsort().reshape(SIZE, SIZE) / field.size
        low, middle = (rng.uniform(0.2, 0.4), rng.uniform(0.4, 0.55)) if t < n_rich else (rng.uniform(0.3, 0.7), 0.0)
        label[t] = np.where(rank < low, 0, np.where(rank < low + middle, 1, 2))
        image[t, 0] = label[t] + 0.3 * rng.standard_normal((SIZE, SIZE))
        image[t, 1] = field / field.std()
        image[t, 2] = rng.standard_normal((SIZE, SIZE))
        if t % 5 == 1:  # a nodata corner in some tiles, rich ones included
            label[t, :4, :4] = LABEL_NODATA
            image[t, :, :4, :4] = 0.0
    return image, label


def write_tiles_file(path: Path, *, seed: int = 7, n_rich: int = N_RICH, all_nodata: bool = False) -> Path:
    """A tiles HDF5 in the layout of atmo.riskseg.tiles: train, val and test groups and the root attrs."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as handle:
        handle.attrs.update(
            {
                "band_names": np.array(["a", "b", "c"], dtype=h5py.string_dtype()),
                "mean": np.array([1.0, 2.0, 3.0]),
                "std": np.array([0.5, 1.0, 2.0]),
                "tile_size": SIZE,
                "label_nodata": LABEL_NODATA,
            }
        )
        for split, n in (("train", N_TILES), ("val", 6), ("test", 6)):
            image, label = make_tiles(rng, n, n_rich if split == "train" else 2)
            if all_nodata and split == "train":
                image[:], label[:] = 0.0, LABEL_NODATA
            group = handle.create_group(split)
            group.create_dataset("image", data=image, chunks=(1, BANDS, SIZE, SIZE))
            group.create_dataset("label", data=label, chunks=(1, SIZE, SIZE), compression="gzip")
            for name in ("row", "col", "block"):
                group.create_dataset(name, data=np.arange(n, dtype=np.int64))
    return path


def run(tmp_path: Path, settings: OversamplingSettings = SETTINGS, name: str = "out", **tiles) -> tuple[dict, dict]:
    """Oversample a fresh test tiles file; return the summary and every output array of ``train``."""
    tiles_path = write_tiles_file(tmp_path / f"{name}_tiles.h5", **tiles)
    summary = oversample_tiles(tiles_path, tmp_path / f"{name}.h5", tmp_path / f"{name}.json", settings)
    with h5py.File(tmp_path / f"{name}.h5") as handle:
        arrays = {key: handle[f"train/{key}"][:] for key in handle["train"]}
    with h5py.File(tiles_path) as handle:
        arrays["orig_image"], arrays["orig_label"] = handle["train/image"][:], handle["train/label"][:]
    return summary, arrays


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    tmp_path = tmp_path_factory.mktemp("oversample")
    summary, arrays = run(tmp_path)
    return summary, arrays, tmp_path


def class_counts(label: np.ndarray) -> np.ndarray:
    return np.bincount(label[label != LABEL_NODATA].ravel(), minlength=3)[:3]


def test_sources_are_ordered_originals_duplicates_synthetic_and_originals_unchanged(result) -> None:
    summary, arrays, _ = result
    n_orig, n_dup, n_syn = summary["n_original"], summary["n_duplicated"], summary["n_synthetic"]
    assert n_orig == N_TILES and n_dup > 0 and n_syn > 0, "both steps must act on the test split"
    expected = [0] * n_orig + [1] * n_dup + [2] * n_syn
    assert arrays["source"].tolist() == expected and arrays["source"].dtype == np.int8
    assert arrays["image"].shape == (n_orig + n_dup + n_syn, BANDS, SIZE, SIZE)
    assert arrays["image"].dtype == np.float32 and arrays["label"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["image"][:n_orig], arrays["orig_image"])
    np.testing.assert_array_equal(arrays["label"][:n_orig], arrays["orig_label"])
    assert arrays["parent_a"][:n_orig].tolist() == list(range(n_orig))
    assert (arrays["parent_b"][: n_orig + n_dup] == -1).all() and (arrays["lambda"][: n_orig + n_dup] == 0).all()


def test_duplicates_are_exact_copies_of_rich_tiles_round_robin(result) -> None:
    summary, arrays, _ = result
    n_orig, n_dup = summary["n_original"], summary["n_duplicated"]
    counts = np.stack([class_counts(tile) for tile in arrays["orig_label"]])
    rich = np.flatnonzero(counts[:, 1] >= SETTINGS.class1_min_share * counts.sum(axis=1))
    assert len(rich) == summary["n_rich"] == N_RICH
    parents = arrays["parent_a"][n_orig : n_orig + n_dup]
    assert parents.tolist() == [rich[i % len(rich)] for i in range(n_dup)]
    for offset, parent in enumerate(parents, start=n_orig):
        np.testing.assert_array_equal(arrays["image"][offset], arrays["orig_image"][parent])
        np.testing.assert_array_equal(arrays["label"][offset], arrays["orig_label"][parent])


def test_duplication_stops_as_soon_as_the_target_is_reached(result) -> None:
    summary, arrays, _ = result
    n_dup_end = summary["n_original"] + summary["n_duplicated"]
    after = class_counts(arrays["label"][:n_dup_end])
    one_less = class_counts(arrays["label"][: n_dup_end - 1])
    assert after[1] / after.sum() >= SETTINGS.duplicate_target_fraction > one_less[1] / one_less.sum()
    assert summary["class1_share"]["after_duplication"] == pytest.approx(after[1] / after.sum())


def test_final_share_reaches_the_smote_target_within_one_tile(result) -> None:
    summary, arrays, tmp_path = result
    final = class_counts(arrays["label"])
    assert abs(final[1] / final.sum() - SETTINGS.target_fraction) <= SIZE * SIZE / final.sum()
    before = class_counts(arrays["orig_label"])
    for stage, counts in (("before", before), ("after_smote", final)):
        assert summary["valid_pixels"][stage] == counts.sum()
        assert summary["class1_share"][stage] == pytest.approx(counts[1] / counts.sum())
        assert [summary["class_fractions"][stage][str(c)] for c in range(3)] == pytest.approx(counts / counts.sum())
    assert summary["class1_share"]["before"] < SETTINGS.duplicate_target_fraction
    assert summary["settings"]["target_fraction"] == SETTINGS.target_fraction
    assert json.loads((tmp_path / "out.json").read_text()) == summary


def test_every_synthetic_pixel_takes_label_and_bands_from_one_parent(result) -> None:
    _, arrays, _ = result
    synthetic = np.flatnonzero(arrays["source"] == 2)
    a, b = arrays["parent_a"][synthetic], arrays["parent_b"][synthetic]
    assert (a != b).all() and (a >= 0).all() and (b >= 0).all()
    image, label = arrays["image"][synthetic], arrays["label"][synthetic]
    image_a, image_b = arrays["orig_image"][a], arrays["orig_image"][b]
    label_a, label_b = arrays["orig_label"][a], arrays["orig_label"][b]
    from_a = (image == image_a).all(axis=1) & (label == label_a)
    from_b = (image == image_b).all(axis=1) & (label == label_b)
    assert (from_a | from_b).all(), "a pixel mixes the parents or was invented"
    assert from_a.any() and from_b.any()
    # Where neither parent is class 1 (e.g. one 0, the other 2) the blend must not be class 1 either.
    neither = (label_a != 1) & (label_b != 1)
    assert ((label_a == 0) & (label_b == 2))[neither].any(), "the test needs 0-vs-2 pixels to be meaningful"
    assert not (label[neither] == 1).any()
    nodata = label == LABEL_NODATA
    assert nodata.any() and (image.transpose(0, 2, 3, 1)[nodata] == 0).all()


def test_parent_b_share_is_lambda_and_its_regions_are_contiguous(result) -> None:
    _, arrays, _ = result
    synthetic = np.flatnonzero(arrays["source"] == 2)
    lam = arrays["lambda"][synthetic]
    assert ((lam >= 0) & (lam <= 1)).all() and np.ptp(lam) > 0.2
    agreement = []
    for s, tile in enumerate(synthetic):
        equal_a, equal_b = (
            (arrays["image"][tile] == arrays["orig_image"][arrays[parent][tile]]).all(axis=0)
            for parent in ("parent_a", "parent_b")
        )
        # Pixels that are nodata in both parents (shared nodata corners) could come from either.
        from_b, either = equal_b & ~equal_a, equal_a & equal_b
        expected = float(lam[s]) * SIZE * SIZE  # the stored λ is float32: allow its rounding
        assert from_b.sum() - 1 <= expected <= from_b.sum() + either.sum() + 1
        if 0.3 < lam[s] < 0.7:
            agreement.append(
                np.mean(np.r_[(from_b[1:] == from_b[:-1]).ravel(), (from_b[:, 1:] == from_b[:, :-1]).ravel()])
            )
    # Independent pixels at λ ~ 0.5 agree with a neighbour half the time; a smooth mask almost always.
    assert agreement and np.mean(agreement) > 0.85


def descriptors(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Per-band mean and std over valid pixels, then the three class shares (the documented descriptor)."""
    rows = []
    for tile_image, tile_label in zip(image, label, strict=True):
        valid = tile_label != LABEL_NODATA
        pixels = tile_image[:, valid].astype(np.float64)
        rows.append(np.r_[pixels.mean(axis=1), pixels.std(axis=1), class_counts(tile_label) / valid.sum()])
    return np.array(rows)


def test_synthetic_tiles_follow_smote_interpolation_of_the_descriptors(result) -> None:
    summary, arrays, _ = result
    x = descriptors(arrays["orig_image"], arrays["orig_label"])
    rich = x[:, BANDS * 2 + 1] >= SETTINGS.class1_min_share
    smote = SMOTE(
        sampling_strategy={1: int(rich.sum()) + summary["n_synthetic"]},
        k_neighbors=SETTINGS.k_neighbors,
        random_state=SETTINGS.seed,
    )
    x_res, _ = smote.fit_resample(x, rich.astype(int))
    x_new = x_res[len(x) :]
    synthetic = np.flatnonzero(arrays["source"] == 2)
    assert len(x_new) == len(synthetic)
    a, b = arrays["parent_a"][synthetic], arrays["parent_b"][synthetic]
    lam = arrays["lambda"][synthetic].astype(np.float64)[:, None]
    assert rich[a].all() and rich[b].all(), "both parents are rich original tiles"
    np.testing.assert_allclose(x[a] + lam * (x[b] - x[a]), x_new, atol=1e-5)
    rich_index = np.flatnonzero(rich)
    neighbours = smote.nn_k_.kneighbors(x[rich_index], return_distance=False)[:, 1:]
    position = {tile: i for i, tile in enumerate(rich_index)}
    for tile_a, tile_b in zip(a, b, strict=True):
        assert position[tile_b] in neighbours[position[tile_a]]


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    _, first = run(tmp_path, name="first")
    _, again = run(tmp_path, name="again")
    _, other = run(tmp_path, dataclasses.replace(SETTINGS, seed=2), name="other")
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["parent_a"], other["parent_a"]) or not np.array_equal(
        first["label"], other["label"]
    )


def test_streaming_in_one_tile_chunks_gives_the_same_result(tmp_path: Path, monkeypatch) -> None:
    _, whole = run(tmp_path, name="whole")
    monkeypatch.setattr(ovs, "_CHUNK_BYTES", 1)
    monkeypatch.setattr(ovs, "_PROJECTION_ELEMENTS", 1)
    _, chunked = run(tmp_path, name="chunked")
    for key in whole:
        np.testing.assert_array_equal(whole[key], chunked[key])


def test_output_holds_train_only_with_the_tiles_attrs(result) -> None:
    _, _, tmp_path = result
    with h5py.File(tmp_path / "out.h5") as handle, h5py.File(tmp_path / "out_tiles.h5") as tiles:
        assert list(handle) == ["train"]
        assert sorted(handle["train"]) == ["image", "label", "lambda", "parent_a", "parent_b", "source"]
        assert list(handle.attrs["band_names"].astype(str)) == ["a", "b", "c"]
        np.testing.assert_array_equal(handle.attrs["mean"], tiles.attrs["mean"])
        assert handle["train/image"].chunks == (1, BANDS, SIZE, SIZE)
        assert handle["train/label"].chunks == (1, SIZE, SIZE)
        assert json.loads(handle["train"].attrs["oversampling"])["seed"] == SETTINGS.seed


def test_without_smote_only_duplicates_are_added(tmp_path: Path) -> None:
    settings = OversamplingSettings(duplicate_target_fraction=0.12, smote=False, target_fraction=0.01)
    summary, arrays = run(tmp_path, settings)
    assert summary["n_synthetic"] == 0 and summary["n_duplicated"] > 0
    assert set(arrays["source"].tolist()) == {0, 1}
    assert summary["class1_share"]["after_smote"] == summary["class1_share"]["after_duplication"]


def test_target_already_reached_adds_nothing(tmp_path: Path) -> None:
    settings = OversamplingSettings(duplicate_target_fraction=0.01, target_fraction=0.02, k_neighbors=3)
    summary, arrays = run(tmp_path, settings)
    assert summary["n_duplicated"] == summary["n_synthetic"] == 0
    np.testing.assert_array_equal(arrays["label"], arrays["orig_label"])


def test_too_few_rich_tiles_for_smote_names_the_key(tmp_path: Path) -> None:
    settings = OversamplingSettings(duplicate_target_fraction=0.12, target_fraction=0.2, k_neighbors=N_RICH)
    key = r"key 'riskseg\.oversampling\.<name>\.k_neighbors'"
    with pytest.raises(ConfigError, match=rf"{key}.*needs at least 9.* has 8"):
        run(tmp_path, settings)
    assert not (tmp_path / "out.h5").exists() and not (tmp_path / "out.json").exists()


def test_config_errors_name_the_given_config_path(tmp_path: Path) -> None:
    tiles_path = write_tiles_file(tmp_path / "tiles.h5")
    settings = OversamplingSettings(k_neighbors=N_RICH)
    with pytest.raises(ConfigError, match=r"key 'riskseg\.oversampling\.smote\.k_neighbors'"):
        oversample_tiles(
            tiles_path, tmp_path / "o.h5", tmp_path / "o.json", settings, where="riskseg.oversampling.smote"
        )


def test_no_rich_tile_is_a_config_error(tmp_path: Path) -> None:
    settings = OversamplingSettings(class1_min_share=0.9, duplicate_target_fraction=0.12, target_fraction=0.2)
    with pytest.raises(ConfigError, match=r"key 'riskseg\.oversampling\.<name>\.class1_min_share'"):
        run(tmp_path, settings)


def test_target_above_the_rich_tiles_own_share_is_a_config_error(tmp_path: Path) -> None:
    settings = OversamplingSettings(duplicate_target_fraction=0.12, target_fraction=0.6, k_neighbors=3)
    with pytest.raises(ConfigError, match=r"key 'riskseg\.oversampling\.<name>\.target_fraction'.*cannot be reached"):
        run(tmp_path, settings)


def test_all_nodata_training_tiles_are_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no valid pixel"):
        run(tmp_path, all_nodata=True)


def test_training_split_without_class_1_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no class-1 pixel"):
        run(tmp_path, n_rich=0)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"class1_min_share": 0.0}, "class1_min_share"),
        ({"duplicate_target_fraction": 1.0}, "duplicate_target_fraction"),
        ({"target_fraction": 0.04}, "target_fraction"),
        ({"k_neighbors": 0}, "k_neighbors"),
        ({"mask_correlation_px": 0.0}, "mask_correlation_px"),
        ({"seed": -1}, "seed"),
    ],
)
def test_settings_out_of_range_name_their_key(changes: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"key 'riskseg\.oversampling\.<name>\.{key}'"):
        OversamplingSettings(**changes)


def test_target_below_duplication_target_is_fine_without_smote() -> None:
    assert OversamplingSettings(smote=False, target_fraction=0.04).target_fraction == 0.04


def test_duplicate_schedule_is_the_shortest_round_robin_prefix() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(3, 30))
        valid = rng.integers(50, 257, n)
        counts = np.zeros((n, 3), dtype=np.int64)
        counts[:, 1] = (rng.uniform(0, 0.6, n) * valid).astype(int)
        counts[:, 0] = valid - counts[:, 1]
        rich = counts[:, 1] >= 0.3 * valid
        target = rng.uniform(0.05, 0.9 * counts[rich, 1].sum() / max(counts[rich].sum(), 1)) if rich.any() else 0.0
        if not rich.any() or target <= 0:
            continue
        naive, total, order = [], counts.sum(axis=0).astype(float), np.flatnonzero(rich)
        while total[1] < target * total.sum():
            tile = order[len(naive) % len(order)]
            naive.append(tile)
            total += counts[tile]
        assert duplicate_schedule(counts, rich, target).tolist() == naive
