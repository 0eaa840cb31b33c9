"""The ablation table pairs the right entries, its verdicts come from the intervals; the scores table shows
mean ± sd over seeds with the interval columns; the success report marks targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atmo.errors import InputError
from atmo.riskseg.results import (
    ablation_markdown,
    comparisons,
    crf_class_lines,
    oriented,
    read_baseline,
    scores_frame,
    scores_markdown,
    single_seed_scores,
    success_markdown,
)

CONTEXT = {
    "full": "v25",
    "v2": "v2",
    "crf_ablation": "v25",
    "ablations": {
        "smote": "no_smote",
        "attention": "no_att",
        "encoder": "resnet",
        "ordinal": "no_ord",
        "head": "softmax_head",
    },
    "mode": "plain",
    "other_mode": "tta",
    "crf": {
        "v25": "v25_ordinal",
        "v2": "v2",
        "no_smote": "v25_ordinal",
        "no_att": "v25_ordinal",
        "resnet": "v25_ordinal",
        "no_ord": "v25_ordinal",
        "softmax_head": "v25_ordinal",
    },
    "crf_compat": {"v2": "potts", "v25": "potts", "v25_ordinal": "ordinal"},
    "head": {
        "v25": "coral",
        "v2": "softmax",
        "no_smote": "coral",
        "no_att": "coral",
        "resnet": "coral",
        "no_ord": "softmax",
        "softmax_head": "softmax",
    },
    "seeds": {
        "v25": [42, 123],
        "v2": [42],
        "no_smote": [42, 123],
        "no_att": [42],
        "resnet": [42],
        "no_ord": [42],
        "softmax_head": [42],
    },
}
SCHEME = "paired bootstrap, 1000 replicates: test blocks resampled with replacement, then each entry's seeds"


def _scores(precision: float, kappa: float = 0.4, recall: float = 0.9, predicted: tuple = (60, 10, 30)) -> dict:
    """Scores of one product; ``predicted``: its pixels per class (the confusion's column sums)."""
    confusion = [[predicted[0], 0, 0], [0, predicted[1], 0], [0, 0, predicted[2]]]
    return {
        "precision_medium": precision,
        "kappa_unweighted": kappa,
        "recall_high": recall,
        "spearman_rho": 0.6,
        "confusion": confusion,
    }


def _result(a: str, b: str, estimate: float, low: float, high: float, verdict: str, role: str) -> dict:
    return {
        "a": a,
        "b": b,
        "estimate": estimate,
        "low": low,
        "high": high,
        "verdict": verdict,
        "role": role,
        "n_units": 13,
        "n_seeds_a": 2,
        "n_seeds_b": 2,
    }


@pytest.fixture
def scores() -> dict:
    return {
        "v25/seed42_plain": _scores(0.20, kappa=0.42),
        "v25/seed123_plain": _scores(0.18, kappa=0.38),
        "v25/seed42_tta": _scores(0.21, kappa=0.40),
        "v25/seed123_tta": _scores(0.21, kappa=0.36),
        "v25/ensemble": _scores(0.22),
        "v25/ensemble_argmax": _scores(float("nan"), predicted=(70, 0, 30)),
        "v25/ensemble_median": _scores(0.22),
        "v25/crf_v2": _scores(0.23, predicted=(68, 0, 32)),
        "v25/crf_v25": _scores(0.24, predicted=(66, 3, 31)),
        "v25/crf_v25_ordinal": _scores(0.25, kappa=0.5, recall=0.95, predicted=(62, 8, 30)),
        "no_smote/seed42_plain": _scores(0.15, kappa=0.30),
        "no_smote/seed123_plain": _scores(0.15, kappa=0.34),
        "no_att/seed42_plain": _scores(0.21),
        "resnet/seed42_plain": _scores(0.19),
        "no_ord/seed42_plain": _scores(0.20),
        "softmax_head/seed42_plain": _scores(0.12),
        "v2/seed42_plain": _scores(0.16),
        "v2/ensemble": _scores(0.16, predicted=(70, 4, 26)),
        "v2/crf_v2": _scores(0.17, kappa=0.45, recall=0.94, predicted=(71, 0, 29)),
    }


@pytest.fixture
def record() -> dict:
    return {
        "label": "kappa",
        "scheme": SCHEME,
        "units": "test blocks",
        "comparisons": [
            _result("v25/crf_v25_ordinal", "v2/crf_v2", 0.05, 0.01, 0.09, "beats", "vs best baseline"),
            _result("v25/single_plain", "v2/crf_v2", -0.05, -0.1, 0.01, "does not separate", "vs best baseline"),
            _result("no_smote/single_plain", "v25/single_plain", -0.08, -0.12, -0.03, "loses", "ablation"),
            _result("no_att/single_plain", "v25/single_plain", 0.01, -0.02, 0.04, "does not separate", "ablation"),
            _result("v25/single_tta", "v25/single_plain", -0.02, -0.05, 0.01, "does not separate", "ablation"),
            _result("v25/crf_v25", "v25/crf_v25_ordinal", -0.03, -0.06, -0.01, "loses", "ablation"),
            _result("v25/ensemble", "v25/single_plain", 0.0, -0.02, 0.02, "does not separate", "write-up"),
        ],
        "headline": _result("v25/crf_v25_ordinal", "v2/crf_v2", 0.05, 0.01, 0.09, "beats", "vs best baseline"),
    }


def _row(table: str, start: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(start))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_every_row_of_the_write_up_table_pairs_entries_of_this_run(scores) -> None:
    with_singles = {**scores, **single_seed_scores(CONTEXT, scores)}
    rows = {row.label: (row.before, row.after, row.projected) for row in comparisons(CONTEXT, with_singles)}
    assert rows["single seed -> ensemble"] == ("v25/single_plain", "v25/ensemble", (2.5, None, None))
    assert rows["no CRF -> CRF v25_ordinal (ordinal)"][:2] == ("v25/ensemble", "v25/crf_v25_ordinal")
    assert rows["CRF v25 -> v25_ordinal (potts -> ordinal compatibility)"][:2] == ("v25/crf_v25", "v25/crf_v25_ordinal")
    assert rows["CRF v2 -> v25 settings (enhanced CRF)"] == ("v25/crf_v2", "v25/crf_v25", (1.5, 0.01, 0.1))
    assert rows["without -> with SMOTE"] == ("no_smote/single_plain", "v25/single_plain", (3.5, 0.025, -0.2))
    assert rows["ResNet-50 -> EfficientNet-B4"][2] == (2.0, 0.02, 0.5)
    assert rows["without -> with CORAL ordinal loss (and its head)"][:2] == ("no_ord/single_plain", "v25/single_plain")
    assert rows["softmax -> coral head (same weights)"][:2] == ("softmax_head/single_plain", "v25/single_plain")
    assert rows["without -> with CORAL ordinal loss (softmax head on both)"][:2] == (
        "no_ord/single_plain",
        "softmax_head/single_plain",
    )
    assert rows["argmax -> decision fitted on validation (ensemble)"][:2] == ("v25/ensemble_argmax", "v25/ensemble")
    assert rows["without -> with TTA"] == ("v25/single_plain", "v25/single_tta", (1.5, 0.015, 1.5))
    assert rows["V2 -> V2.5 (final products, all components)"][:2] == ("v2/crf_v2", "v25/crf_v25_ordinal")
    assert len(rows) == 13


def test_an_ablation_row_turns_the_comparison_round_and_takes_its_verdict(scores, record) -> None:
    table = ablation_markdown(CONTEXT, {**scores, **single_seed_scores(CONTEXT, scores)}, record)
    smote = _row(table, "| without -> with SMOTE")
    # after - before = full - ablation: the interval and the verdict of (ablation - full), turned round
    assert smote[3:6] == ["+0.080 [+0.030, +0.120]", "+0.025", "beats"]
    assert smote[6:8] == ["+4.0", "+3.5"]  # class-1 precision: seed means 0.19 vs 0.15
    assert _row(table, "| without -> with attention")[5] == "does not separate"
    assert _row(table, "| V2 -> V2.5")[3:6] == ["+0.050 [+0.010, +0.090]", "+0.065", "beats"]
    assert _row(table, "| without -> with TTA")[3:6] == ["-0.020 [-0.050, +0.010]", "+0.015", "does not separate"]
    assert _row(table, "| CRF v25 -> v25_ordinal")[3:6] == ["+0.030 [+0.010, +0.060]", "not projected", "beats"]
    head = _row(table, "| softmax -> coral head")
    assert head[3:6] == ["+0.000", "not projected", "not compared"]  # a point difference, no interval
    assert head[6] == "+7.0"  # class-1 precision: 0.19 (seed mean) against 0.12
    assert "held" not in table


def test_oriented_swaps_the_verdict_only_when_the_pair_is_reversed(record) -> None:
    same = oriented(record, "v2/crf_v2", "v25/crf_v25_ordinal")
    assert (same["low"], same["verdict"]) == (0.01, "beats")
    reversed_ = oriented(record, "v25/crf_v25_ordinal", "v2/crf_v2")
    assert (reversed_["estimate"], reversed_["low"], reversed_["high"], reversed_["verdict"]) == (
        -0.05,
        -0.09,
        -0.01,
        "loses",
    )
    assert oriented(record, "v25/ensemble_argmax", "v25/ensemble") is None


def test_the_scores_table_gives_mean_sd_over_seeds_and_the_interval_columns(scores, record) -> None:
    table = scores_markdown(CONTEXT, scores, record)
    full = _row(table, "| v25/single_plain")
    assert full[1] == "model" and full[2] == "0.400 ± 0.028"  # kappa 0.42, 0.38: sd (ddof 1) 0.028
    assert full[-3:] == ["42, 123 (mean ± sd)", "-0.050 [-0.100, +0.010] vs v2/crf_v2", "does not separate"]
    ablation = _row(table, "| no_smote/single_plain")
    assert ablation[1] == "ablation" and ablation[-1] == "loses"
    final = _row(table, "| v25/crf_v25_ordinal")
    assert final[2] == "0.500" and final[-3:] == ["42, 123 (ensemble)", "+0.050 [+0.010, +0.090] vs v2/crf_v2", "beats"]
    assert _row(table, "| v2/crf_v2")[1] == "baseline"
    tta = _row(table, "| v25/single_tta")
    assert tta[1] == "ablation" and tta[2] == "0.380 ± 0.028"
    assert tta[-3:] == ["42, 123 (mean ± sd)", "-0.020 [-0.050, +0.010] vs v25/single_plain", "does not separate"]
    assert not any(line.startswith(("| v25/seed42_plain", "| v25/seed42_tta")) for line in table.splitlines())


def test_the_scores_csv_keeps_every_seed(scores) -> None:
    frame = scores_frame(CONTEXT, scores).set_index("product")
    assert frame.loc["v25/seed123_plain", ["entry", "seed", "kind"]].tolist() == ["v25/single_plain", "123", "model"]
    assert frame.loc["v25/crf_v25_ordinal", ["entry", "seed", "kind"]].tolist() == [
        "v25/crf_v25_ordinal",
        "ensemble",
        "model",
    ]
    assert frame.loc["v25/seed42_tta", ["entry", "seed", "kind"]].tolist() == ["v25/single_tta", "42", "ablation"]
    assert frame.loc["v2/seed42_plain", "kind"] == "extra"
    assert frame.loc["v25/seed123_plain", "kappa_unweighted"] == 0.38


def _decision(rule: str, thresholds: list | None, met: bool, kappa: float) -> dict:
    return {
        "decision": rule,
        "thresholds": thresholds,
        "setting": "auto",
        "chosen_by": "validation",
        "criterion": "kappa_unweighted",
        "min_class2_recall": 0.93,
        "constraint_met": met,
        "validation": {"criterion": kappa, "recall_high": 0.95 if met else 0.9, "precision_medium": None},
        "n_blocks": 13,
        "n_pixels": 4000,
    }


def test_success_report_marks_each_target_and_compares_with_a_baseline(scores, record, tmp_path: Path) -> None:
    targets = {"kappa_unweighted": 0.48, "precision_medium": 0.22, "recall_high": 0.93, "spearman_rho": 0.58}
    baseline_path = tmp_path / "v2_metrics.json"
    baseline_path.write_text(json.dumps({"kappa_unweighted": 0.4534, "precision_medium": 0.1785}))
    decisions = {"v25": _decision("thresholds", [0.3, 0.45], True, 0.61), "v2": _decision("argmax", None, False, 0.5)}
    final = "v25/crf_v25_ordinal"
    text = success_markdown(scores, final, targets, read_baseline(baseline_path), {}, record, decisions)
    assert "| Cohen's kappa (unweighted) | >= 0.480 | 0.500 | yes | 0.453 | +0.047 |" in text
    assert "| ordinal Spearman rho | >= 0.580 | 0.600 | yes | n/a | n/a |" in text
    assert "4 of 4 targets met" in text
    assert "Headline: `v25/crf_v25_ordinal` beats `v2/crf_v2` on kappa" in text and "13 test blocks" in text
    assert "Decision rule of `v25`: `thresholds P(y>=1) >= 0.30, P(y>=2) >= 0.45` (fitted on validation, " in text
    assert "criterion kappa_unweighted subject to class-2 recall >= 0.93, scored on 13 validation blocks" in text
    assert "| v25 | thresholds P(y>=1) >= 0.30, P(y>=2) >= 0.45 | 0.610 | 0.950 | n/a | yes |" in text
    assert "| v2 | argmax | 0.500 | 0.900 | n/a | no |" in text
    assert "floor for `v2`: the rule with the highest class-2 recall was taken instead" in text
    strict = {**targets, "recall_high": 0.99}
    assert "3 of 4 targets met" in success_markdown(scores, final, strict, None, {})


def test_every_crf_product_gets_its_class_counts_and_an_erased_class_is_a_finding(scores) -> None:
    lines = crf_class_lines(CONTEXT, scores)
    assert "* `v25/crf_v25_ordinal` (ordinal): 60 -> 62 / 10 -> 8 / 30 -> 30" in lines
    assert "* `v25/crf_v25` (potts): 60 -> 66 / 10 -> 3 / 30 -> 31" in lines
    assert "* `v2/crf_v2` (potts): 70 -> 71 / 4 -> 0 / 26 -> 29" in lines
    findings = [line for line in lines if line.startswith("**Finding:**")]
    assert findings == [
        "**Finding:** the CRF `v2` (potts) erases the medium class of `v2`: its ensemble predicts 4 medium pixels "
        "on the test blocks, the CRF none.",
        "**Finding:** the CRF `v2` (potts) erases the medium class of `v25`: its ensemble predicts 10 medium pixels "
        "on the test blocks, the CRF none.",
    ]


def test_a_baseline_without_known_metrics_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"accuracy": 0.9}))
    with pytest.raises(InputError, match=r"other\.json: has none of the metric keys"):
        read_baseline(path)
