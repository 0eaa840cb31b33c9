"""Fitting the decision rule to a criterion: every threshold pair's confusion, the class-2 recall floor."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from atmo.errors import ConfigError
from atmo.riskseg.decision import Decision, decide
from atmo.riskseg.decision_fit import DecisionSettings, ValidationCounts, candidate_scores, select
from atmo.settings import build_block

# Pixels whose cumulative probabilities lie exactly on a grid of step 0.25: ">= t" must count them as passing.
ON_THE_GRID = np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5], [0.75, 0.0, 0.25], [0.0, 0.25, 0.75]]).T


def _pixels(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n, p=[0.6, 0.1, 0.3])
    probs = rng.dirichlet([1, 1, 1], size=n).T
    probs[truth, np.arange(n)] += 0.6  # informative, not perfect
    probs = np.concatenate([probs / probs.sum(axis=0), ON_THE_GRID], axis=1)
    return np.concatenate([truth, [0, 1, 2, 2]]), probs


def test_the_grid_is_step_multiples_below_one() -> None:
    assert DecisionSettings(threshold_step=0.25).grid.tolist() == [0.25, 0.5, 0.75]
    assert len(DecisionSettings().grid) == 19 and DecisionSettings().grid[2] == 0.15


@pytest.mark.parametrize("step", [0.1, 0.25])
def test_every_candidates_confusion_is_that_of_its_rule_applied_pixel_by_pixel(step: float) -> None:
    truth, probs = _pixels()
    grid = DecisionSettings(threshold_step=step).grid
    counts = ValidationCounts(grid)
    for part in np.array_split(np.arange(truth.size), 3):  # batches add up
        counts.update(truth[part], probs[:, part])
    found = counts.confusions()
    assert len(found) == 2 + len(grid) ** 2 and counts.n_pixels == truth.size
    for decision in (Decision("argmax"), Decision("median"), *(d for d in found if d.rule == "thresholds")):
        expected = confusion_matrix(truth, decide(probs[:, :, None], decision)[:, 0], labels=[0, 1, 2])
        np.testing.assert_array_equal(found[decision], expected, err_msg=str(decision))


def test_candidate_scores_match_scikit_learn() -> None:
    truth, probs = _pixels()
    pred = decide(probs[:, :, None], "argmax")[:, 0]
    matrix = confusion_matrix(truth, pred, labels=[0, 1, 2])
    scores = candidate_scores(matrix, "kappa_quadratic")
    assert scores["criterion"] == pytest.approx(cohen_kappa_score(truth, pred, weights="quadratic"))
    assert scores["recall_high"] == pytest.approx(np.mean(pred[truth == 2] == 2))


# Hand-made confusions (rows true low, medium, high): A has the best kappa but class-2 recall 0.90;
# B reaches the 0.93 floor with a lower kappa; C has the highest recall and the lowest kappa.
A = np.array([[90, 5, 5], [5, 10, 5], [2, 8, 90]])
B = np.array([[80, 10, 10], [5, 8, 7], [1, 5, 94]])
C = np.array([[60, 10, 30], [2, 6, 12], [0, 1, 99]])
CONFUSIONS = {
    Decision("argmax"): A,
    Decision("median"): B,
    Decision("thresholds", (0.3, 0.2)): C,
}


def test_the_best_kappa_wins_only_among_candidates_that_reach_the_recall_floor() -> None:
    kappas = {d: candidate_scores(m, "kappa_unweighted")["criterion"] for d, m in CONFUSIONS.items()}
    assert kappas[Decision("argmax")] > kappas[Decision("median")] > kappas[Decision("thresholds", (0.3, 0.2))]
    floored = select(CONFUSIONS, DecisionSettings(min_class2_recall=0.93))
    assert floored["decision"] == Decision("median") and floored["constraint_met"]
    assert floored["scores"]["recall_high"] == pytest.approx(0.94)
    assert select(CONFUSIONS, DecisionSettings(min_class2_recall=None))["decision"] == Decision("argmax")
    best = select(CONFUSIONS, DecisionSettings())["best_per_rule"]
    assert (best["argmax"]["constraint_met"], best["thresholds"]["thresholds"]) == (False, [0.3, 0.2])


def test_without_a_candidate_at_the_floor_the_highest_class2_recall_is_taken_and_said() -> None:
    picked = select(CONFUSIONS, DecisionSettings(min_class2_recall=0.995))
    assert picked["decision"] == Decision("thresholds", (0.3, 0.2)) and picked["constraint_met"] is False


def test_a_fixed_rule_is_kept_and_its_floor_reported() -> None:
    picked = select(CONFUSIONS, DecisionSettings(rule="argmax"))
    assert picked["decision"] == Decision("argmax") and picked["constraint_met"] is False
    assert select(CONFUSIONS, DecisionSettings(rule="thresholds"))["decision"].rule == "thresholds"


@pytest.mark.parametrize(
    ("key", "value"),
    [("rule", "mode"), ("criterion", "accuracy"), ("min_class2_recall", 1.2), ("threshold_step", 0.0)],
)
def test_bad_settings_are_config_errors_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"riskseg.decision.{key}"):
        build_block(DecisionSettings, {key: value}, "riskseg.decision")
