"""The ablation table pairs the right entries, its verdicts come from the intervals; the scores table shows
mean ± sd over seeds with the interval columns; the success report marks targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atmo.errors import InputError
from atmo.riskseg.report import (
    ablation_markdown,
    comparisons,
    oriented,
    read_baseline,
    scores_frame,
    scores_markdown,
    single_seed_scores,
    success_markdown,
)

CONTEXT = {
    "comparison": {
        "full": "v25",
        "v2": "v2",
        "ablations": {"smote": "no_smote", "attention": "no_att", "encoder": "resnet", "ordinal": "no_ord"},
    },
    "mode": "plain",
    "other_mode": "tta",
    "crf": {"v25": "v25", "v2": "v2", "no_smote": "v25", "no_att": "v25", "resnet": "v25", "no_ord": "v25"},
    "seeds": {"v25": [42, 123], "v2": [42], "no_smote": [42, 123], "no_att": [42], "resnet": [42], "no_ord": [42]},
}
SCHEME = "paired bootstrap, 1000 replicates: test blocks resampled with replacement, then each entry's seeds"


def _scores(precision: float, kappa: float = 0.4, recall: float = 0.9) -> dict:
    return {"precision_medium": precision, "kappa_unweighted": kappa, "recall_high": recall, "spearman_rho": 0.6}


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
        "v25/seed42_tta": _scores(0.21),
        "v25/ensemble": _scores(0.22),
        "v25/ensemble_argmax": _scores(float("nan")),
        "v25/ensemble_median": _scores(0.22),
        "v25/crf_v2": _scores(0.23),
        "v25/crf_v25": _scores(0.25, kappa=0.5, recall=0.95),
        "no_smote/seed42_plain": _scores(0.15, kappa=0.30),
        "no_smote/seed123_plain": _scores(0.15, kappa=0.34),
        "no_att/seed42_plain": _scores(0.21),
        "resnet/seed42_plain": _scores(0.19),
        "no_ord/seed42_plain": _scores(0.20),
        "v2/seed42_plain": _scores(0.16),
        "v2/ensemble": _scores(0.16),
        "v2/crf_v2": _scores(0.17, kappa=0.45, recall=0.94),
    }


@pytest.fixture
def record() -> dict:
    return {
        "label": "kappa",
        "scheme": SCHEME,
        "units": "test blocks",
        "comparisons": [
            _result("v25/crf_v25", "v2/crf_v2", 0.05, 0.01, 0.09, "beats", "vs best baseline"),
            _result("v25/single_plain", "v2/crf_v2", -0.05, -0.1, 0.01, "does not separate", "vs best baseline"),
            _result("no_smote/single_plain", "v25/single_plain", -0.08, -0.12, -0.03, "loses", "ablation"),
            _result("no_att/single_plain", "v25/single_plain", 0.01, -0.02, 0.04, "does not separate", "ablation"),
            _result("v25/ensemble", "v25/single_plain", 0.0, -0.02, 0.02, "does not separate", "write-up"),
        ],
        "headline": _result("v25/crf_v25", "v2/crf_v2", 0.05, 0.01, 0.09, "beats", "vs best baseline"),
    }


def _row(table: str, start: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(start))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_every_row_of_the_seed_table_pairs_entries_of_this_run(scores) -> None:
    with_singles = {**scores, **single_seed_scores(CONTEXT, scores)}
    rows = {row.label: (row.before, row.after, row.projected) for row in comparisons(CONTEXT, with_singles)}
    assert rows["single seed -> ensemble"][:2] == ("v25/single_plain", "v25/ensemble")
    assert rows["CRF v2 -> v25 settings (enhanced CRF)"] == ("v25/crf_v2", "v25/crf_v25", (1.5, 0.01, 0.1))
    assert rows["without -> with SMOTE"] == ("no_smote/single_plain", "v25/single_plain", (3.5, 0.025, -0.2))
    assert rows["ResNet-50 -> EfficientNet-B4"][2] == (2.0, 0.02, 0.5)
    assert rows["without -> with TTA"][:2] == ("v25/seed42_plain", "v25/seed42_tta")
    assert rows["V2 -> V2.5 (final products, all components)"][:2] == ("v2/crf_v2", "v25/crf_v25")
    assert rows["argmax -> ordinal median decision (ensemble)"][:2] == ("v25/ensemble_argmax", "v25/ensemble_median")
    assert len(rows) == 11


def test_an_ablation_row_turns_the_comparison_round_and_takes_its_verdict(scores, record) -> None:
    table = ablation_markdown(CONTEXT, {**scores, **single_seed_scores(CONTEXT, scores)}, record)
    smote = _row(table, "| without -> with SMOTE")
    # after - before = full - ablation: the interval and the verdict of (ablation - full), turned round
    assert smote[3:6] == ["+0.080 [+0.030, +0.120]", "+0.025", "beats"]
    assert smote[6:8] == ["+4.0", "+3.5"]  # class-1 precision: seed means 0.19 vs 0.15
    assert _row(table, "| without -> with attention")[5] == "does not separate"
    assert _row(table, "| V2 -> V2.5")[3:6] == ["+0.050 [+0.010, +0.090]", "+0.065", "beats"]
    tta = _row(table, "| without -> with TTA")
    assert tta[3] == "-0.020" and tta[5] == "not compared"  # a point difference, no interval
    assert "held" not in table


def test_oriented_swaps_the_verdict_only_when_the_pair_is_reversed(record) -> None:
    same = oriented(record, "v2/crf_v2", "v25/crf_v25")
    assert (same["low"], same["verdict"]) == (0.01, "beats")
    reversed_ = oriented(record, "v25/crf_v25", "v2/crf_v2")
    assert (reversed_["estimate"], reversed_["low"], reversed_["high"], reversed_["verdict"]) == (
        -0.05,
        -0.09,
        -0.01,
        "loses",
    )
    assert oriented(record, "v25/seed42_plain", "v25/seed42_tta") is None


def test_the_scores_table_gives_mean_sd_over_seeds_and_the_interval_columns(scores, record) -> None:
    table = scores_markdown(CONTEXT, scores, record)
    full = _row(table, "| v25/single_plain")
    assert full[1] == "model" and full[2] == "0.400 ± 0.028"  # kappa 0.42, 0.38: sd (ddof 1) 0.028
    assert full[-3:] == ["42, 123 (mean ± sd)", "-0.050 [-0.100, +0.010] vs v2/crf_v2", "does not separate"]
    ablation = _row(table, "| no_smote/single_plain")
    assert ablation[1] == "ablation" and ablation[-1] == "loses"
    final = _row(table, "| v25/crf_v25")
    assert final[2] == "0.500" and final[-3:] == ["42, 123 (ensemble)", "+0.050 [+0.010, +0.090] vs v2/crf_v2", "beats"]
    assert _row(table, "| v2/crf_v2")[1] == "baseline"
    tta = _row(table, "| v25/seed42_tta")
    assert tta[1] == "extra" and tta[-3:] == ["42", "n/a", "n/a"]
    assert not any(line.startswith("| v25/seed42_plain") for line in table.splitlines())


def test_the_scores_csv_keeps_every_seed(scores) -> None:
    frame = scores_frame(CONTEXT, scores).set_index("product")
    assert frame.loc["v25/seed123_plain", ["entry", "seed", "kind"]].tolist() == ["v25/single_plain", "123", "model"]
    assert frame.loc["v25/crf_v25", ["entry", "seed", "kind"]].tolist() == ["v25/crf_v25", "ensemble", "model"]
    assert frame.loc["v2/seed42_plain", "kind"] == "extra"
    assert frame.loc["v25/seed123_plain", "kappa_unweighted"] == 0.38


def test_success_report_marks_each_target_and_compares_with_a_baseline(scores, record, tmp_path: Path) -> None:
    targets = {"kappa_unweighted": 0.48, "precision_medium": 0.22, "recall_high": 0.93, "spearman_rho": 0.58}
    baseline_path = tmp_path / "v2_metrics.json"
    baseline_path.write_text(json.dumps({"kappa_unweighted": 0.4534, "precision_medium": 0.1785}))
    decision = {
        "decision": "median",
        "setting": "auto",
        "chosen_by": "validation",
        "n_blocks": 13,
        "validation_kappa": {"argmax": 0.3, "median": 0.35},
    }
    text = success_markdown(scores, "v25/crf_v25", targets, read_baseline(baseline_path), {}, record, decision)
    assert "| Cohen's kappa (unweighted) | >= 0.480 | 0.500 | yes | 0.453 | +0.047 |" in text
    assert "| ordinal Spearman rho | >= 0.580 | 0.600 | yes | n/a | n/a |" in text
    assert "4 of 4 targets met" in text
    assert "Headline: `v25/crf_v25` beats `v2/crf_v2` on kappa" in text and "13 test blocks" in text
    assert "Decision rule: `median`" in text and "argmax +0.300, median +0.350" in text
    strict = {**targets, "recall_high": 0.99}
    assert "3 of 4 targets met" in success_markdown(scores, "v25/crf_v25", strict, None, {})


def test_a_baseline_without_known_metrics_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"accuracy": 0.9}))
    with pytest.raises(InputError, match=r"other\.json: has none of the metric keys"):
        read_baseline(path)
