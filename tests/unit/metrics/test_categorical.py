"""Categorical scores from a confusion matrix against scikit-learn and scipy on the expanded pixel lists."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn import metrics as skm

from atmo.metrics import categorical as cat

K = 3
LABELS = list(range(K))
NAMES = ("low", "medium", "high")


def random_pair(seed: int, n: int = 500, never_predicted: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Correlated ordinal truth and prediction; ``never_predicted`` is a class the prediction avoids."""
    rng = np.random.default_rng(seed)
    true = rng.choice(K, size=n, p=[0.6, 0.1, 0.3])
    pred = np.clip(true + rng.choice([-1, 0, 0, 0, 1], size=n), 0, K - 1)
    if never_predicted is not None:
        pred[pred == never_predicted] = (never_predicted + 1) % K
    return true, pred


CASES = [
    pytest.param(random_pair(0), id="correlated"),
    pytest.param(random_pair(1, n=37), id="small"),
    pytest.param(random_pair(2, never_predicted=1), id="class-1-never-predicted"),
    pytest.param(
        (np.random.default_rng(3).integers(0, K, 400), np.random.default_rng(4).integers(0, K, 400)), id="independent"
    ),
    pytest.param((np.array([0, 0, 2, 2, 2]), np.array([0, 2, 2, 2, 0])), id="class-1-absent"),
]


@pytest.mark.parametrize("pair", CASES)
def test_confusion_matrix_matches_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    true, pred = pair
    cm = cat.confusion_matrix(true, pred, K)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(true, pred, labels=LABELS))
    assert cm.dtype == np.int64 and cm.shape == (K, K)


@pytest.mark.parametrize("pair", CASES)
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_matches_sklearn(pair: tuple[np.ndarray, np.ndarray], weights: str | None) -> None:
    true, pred = pair
    expected = skm.cohen_kappa_score(true, pred, labels=LABELS, weights=weights)
    assert cat.cohen_kappa(cat.confusion_matrix(true, pred, K), weights) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("pair", CASES)
def test_per_class_scores_match_sklearn_with_nan_for_undefined(pair: tuple[np.ndarray, np.ndarray]) -> None:
    true, pred = pair
    cm = cat.confusion_matrix(true, pred, K)
    nan = {"labels": LABELS, "average": None, "zero_division": np.nan}
    np.testing.assert_allclose(cat.precision(cm), skm.precision_score(true, pred, **nan), equal_nan=True)
    np.testing.assert_allclose(cat.recall(cm), skm.recall_score(true, pred, **nan), equal_nan=True)
    # jaccard_score has no NaN option: compare where the class occurs, expect NaN where it does not.
    present = sorted(set(true.tolist()) | set(pred.tolist()))
    ours = cat.iou(cm)
    np.testing.assert_allclose(ours[present], skm.jaccard_score(true, pred, labels=present, average=None))
    assert np.isnan(np.delete(ours, present)).all()
    macro = skm.jaccard_score(true, pred, labels=present, average="macro")
    assert cat.macro_iou(cm) == pytest.approx(macro, abs=1e-12)
    assert cat.accuracy(cm) == pytest.approx(skm.accuracy_score(true, pred), abs=1e-12)


def test_never_predicted_class_has_nan_precision_but_defined_recall() -> None:
    true, pred = random_pair(2, never_predicted=1)
    cm = cat.confusion_matrix(true, pred, K)
    assert np.isnan(cat.precision(cm)[1])
    assert cat.recall(cm)[1] == 0.0 and cat.iou(cm)[1] == 0.0


@pytest.mark.parametrize("pair", CASES)
def test_spearman_from_matrix_equals_scipy_on_pixels(pair: tuple[np.ndarray, np.ndarray]) -> None:
    true, pred = pair
    expected = spearmanr(true, pred).statistic
    assert cat.spearman_rho(cat.confusion_matrix(true, pred, K)) == pytest.approx(expected, abs=1e-12)


def test_spearman_and_kappa_are_nan_when_constant() -> None:
    cm = cat.confusion_matrix(np.zeros(10, int), np.array([0, 1] * 5), K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(spearmanr(np.zeros(10), np.array([0, 1] * 5)).statistic)
    assert np.isnan(cat.spearman_rho(cm))
    assert np.isnan(cat.cohen_kappa(cat.confusion_matrix(np.zeros(5, int), np.zeros(5, int), K)))
    assert np.isnan(cat.spearman_rho(np.zeros((K, K))))


def test_perfect_prediction() -> None:
    true = np.array([0, 1, 2, 2, 1, 0, 0])
    scores = cat.classification_scores(cat.confusion_matrix(true, true, K), NAMES)
    for key in ("kappa_unweighted", "kappa_linear", "kappa_quadratic", "macro_iou", "spearman_rho", "accuracy"):
        assert scores[key] == pytest.approx(1.0)


def test_classification_scores_keys_and_values() -> None:
    true, pred = random_pair(5)
    cm = cat.confusion_matrix(true, pred, K)
    scores = cat.classification_scores(cm, NAMES)
    per_class = [f"{s}_{n}" for s in ("precision", "recall", "iou") for n in NAMES]
    rest = ["kappa_unweighted", "kappa_linear", "kappa_quadratic", "macro_iou", "spearman_rho", "accuracy", "n_pixels"]
    assert set(scores) == set(per_class) | set(rest)
    assert all(isinstance(value, float) for value in scores.values())
    assert scores["n_pixels"] == len(true)
    assert scores["kappa_quadratic"] == pytest.approx(skm.cohen_kappa_score(true, pred, weights="quadratic"))
    assert scores["recall_high"] == pytest.approx(skm.recall_score(true, pred, labels=[2], average=None)[0])
    with pytest.raises(ValueError, match="2 class names"):
        cat.classification_scores(cm, NAMES[:2])


def test_accumulator_pools_batches_and_skips_nodata() -> None:
    true, pred = random_pair(6, n=600)
    true, pred = true.reshape(2, 15, 20).astype(np.uint8), pred.reshape(2, 15, 20).astype(np.uint8)
    rng = np.random.default_rng(7)
    true[rng.random(true.shape) < 0.1] = 255
    pred[rng.random(pred.shape) < 0.05] = 255
    valid = rng.random(true.shape) > 0.2
    acc = cat.ConfusionAccumulator(K, ignore=255)
    for i in range(2):
        acc.update(true[i], pred[i], valid=valid[i])
    keep = valid & (true != 255) & (pred != 255)
    np.testing.assert_array_equal(acc.matrix, skm.confusion_matrix(true[keep], pred[keep], labels=LABELS))
    assert acc.scores(NAMES)["n_pixels"] == keep.sum()


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the classes"):
        cat.confusion_matrix(np.array([0, 3]), np.array([0, 1]), K)
    with pytest.raises(ValueError, match="outside the classes"):
        cat.confusion_matrix(np.array([0, 1]), np.array([0, 255]), K)
    with pytest.raises(ValueError, match="shapes differ"):
        cat.confusion_matrix(np.zeros(3, int), np.zeros(4, int), K)
    with pytest.raises(ValueError, match="square"):
        cat.iou(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="weights"):
        cat.cohen_kappa(np.eye(3), "cubic")
