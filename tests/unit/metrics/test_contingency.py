"""Contingency counts and scores against hand-worked tables and scikit-learn's confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from atmo.metrics.contingency import (
    SEVIR_THRESHOLDS,
    ContingencyAccumulator,
    check_thresholds,
    max_pool,
    safe_ratio,
    threshold_label,
    threshold_mean,
)


def as_cache_scale(codes: np.ndarray) -> np.ndarray:
    """Integer VIL codes -> code/255 float16, exactly as the nowcast cache stores truth."""
    return (np.asarray(codes, dtype=np.float64) / 255.0).astype(np.float16)


def test_hand_worked_table_uses_greater_equal() -> None:
    # One sample, one lead, 2 x 4 pixels, threshold 74. Codes at exactly 74 are events (>=, not >).
    truth = np.array([[74, 80, 10, 73], [200, 0, 74, 5]])
    fcst = np.array([[74, 10, 90, 73], [100, 0, 73, 74]])
    # pixel by pixel: H, M, F, C / H, C, M, F  -> H=2, M=2, F=2, C=2
    acc = ContingencyAccumulator([74], n_leads=1)
    acc.update(as_cache_scale(fcst)[None, None], as_cache_scale(truth)[None, None])
    assert (acc.hits[0, 0], acc.misses[0, 0], acc.false_alarms[0, 0], acc.correct_negatives[0, 0]) == (2, 2, 2, 2)
    assert acc.hits.dtype == np.int64 and acc.hits.shape == (1, 1)
    s = acc.scores()
    assert s["csi"][0, 0] == pytest.approx(2 / 6)
    assert s["pod"][0, 0] == pytest.approx(2 / 4)
    assert s["far"][0, 0] == pytest.approx(2 / 4)
    assert s["bias"][0, 0] == pytest.approx(4 / 4)


def test_hand_worked_per_lead_and_threshold() -> None:
    # Lead 1: truth [20, 140], fcst [20, 20]; lead 2: truth [0, 0], fcst [140, 0].
    truth = np.array([[[[20, 140]], [[0, 0]]]])
    fcst = np.array([[[[20, 20]], [[140, 0]]]])
    acc = ContingencyAccumulator([16, 133], n_leads=2)
    acc.update(as_cache_scale(fcst), as_cache_scale(truth))
    # threshold 16:  lead1 H=2 M=0 F=0 C=0; lead2 H=0 M=0 F=1 C=1
    # threshold 133: lead1 H=0 M=1 F=0 C=1; lead2 H=0 M=0 F=1 C=1
    np.testing.assert_array_equal(acc.hits, [[2, 0], [0, 0]])
    np.testing.assert_array_equal(acc.misses, [[0, 0], [1, 0]])
    np.testing.assert_array_equal(acc.false_alarms, [[0, 1], [0, 1]])
    np.testing.assert_array_equal(acc.correct_negatives, [[0, 1], [1, 1]])
    s = acc.scores()
    np.testing.assert_allclose(s["csi"], [[1.0, 0.0], [0.0, 0.0]])
    # lead 2 has no observed event: POD and bias undefined -> NaN, not 0
    assert np.isnan(s["pod"][0, 1]) and np.isnan(s["bias"][1, 1])
    # pooled over leads, threshold 16: H=2 M=0 F=1 -> CSI 2/3; threshold 133: H=0 M=1 F=1 -> 0
    np.testing.assert_allclose(s["csi_all"], [2 / 3, 0.0])
    assert acc.csi_m() == pytest.approx((2 / 3 + 0.0) / 2)
    # lead 2: the truth reaches neither threshold, so no threshold is defined there (not 0 for one model)
    np.testing.assert_allclose(acc.csi_m_per_lead(), [0.5, np.nan])


def test_streaming_equals_one_pass_and_sklearn() -> None:
    rng = np.random.default_rng(3)
    truth_codes = rng.integers(0, 255, size=(5, 3, 16, 16))
    fcst_codes = np.clip(truth_codes + rng.integers(-40, 40, size=truth_codes.shape), 0, 254)
    truth, fcst = as_cache_scale(truth_codes), (fcst_codes / 255.0).astype(np.float32)

    whole = ContingencyAccumulator(SEVIR_THRESHOLDS, n_leads=3)
    whole.update(fcst, truth)
    streamed = ContingencyAccumulator(SEVIR_THRESHOLDS, n_leads=3)
    for start, stop in ((0, 2), (2, 3), (3, 5)):
        streamed.update(fcst[start:stop], truth[start:stop])
    for name in ("hits", "misses", "false_alarms", "correct_negatives"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(streamed, name))

    for k, threshold in enumerate(SEVIR_THRESHOLDS):
        for lead in range(3):
            o = truth_codes[:, lead].ravel() >= threshold
            f = fcst_codes[:, lead].ravel() >= threshold
            (cn, fa), (mi, hi) = confusion_matrix(o, f, labels=[False, True])
            assert (whole.hits[k, lead], whole.misses[k, lead]) == (hi, mi)
            assert (whole.false_alarms[k, lead], whole.correct_negatives[k, lead]) == (fa, cn)


def test_every_float16_code_binarises_like_the_integer_code() -> None:
    codes = np.arange(256)
    stored = as_cache_scale(codes).reshape(1, 1, 16, 16)
    thresholds = list(range(256))
    acc = ContingencyAccumulator(thresholds, n_leads=1)
    acc.update(stored, stored)
    # events of threshold t are the codes >= t: 256 - t of them, all hits
    np.testing.assert_array_equal(acc.hits[:, 0], 256 - np.arange(256))
    np.testing.assert_array_equal(acc.false_alarms, 0)
    np.testing.assert_array_equal(acc.misses, 0)


def test_undefined_scores_are_nan() -> None:
    acc = ContingencyAccumulator([219], n_leads=1)
    zeros = np.zeros((1, 1, 4, 4), dtype=np.float32)
    acc.update(zeros, zeros)
    s = acc.scores()
    for name in ("csi", "pod", "far", "bias"):
        assert np.isnan(s[name]).all(), name
    assert np.isnan(acc.csi_m())


def test_far_defined_and_pod_zero_when_all_missed() -> None:
    acc = ContingencyAccumulator([74], n_leads=1)
    truth = np.full((1, 1, 2, 2), 100 / 255, dtype=np.float32)
    acc.update(np.zeros_like(truth), truth)
    s = acc.scores()
    assert s["pod"][0, 0] == 0.0 and s["csi"][0, 0] == 0.0 and s["bias"][0, 0] == 0.0
    assert np.isnan(s["far"][0, 0])  # no forecast event: FAR undefined


@pytest.mark.parametrize("bad", [[-1], [256], [74, 300.5], [], [np.nan]])
def test_thresholds_outside_code_range_raise(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="VIL codes"):
        check_thresholds(bad)
    with pytest.raises(ValueError, match="VIL codes"):
        ContingencyAccumulator(bad, n_leads=1)


def test_bad_arrays_raise() -> None:
    acc = ContingencyAccumulator([74], n_leads=2)
    good = np.zeros((1, 2, 3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="differs"):
        acc.update(good, good[:, :1])
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        acc.update(good[:, :1], good[:, :1])
    bad = good.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        acc.update(bad, good)


def test_helpers() -> None:
    np.testing.assert_array_equal(safe_ratio(np.array([1, 0]), np.array([2, 0])), [0.5, np.nan])
    assert threshold_label(74) == "74" and threshold_label(74.0) == "74" and threshold_label(74.5) == "74.5"


def test_hss_from_a_hand_worked_table() -> None:
    # 10 pixels, threshold 74: H=3, M=1, F=2, C=4.
    truth = np.array([[100, 100, 100, 100, 0, 0, 0, 0, 0, 0]])
    fcst = np.array([[100, 100, 100, 0, 100, 100, 0, 0, 0, 0]])
    acc = ContingencyAccumulator([74], n_leads=1)
    acc.update(as_cache_scale(fcst)[None, None], as_cache_scale(truth)[None, None])
    # HSS = 2 (HC - MF) / ((H+M)(M+C) + (H+F)(F+C)) = 2 (12 - 2) / (4*5 + 5*6) = 20 / 50
    assert acc.scores()["hss"][0, 0] == pytest.approx(0.4)
    assert acc.hss_m() == pytest.approx(0.4)
    perfect = ContingencyAccumulator([74], n_leads=1)
    perfect.update(as_cache_scale(truth)[None, None], as_cache_scale(truth)[None, None])
    assert perfect.hss_m() == pytest.approx(1.0)


def test_max_pooling_turns_a_one_pixel_displacement_into_a_hit() -> None:
    # A 4 x 8 field, one storm pixel, forecast one pixel to the right of the truth.
    truth, fcst = np.zeros((4, 8), dtype=int), np.zeros((4, 8), dtype=int)
    truth[1, 1], fcst[1, 2] = 200, 200
    unpooled = ContingencyAccumulator([74], n_leads=1)
    pooled = ContingencyAccumulator([74], n_leads=1, pool=4)
    for acc in (unpooled, pooled):
        acc.update(as_cache_scale(fcst)[None, None], as_cache_scale(truth)[None, None])
    # unpooled: H=0 M=1 F=1 C=30; pooled into two 4 x 4 blocks: the left block is a hit, the right one empty
    assert (unpooled.hits.item(), unpooled.misses.item(), unpooled.false_alarms.item()) == (0, 1, 1)
    assert (pooled.hits.item(), pooled.misses.item(), pooled.false_alarms.item()) == (1, 0, 0)
    assert pooled.correct_negatives.item() == 1
    assert (unpooled.csi_m(), pooled.csi_m()) == (0.0, 1.0)


def test_max_pooling_covers_edge_blocks_and_a_storm_across_blocks() -> None:
    # 5 x 5 with 4 x 4 blocks: blocks are rows/cols 0-3 and 4 (the edge block covers what is left).
    codes = np.zeros((1, 1, 5, 5), dtype=np.float32)
    codes[0, 0, 4, 4] = 200.0  # only in the bottom-right edge block
    codes[0, 0, 3, 0] = 80.0  # top-left block
    pooled = max_pool(codes, 4)
    np.testing.assert_array_equal(pooled[0, 0], [[80.0, 0.0], [0.0, 200.0]])
    # hand-worked at threshold 74: truth events in blocks (0,0) and (1,1); forecast only in (1,1) -> H=1 M=1
    acc = ContingencyAccumulator([74], n_leads=1, pool=4)
    fcst = np.zeros((5, 5), dtype=int)
    fcst[4, 4] = 150
    acc.update(as_cache_scale(fcst)[None, None], as_cache_scale(codes[0, 0].astype(int))[None, None])
    assert (acc.hits.item(), acc.misses.item(), acc.false_alarms.item(), acc.correct_negatives.item()) == (1, 1, 0, 2)
    with pytest.raises(ValueError, match="pool"):
        ContingencyAccumulator([74], n_leads=1, pool=0)


def test_csi_m_on_a_weak_echo_test_set_averages_the_thresholds_the_truth_reaches() -> None:
    # The truth never reaches 181 or 219. A forecaster that paints false alarms at 219 and one that
    # does not must both get a CSI-M, over the same thresholds (16, 74, 133).
    truth = np.array([[[[20, 80, 140, 0]]]])
    quiet = np.array([[[[20, 80, 0, 0]]]])
    noisy = np.array([[[[20, 80, 0, 230]]]])
    scores = {}
    for name, fcst in (("quiet", quiet), ("noisy", noisy)):
        acc = ContingencyAccumulator([16, 74, 133, 181, 219], n_leads=1)
        acc.update(as_cache_scale(fcst), as_cache_scale(truth))
        np.testing.assert_array_equal(acc.defined_thresholds(), [True, True, True, False, False])
        scores[name] = acc.csi_m()
    # quiet: CSI 16 = 2/3 (H=2 M=1), 74 = 1/2 (H=1 M=1), 133 = 0 (H=0 M=1)
    assert scores["quiet"] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    # noisy adds one false alarm at every threshold: 16 = 2/4, 74 = 1/3, 133 = 0/2
    assert scores["noisy"] == pytest.approx((2 / 4 + 1 / 3 + 0) / 3)
    empty = ContingencyAccumulator([219], n_leads=1)
    empty.update(as_cache_scale(noisy), as_cache_scale(truth))
    assert np.isnan(empty.csi_m())  # no threshold defined at all: undefined, not 0


def test_unreached_threshold_skip_leaves_it_out_and_zero_counts_it_as_csi_0() -> None:
    # One lead, four pixels. The truth never reaches 181; the forecast raises one false alarm there.
    truth = np.array([[[[20, 80, 0, 0]]]])
    fcst = np.array([[[[20, 0, 0, 200]]]])
    acc = ContingencyAccumulator([16, 74, 181], n_leads=1)
    acc.update(as_cache_scale(fcst), as_cache_scale(truth))
    # 16: H=1 (20) M=1 (80) F=1 (200) -> 1/3; 74: H=0 M=1 F=1 -> 0; 181: H=0 M=0 F=1 -> 0, unreached
    np.testing.assert_array_equal(acc.defined_thresholds(), [True, True, False])
    assert acc.csi_m() == pytest.approx((1 / 3 + 0) / 2)
    assert acc.csi_m(unreached="zero") == pytest.approx((1 / 3 + 0 + 0) / 3)
    np.testing.assert_allclose(acc.csi_m_per_lead(unreached="zero"), [1 / 9])
    # HSS follows the same rule: 16: H=1 M=1 F=1 C=1 -> 0; 74: H=0 M=1 F=1 C=2 -> 2 (0 - 1) / (3 + 3); 181 unreached
    assert acc.hss_m() == pytest.approx(-1 / 6) and acc.hss_m(unreached="zero") == pytest.approx(-1 / 9)
    # no false alarm at the unreached threshold (CSI 0/0): still 0 under zero, as Earthformer's epsilon makes it
    quiet = ContingencyAccumulator([16, 74, 181], n_leads=1)
    quiet.update(as_cache_scale(np.array([[[[20, 0, 0, 0]]]])), as_cache_scale(truth))
    assert quiet.csi_m(unreached="zero") == pytest.approx((1 / 2 + 0 + 0) / 3)
    with pytest.raises(ValueError, match="unreached"):
        acc.csi_m(unreached="drop")


def test_threshold_mean_over_the_last_axis() -> None:
    values = np.array([[0.5, np.nan, 0.25], [np.nan, np.nan, np.nan]])
    reached = np.array([[True, False, True], [False, False, False]])
    np.testing.assert_allclose(threshold_mean(values, reached), [0.375, np.nan])
    np.testing.assert_allclose(threshold_mean(values, reached, "zero"), [0.25, 0.0])
