"""riskseg's comparisons: which entries, which pairs, the headline, on per-block confusion matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atmo.metrics.paired import BootstrapSettings
from atmo.metrics.pooled import confusion_statistics
from atmo.publish.comparisons import ABLATION, VS_BEST_BASELINE, WRITE_UP, Entry, compare
from atmo.riskseg.comparison import plan
from atmo.riskseg.entries import ENSEMBLE_SEED, entries

INPUTS = {
    "full": "v25",
    "v2": "v2",
    "crf_ablation": "v25",
    "ablations": {"smote": "v25_no_smote", "encoder": "v25_resnet50"},
    "mode": "plain",
    "other_mode": "tta",
    "crf": {"v25": "v25_ordinal", "v2": "v2", "v25_no_smote": "v25", "v25_resnet50": "v25"},
    "seeds": {"v25": [42, 123, 456], "v2": [42, 123, 456], "v25_no_smote": [42, 123, 456], "v25_resnet50": [1, 2, 3]},
}
SETTINGS = INPUTS


def test_entries_name_products_of_the_score_job_with_their_seeds() -> None:
    found = entries(INPUTS)
    assert found["v25/crf_v25_ordinal"] == {"kind": "model", "products": {ENSEMBLE_SEED: "v25/crf_v25_ordinal"}}
    assert found["v2/crf_v2"]["kind"] == "baseline"
    assert found["v25/single_plain"]["products"] == {
        "42": "v25/seed42_plain",
        "123": "v25/seed123_plain",
        "456": "v25/seed456_plain",
    }
    assert found["v25_resnet50/single_plain"] == {
        "kind": "ablation",
        "products": {"1": "v25_resnet50/seed1_plain", "2": "v25_resnet50/seed2_plain", "3": "v25_resnet50/seed3_plain"},
    }
    assert "v2/single_plain" not in found  # V2 is the baseline through its final product only
    # the full variant's other products, each an ablation of what it changes
    assert found["v25/single_tta"]["products"]["123"] == "v25/seed123_tta"
    assert {
        name: found[name]["kind"] for name in ("v25/ensemble_argmax", "v25/crf_v25", "v25/crf_v2")
    } == dict.fromkeys(("v25/ensemble_argmax", "v25/crf_v25", "v25/crf_v2"), "ablation")


def test_the_plan_compares_kappa_over_test_blocks_with_the_named_pairs() -> None:
    settings = BootstrapSettings(n_boot=200)
    p = plan(SETTINGS, settings)
    assert (p.metric.name, p.resampling.scheme, p.unit_name, p.headline) == (
        "kappa_unweighted",
        "units",
        "test blocks",
        "v25/crf_v25_ordinal",
    )
    assert dict(p.ablations) == {
        "v25_no_smote/single_plain": "v25/single_plain",
        "v25_resnet50/single_plain": "v25/single_plain",
        "v25/single_tta": "v25/single_plain",
        "v25/ensemble_argmax": "v25/ensemble",
        "v25/crf_v25": "v25/crf_v25_ordinal",  # Potts against ordinal, same settings
        "v25/crf_v2": "v25/crf_v25",  # the write-up's enhanced CRF, both Potts
    }
    assert list(p.write_up) == [
        ("v25/ensemble", "v25/single_plain"),
        ("v25/crf_v25_ordinal", "v25/ensemble"),
        ("v25/crf_v25_ordinal", "v2/crf_v2"),
    ]
    with_head = {**SETTINGS, "ablations": {"head": "softmax_head", "ordinal": "no_ordinal"}}
    assert ("softmax_head/single_plain", "no_ordinal/single_plain") in plan(with_head, settings).write_up
    seed_faithful = {**SETTINGS, "crf_ablation": None, "crf": {**SETTINGS["crf"], "v25": "v25"}}
    assert dict(plan(seed_faithful, settings).ablations)["v25/crf_v2"] == "v25/crf_v25"


def _units(rng: np.random.Generator, accuracy: float, n_blocks: int = 12) -> pd.DataFrame:
    """Per-block confusion matrices of a classifier right with probability ``accuracy``."""
    rows = []
    for block in range(n_blocks):
        truth = rng.integers(0, 3, size=400)
        pred = np.where(rng.random(400) < accuracy, truth, rng.integers(0, 3, size=400))
        matrix = np.zeros((3, 3), dtype=int)
        np.add.at(matrix, (truth, pred), 1)
        rows.append({"unit": f"block{block}", **dict(zip(confusion_statistics(3), matrix.ravel(), strict=True))})
    return pd.DataFrame(rows)


def test_the_headline_is_the_full_final_product_against_v2s() -> None:
    rng = np.random.default_rng(0)
    accuracy = {"v25/crf_v25_ordinal": 0.8, "v25/ensemble": 0.75, "v2/crf_v2": 0.5}
    built = []
    for name, entry in entries(INPUTS).items():
        level = accuracy.get(name, 0.7 if entry["kind"] == "model" else 0.69)
        built.append(Entry(name, entry["kind"], {seed: _units(rng, level) for seed in entry["products"]}))
    record = compare(built, plan(SETTINGS, BootstrapSettings(n_boot=300)))
    assert record["best_baseline"] == "v2/crf_v2" and record["units"] == "test blocks"
    headline = record["headline"]
    assert (headline["a"], headline["b"], headline["verdict"]) == ("v25/crf_v25_ordinal", "v2/crf_v2", "beats")
    assert headline["n_units"] == 12 and (headline["n_seeds_a"], headline["n_seeds_b"]) == (1, 1)
    roles = {(r["a"], r["b"]): r["role"] for r in record["comparisons"]}
    assert roles[("v25_no_smote/single_plain", "v25/single_plain")] == ABLATION
    assert roles[("v25/ensemble", "v25/single_plain")] == WRITE_UP
    assert roles[("v25/single_plain", "v2/crf_v2")] == VS_BEST_BASELINE
    assert roles[("v25/crf_v25", "v25/crf_v25_ordinal")] == ABLATION
    assert roles[("v25/crf_v25_ordinal", "v25/ensemble")] == WRITE_UP
    assert roles[("v25/crf_v25_ordinal", "v2/crf_v2")] == VS_BEST_BASELINE  # the write-up pair, once
    ablation = next(r for r in record["comparisons"] if r["a"] == "v25_resnet50/single_plain")
    assert (ablation["n_seeds_a"], ablation["n_seeds_b"]) == (3, 3)
    assert ablation["estimate"] == pytest.approx(
        record["entries"]["v25_resnet50/single_plain"]["mean"] - record["entries"]["v25/single_plain"]["mean"]
    )
