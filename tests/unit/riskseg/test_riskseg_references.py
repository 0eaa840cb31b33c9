"""The pixel baselines and the oracle in riskseg's comparisons and report: baselines are compared with the
final product, the oracle is shown last and never compared (atmo.riskseg.entries, .comparison, .report)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atmo.metrics.paired import BootstrapSettings
from atmo.metrics.pooled import confusion_statistics
from atmo.publish.comparisons import VS_BEST_BASELINE, WRITE_UP, Entry, compare
from atmo.riskseg.comparison import plan
from atmo.riskseg.entries import SINGLE_FIT, entries
from atmo.riskseg.results import KINDS, score_rows, scores_frame, success_markdown

REFERENCES = {"pixel_logistic": "baseline", "multiscale_hgb": "baseline", "oracle": "oracle"}
INPUTS = {
    "full": "v25",
    "v2": "v2",
    "ablations": {},
    "crf_ablation": None,
    "mode": "plain",
    "other_mode": "tta",
    "crf": {"v25": "v25", "v2": "v2"},
    "seeds": {"v25": [1, 2], "v2": [1]},
    "references": REFERENCES,
}
SETTINGS = INPUTS  # the comparison plan reads the entries' settings


def _units(rng: np.random.Generator, accuracy: float, n_blocks: int = 25) -> pd.DataFrame:
    """Per-block confusion matrices of a classifier right with probability ``accuracy``."""
    rows = []
    for block in range(n_blocks):
        truth = rng.integers(0, 3, size=300)
        pred = np.where(rng.random(300) < accuracy, truth, rng.integers(0, 3, size=300))
        matrix = np.zeros((3, 3), dtype=int)
        np.add.at(matrix, (truth, pred), 1)
        rows.append({"unit": f"block{block}", **dict(zip(confusion_statistics(3), matrix.ravel(), strict=True))})
    return pd.DataFrame(rows)


def test_references_are_entries_of_their_kind_with_one_fit() -> None:
    found = entries(INPUTS)
    for name, kind in REFERENCES.items():
        assert found[name] == {"kind": kind, "products": {SINGLE_FIT: name}}


def test_the_final_product_meets_every_pixel_baseline_and_never_the_oracle() -> None:
    assert ("v25/crf_v25", "pixel_logistic") in plan(SETTINGS, BootstrapSettings(n_boot=100)).write_up
    rng = np.random.default_rng(0)
    accuracy = {"v25/crf_v25": 0.8, "v2/crf_v2": 0.6, "pixel_logistic": 0.5, "multiscale_hgb": 0.7, "oracle": 0.95}
    built = [
        Entry(name, entry["kind"], {seed: _units(rng, accuracy.get(name, 0.7)) for seed in entry["products"]})
        for name, entry in entries(INPUTS).items()
    ]
    record = compare(built, plan(SETTINGS, BootstrapSettings(n_boot=200)))
    roles = {(r["a"], r["b"]): r["role"] for r in record["comparisons"]}
    assert record["best_baseline"] == "multiscale_hgb"
    assert roles[("v25/crf_v25", "multiscale_hgb")] == VS_BEST_BASELINE
    assert roles[("v25/crf_v25", "pixel_logistic")] == WRITE_UP
    assert not any("oracle" in pair for pair in roles)
    assert record["entries"]["oracle"]["kind"] == "oracle"


CONTEXT = {
    "full": "v25",
    "v2": "v2",
    "mode": "plain",
    "other_mode": "tta",
    "crf": {"v25": "v25", "v2": "v2"},
    "seeds": {"v25": [1, 2], "v2": [1]},
    "references": REFERENCES,
}


def _scores(kappa: float, precision: float, decision: str = "median") -> dict:
    return {
        "kappa_unweighted": kappa,
        "precision_medium": precision,
        "recall_medium": 0.3,
        "recall_high": 0.9,
        "spearman_rho": 0.7,
        "decision": decision,
    }


SCORES = {
    "v25/seed1_plain": _scores(0.7, 0.2),
    "v25/seed2_plain": _scores(0.72, 0.22),
    "v25/crf_v25": _scores(0.75, 0.25),
    "v2/seed1_plain": _scores(0.6, 0.15),
    "v2/crf_v2": _scores(0.62, 0.16),
    "pixel_logistic": _scores(0.7, 0.1),
    "multiscale_hgb": _scores(0.78, 0.3),
    "oracle": _scores(0.84, 0.5, "argmax"),
}


def test_the_scores_table_shows_baselines_and_the_oracle_last() -> None:
    rows = score_rows(CONTEXT, SCORES)
    kinds = {row.name: row.kind for row in rows}
    assert kinds["pixel_logistic"] == kinds["multiscale_hgb"] == "baseline" and kinds["oracle"] == "oracle"
    assert KINDS[-1] == "oracle"
    frame = scores_frame(CONTEXT, SCORES).set_index("product")
    assert frame.loc["oracle", "kind"] == "oracle" and frame.loc["pixel_logistic", "seed"] == SINGLE_FIT


def test_the_success_report_states_the_oracles_ceiling_and_each_pixel_baseline() -> None:
    comparison = {
        "a": "v25/crf_v25",
        "b": "pixel_logistic",
        "estimate": 0.05,
        "low": 0.01,
        "high": 0.09,
        "verdict": "beats",
        "role": WRITE_UP,
        "n_units": 28,
        "n_seeds_a": 1,
        "n_seeds_b": 1,
    }
    record = {"label": "kappa", "units": "test blocks", "comparisons": [comparison], "headline": None}
    targets = {"kappa_unweighted": 0.48, "precision_medium": 0.22, "recall_high": 0.93, "spearman_rho": 0.58}
    text = success_markdown(SCORES, "v25/crf_v25", targets, None, {}, record, references=REFERENCES)
    assert "Against a pixel baseline: `v25/crf_v25` beats `pixel_logistic`" in text
    oracle = next(line for line in text.splitlines() if line.startswith("Oracle `oracle`"))
    assert "kappa 0.840, class-1 precision 0.500" in oracle and "decision `argmax`" in oracle
    assert "target 0.220 is within what the data allow" in oracle and "reaches 0.500 of the oracle's" in oracle
