"""The ablation table pairs the right products and computes deltas; the success report marks targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atmo.errors import InputError
from atmo.riskseg.report import ablation_markdown, comparisons, read_baseline, success_markdown, verdict

CONTEXT = {
    "comparison": {
        "full": "v25",
        "v2": "v2",
        "ablations": {"smote": "no_smote", "attention": "no_att", "encoder": "resnet", "ordinal": "no_ord"},
    },
    "mode": "plain",
    "other_mode": "tta",
    "decision": "median",
    "other_decision": "argmax",
    "crf": {"v25": "v25", "v2": "v2", "no_smote": "v25", "no_att": "v25", "resnet": "v25", "no_ord": "v25"},
    "seeds": {"v25": [42, 123], "v2": [42], "no_smote": [42], "no_att": [42], "resnet": [42], "no_ord": [42]},
}


def _scores(precision: float, kappa: float = 0.4, recall: float = 0.9) -> dict:
    return {"precision_medium": precision, "kappa_unweighted": kappa, "recall_high": recall, "spearman_rho": 0.6}


@pytest.fixture
def scores() -> dict:
    products = {
        "v25/seed42_plain": _scores(0.20),
        "v25/seed123_plain": _scores(0.18, kappa=0.38),
        "v25/seed42_tta": _scores(0.21),
        "v25/ensemble": _scores(0.22),
        "v25/ensemble_argmax": _scores(float("nan")),
        "v25/crf_v2": _scores(0.23),
        "v25/crf_v25": _scores(0.25, kappa=0.5, recall=0.95),
        "no_smote/seed42_plain": _scores(0.15),
        "no_att/seed42_plain": _scores(0.21),
        "resnet/seed42_plain": _scores(0.19),
        "no_ord/seed42_plain": _scores(0.20),
        "v2/crf_v2": _scores(0.17, kappa=0.45, recall=0.94),
    }
    return products


def test_every_row_of_the_seed_table_pairs_products_of_this_run(scores) -> None:
    rows = {row.label: (row.before, row.after, row.projected) for row in comparisons(CONTEXT, scores)}
    assert rows["single seed -> ensemble"][:2] == ("v25/seed42_plain", "v25/ensemble")
    assert rows["CRF v2 -> v25 settings (enhanced CRF)"] == ("v25/crf_v2", "v25/crf_v25", (1.5, 0.01, 0.1))
    assert rows["without -> with SMOTE"] == ("no_smote/seed42_plain", "v25/seed42_plain", (3.5, 0.025, -0.2))
    assert rows["ResNet-50 -> EfficientNet-B4"][2] == (2.0, 0.02, 0.5)
    assert rows["without -> with TTA"][:2] == ("v25/seed42_plain", "v25/seed42_tta")
    assert rows["V2 -> V2.5 (final products, all components)"][:2] == ("v2/crf_v2", "v25/crf_v25")
    assert rows["argmax -> ordinal median decision (ensemble)"][:2] == ("v25/ensemble_argmax", "v25/ensemble")
    assert len(rows) == 11


def test_measured_deltas_sit_next_to_the_projected_ones(scores) -> None:
    table = ablation_markdown(CONTEXT, scores)
    smote = next(line for line in table.splitlines() if line.startswith("| without -> with SMOTE"))
    cells = [c.strip() for c in smote.strip("|").split("|")]
    assert cells[3:5] == ["+5.0", "+3.5"] and cells[-1] == "held"
    attention = next(line for line in table.splitlines() if line.startswith("| without -> with attention"))
    assert attention.rstrip(" |").endswith("no")
    assert "span 2.0 points of class-1 precision" in table


@pytest.mark.parametrize(
    ("measured", "projected", "expected"),
    [(2.0, 1.5, "held"), (1.0, 1.5, "smaller"), (-1.0, 1.5, "no"), (float("nan"), 1.5, "undefined"), (1.0, None, "-")],
)
def test_verdict(measured, projected, expected) -> None:
    assert verdict(measured, projected) == expected


def test_success_report_marks_each_target_and_compares_with_a_baseline(scores, tmp_path: Path) -> None:
    targets = {"kappa_unweighted": 0.48, "precision_medium": 0.22, "recall_high": 0.93, "spearman_rho": 0.58}
    baseline_path = tmp_path / "v2_metrics.json"
    baseline_path.write_text(json.dumps({"kappa_unweighted": 0.4534, "precision_medium": 0.1785}))
    text = success_markdown(scores, "v25/crf_v25", targets, read_baseline(baseline_path), {})
    assert "| Cohen's kappa (unweighted) | >= 0.480 | 0.500 | yes | 0.453 | +0.047 |" in text
    assert "| ordinal Spearman rho | >= 0.580 | 0.600 | yes | n/a | n/a |" in text
    assert "4 of 4 targets met." in text
    strict = {**targets, "recall_high": 0.99}
    assert "3 of 4 targets met." in success_markdown(scores, "v25/crf_v25", strict, None, {})


def test_a_baseline_without_known_metrics_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"accuracy": 0.9}))
    with pytest.raises(InputError, match=r"other\.json: has none of the metric keys"):
        read_baseline(path)
