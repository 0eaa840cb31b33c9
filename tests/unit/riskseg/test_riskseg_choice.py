"""The decision rule is fitted on the validation blocks only: test pixels can change nothing of the choice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from riskseg_helpers import write_raster
from sklearn.metrics import cohen_kappa_score

from atmo.errors import InputError
from atmo.io.geotiff import read_geotiff
from atmo.riskseg.choice import choose_decision, read_decision, validation_tiles, write_decision
from atmo.riskseg.decision import Decision, decide
from atmo.riskseg.decision_fit import DecisionSettings

SIZE = 16
# one tile per block: (row, col) -> split
SPLIT_OF_TILE = {(0, 0): "train", (0, 16): "val", (16, 0): "val", (16, 16): "test", (32, 0): "test", (32, 16): "train"}
# The best kappa without a recall floor, on a coarse grid: few candidates for the brute-force check.
KAPPA = DecisionSettings(min_class2_recall=None, threshold_step=0.25)


def _tiles_file(path: Path) -> Path:
    with h5py.File(path, "w") as handle:
        handle.attrs["tile_size"] = SIZE
        for split in ("train", "val", "test"):
            origins = [origin for origin, s in SPLIT_OF_TILE.items() if s == split]
            group = handle.create_group(split)
            group["row"] = np.array([r for r, _ in origins], dtype=np.int64)
            group["col"] = np.array([c for _, c in origins], dtype=np.int64)
            group["block"] = np.array([r // SIZE * 2 + c // SIZE for r, c in origins], dtype=np.int64)
    return path


def _mask(split: str) -> np.ndarray:
    mask = np.zeros((48, 32), dtype=bool)
    for (r, c), s in SPLIT_OF_TILE.items():
        if s == split:
            mask[r : r + SIZE, c : c + SIZE] = True
    return mask


@pytest.fixture
def run(tmp_path: Path) -> dict:
    """Labels and two seeds' probabilities where the ordinal median wins on validation pixels."""
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, size=(48, 32)).astype(np.uint8)
    truth[:3, :3] = 255
    seeds = []
    for k in range(2):
        # mass split between the neighbours of the true class: the median finds the middle class
        probs = rng.dirichlet([1, 1, 1], size=(48, 32)).transpose(2, 0, 1).astype(np.float32)
        probs[:, truth == 1] = np.array([0.42, 0.2, 0.38], dtype=np.float32)[:, None] + 0.01 * k
        probs /= probs.sum(axis=0, keepdims=True)
        probs[:, truth == 255] = -9999.0
        seeds.append(write_raster(tmp_path / f"seed{k}.tif", probs, nodata=-9999.0))
    labels = write_raster(tmp_path / "labels.tif", truth, nodata=255)
    return {"labels": labels, "tiles": _tiles_file(tmp_path / "tiles.h5"), "seeds": seeds, "truth": truth}


def test_validation_tiles_are_the_val_split_only(run) -> None:
    tiles = validation_tiles(run["tiles"])
    assert {(t.row, t.col) for t in tiles} == {o for o, s in SPLIT_OF_TILE.items() if s == "val"}


def _validation_kappas(run: dict) -> dict[Decision, float]:
    """Every candidate's kappa on the labelled validation pixels, rule by rule with scikit-learn."""
    mean = np.mean([read_geotiff(path) for path in run["seeds"]], axis=0)
    val = _mask("val") & (run["truth"] != 255)
    candidates = [Decision("argmax"), Decision("median")]
    candidates += [Decision("thresholds", (float(a), float(b))) for a in KAPPA.grid for b in KAPPA.grid]
    return {d: cohen_kappa_score(run["truth"][val], decide(mean, d)[val]) for d in candidates}


def test_the_choice_is_the_candidate_with_the_best_validation_kappa(run) -> None:
    record = choose_decision(run["labels"], run["tiles"], run["seeds"], KAPPA)
    kappas = _validation_kappas(run)
    best = max(kappas, key=kappas.get)
    assert (record["decision"], record["thresholds"]) == (
        best.rule,
        None if best.thresholds is None else [*best.thresholds],
    )
    assert record["validation"]["criterion"] == pytest.approx(kappas[best])
    assert kappas[best] > kappas[Decision("argmax")]  # the data are made for an ordinal rule to win
    assert record["best_per_rule"]["median"]["criterion"] == pytest.approx(kappas[Decision("median")])
    val = _mask("val") & (run["truth"] != 255)
    assert (record["chosen_by"], record["split"], record["n_blocks"], record["n_pixels"]) == (
        "validation",
        "val",
        2,
        int(val.sum()),
    )


def test_corrupting_the_test_blocks_changes_nothing_of_the_choice(run, tmp_path: Path) -> None:
    before = choose_decision(run["labels"], run["tiles"], run["seeds"], KAPPA)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    test, rng = _mask("test"), np.random.default_rng(7)
    truth = run["truth"].copy()
    truth[test] = rng.integers(0, 3, size=test.sum())
    labels = write_raster(corrupt / "labels.tif", truth, nodata=255)
    seeds = []
    for path in run["seeds"]:
        probs = read_geotiff(path)
        probs[:, test] = np.array([0.0, 0.0, 1.0], dtype=np.float32)[:, None]  # everything "high" on test
        seeds.append(write_raster(corrupt / path.name, probs, nodata=-9999.0))
    tiles = shutil.copy(run["tiles"], corrupt / "tiles.h5")
    after = choose_decision(labels, tiles, seeds, KAPPA)
    assert {k: v for k, v in after.items() if k != "probabilities"} == {
        k: v for k, v in before.items() if k != "probabilities"
    }
    # the same corruption on validation pixels does change the evidence: the check can fail
    val = _mask("val")
    truth[val] = 2
    changed = choose_decision(write_raster(corrupt / "labels_val.tif", truth, nodata=255), tiles, seeds, KAPPA)
    assert changed["best_per_rule"] != before["best_per_rule"]


def test_a_fixed_rule_is_kept_and_recorded_with_its_evidence(run, tmp_path: Path) -> None:
    record = choose_decision(run["labels"], run["tiles"], run["seeds"], DecisionSettings(rule="argmax"))
    assert (record["decision"], record["thresholds"], record["chosen_by"]) == ("argmax", None, "config")
    evidence = record["best_per_rule"]
    assert evidence["median"]["criterion"] > evidence["argmax"]["criterion"] == record["validation"]["criterion"]
    write_decision(tmp_path / "decision.json", record)
    assert read_decision(tmp_path / "decision.json") == Decision("argmax")


def test_fitted_thresholds_round_trip_through_the_decision_file(run, tmp_path: Path) -> None:
    record = choose_decision(run["labels"], run["tiles"], run["seeds"], DecisionSettings(rule="thresholds"))
    assert (record["decision"], record["chosen_by"]) == ("thresholds", "validation")
    write_decision(tmp_path / "decision.json", record)
    assert read_decision(tmp_path / "decision.json") == Decision("thresholds", tuple(record["thresholds"]))


def test_a_decision_file_without_a_known_rule_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "decision.json"
    path.write_text(json.dumps({"decision": "mode", "thresholds": None}))
    with pytest.raises(InputError, match=r"decision\.json: decision rule 'mode'"):
        read_decision(path)
    path.write_text(json.dumps({"decision": "thresholds", "thresholds": None}))
    with pytest.raises(InputError, match=r"decision\.json: decision rule 'thresholds' with thresholds None"):
        read_decision(path)
