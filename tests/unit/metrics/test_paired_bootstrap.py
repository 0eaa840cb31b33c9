"""The paired bootstrap over units then seeds: a hand-worked case, coverage by simulation, pooled not averaged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atmo.metrics.paired import (
    BEATS,
    LOSES,
    NO_SEPARATION,
    BootstrapSettings,
    Resampling,
    UnitLayout,
    paired_difference,
    resampled_metric,
    row_weights,
    unit_draws,
    verdict,
)
from atmo.metrics.pooled import mean_csi, ratio

CSI_74 = mean_csi([74])
MAE = ratio("mae", "MAE", "abs_error", "n", higher_is_better=False)


def _counts(hits: list[int], misses: list[int], false_alarms: list[int]) -> pd.DataFrame:
    units = [f"e{i}" for i in range(len(hits))]
    return pd.DataFrame({"unit": units, "hits_74": hits, "misses_74": misses, "false_alarms_74": false_alarms})


def test_two_units_give_the_hand_worked_pooled_estimate_and_interval() -> None:
    """A: e1 (H 1, M 0, F 0), e2 (H 1, M 1, F 2); B: e1 (0, 1, 0), e2 (1, 1, 0).

    Pooled CSI: A = 2 / 5 = 0.4, B = 1 / 3, difference 1/15. Four equally likely resamples:
    (e1, e1): A 1, B 0 -> +1; (e2, e2): A 1/4, B 1/2 -> -1/4; mixed: +1/15. The 95 % percentile
    interval of that distribution (P 1/4, 1/2, 1/4) is [-1/4, +1].
    """
    a = _counts([1, 1], [0, 1], [0, 2])
    b = _counts([0, 1], [1, 1], [0, 0])
    result = paired_difference(("a", [a]), ("b", [b]), CSI_74, Resampling(settings=BootstrapSettings(n_boot=4000)))
    assert result.estimate == pytest.approx(0.4 - 1 / 3)
    assert (result.low, result.high) == pytest.approx((-0.25, 1.0))
    assert result.verdict == NO_SEPARATION
    assert (result.n_units, result.n_seeds_a, result.n_seeds_b, result.n_boot) == (2, 1, 1, 4000)


def test_a_resample_is_scored_from_its_summed_counts_never_from_averaged_unit_scores() -> None:
    """Unit CSIs 1.0 and 0.25 average to 0.625; their pooled counts give 0.4. Both units drawn once,
    and one unit drawn twice (a unit's counts are added twice, so its CSI is unchanged)."""
    a = _counts([1, 1], [0, 1], [0, 2])
    layout = UnitLayout.of(a)
    stats = a[list(CSI_74.statistics)].to_numpy(dtype=float)[None]
    weights = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]])
    values = resampled_metric(CSI_74, stats, layout, weights)[0]
    assert values == pytest.approx([0.4, 1.0, 0.25])
    dry = _counts([0, 0], [1, 2], [0, 0])  # a forecast of no echo: the same truth, CSI 0
    result = paired_difference(("a", [a]), ("dry", [dry]), CSI_74, Resampling(settings=BootstrapSettings(n_boot=200)))
    assert result.estimate == pytest.approx(0.4)  # would be 0.625 if unit CSIs were averaged


def _units(rng: np.random.Generator, n_units: int, shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paired per-unit errors of two entries: a shared unit effect plus independent noise, B worse by ``shift``."""
    unit_effect = rng.gamma(2.0, 1.0, n_units)
    units = [f"u{i}" for i in range(n_units)]
    a = pd.DataFrame({"unit": units, "abs_error": unit_effect + rng.normal(0, 0.3, n_units), "n": 1.0})
    b = pd.DataFrame({"unit": units, "abs_error": unit_effect + shift + rng.normal(0, 0.3, n_units), "n": 1.0})
    return a, b


@pytest.mark.parametrize(("shift", "low", "high"), [(0.0, 0.02, 0.10), (0.5, 0.97, 1.0)])
def test_the_interval_excludes_zero_at_the_nominal_rate_or_almost_always(shift: float, low: float, high: float) -> None:
    """400 simulated experiments of 30 units: with no true difference about 5 % of intervals exclude 0;
    with a difference of 0.5 (noise sd of the difference 0.42, so 0.08 per mean) nearly all do."""
    rng = np.random.default_rng(11)
    excluded = 0
    for draw in range(400):
        a, b = _units(rng, 30, shift)
        settings = BootstrapSettings(n_boot=400, seed=draw)
        result = paired_difference(("a", [a]), ("b", [b]), MAE, Resampling(settings=settings))
        excluded += result.verdict != NO_SEPARATION
    assert low <= excluded / 400 <= high, excluded


def test_a_lower_is_better_metric_beats_when_the_interval_lies_below_zero() -> None:
    a, b = _units(np.random.default_rng(0), 40, 1.0)
    assert paired_difference(("a", [a]), ("b", [b]), MAE, Resampling()).verdict == BEATS
    assert paired_difference(("b", [b]), ("a", [a]), MAE, Resampling()).verdict == LOSES


def test_verdict_words_follow_the_interval_and_the_metrics_direction() -> None:
    assert verdict(0.01, 0.2, higher_is_better=True) == BEATS
    assert verdict(0.01, 0.2, higher_is_better=False) == LOSES
    assert verdict(-0.2, -0.01, higher_is_better=False) == BEATS
    assert verdict(-0.2, 0.01, higher_is_better=True) == NO_SEPARATION
    assert verdict(float("nan"), 0.3, higher_is_better=True) == NO_SEPARATION


def test_seed_spread_widens_the_interval() -> None:
    """The same units, once with three seeds that disagree by far more than the units do."""
    a, b = _units(np.random.default_rng(3), 30, 0.3)
    shifted = [a.assign(abs_error=a["abs_error"] + offset) for offset in (-0.6, 0.0, 0.6)]
    one = paired_difference(("a", [a]), ("b", [b]), MAE, Resampling())
    three = paired_difference(("a", shifted), ("b", [b]), MAE, Resampling())
    assert three.estimate == pytest.approx(one.estimate)
    assert three.high - three.low > 2 * (one.high - one.low)
    assert three.n_seeds_a == 3


def test_every_plan_draws_as_many_unit_copies_as_there_are_units() -> None:
    frame = pd.DataFrame({"unit": [f"d{i}" for i in range(10)], "x": 1.0})
    layout = UnitLayout.of(frame)
    for scheme in ("units", "moving_block"):
        copies = unit_draws(
            layout, Resampling(scheme, BootstrapSettings(n_boot=100, block_length=3)), np.random.default_rng(0)
        )
        assert copies.shape == (100, 10) and (copies.sum(axis=1) == 10).all()


def test_moving_blocks_keep_neighbouring_days_together() -> None:
    """Blocks of 5 on a circle of 10 days: how often day 0 and day 1 are drawn is strongly correlated
    (a block holding one mostly holds the other); with i.i.d. draws it is not (slightly negative)."""
    layout = UnitLayout.of(pd.DataFrame({"unit": [f"d{i}" for i in range(10)], "x": 1.0}))
    resampling = Resampling("moving_block", BootstrapSettings(n_boot=2000, block_length=5))
    copies = unit_draws(layout, resampling, np.random.default_rng(1))
    neighbours = np.corrcoef(copies[:, 0], copies[:, 1])[0, 1]
    i_i_d = np.corrcoef(
        *unit_draws(layout, Resampling("units", resampling.settings), np.random.default_rng(1))[:, :2].T
    )[0, 1]
    assert neighbours > 0.5 > i_i_d


def test_items_are_redrawn_within_each_drawn_copy_of_their_unit() -> None:
    frame = pd.DataFrame({"unit": ["f1"] * 3 + ["f2"] * 5, "item": [str(i) for i in range(8)], "x": 1.0})
    layout = UnitLayout.of(frame)
    resampling = Resampling("units_and_items", BootstrapSettings(n_boot=300))
    rng = np.random.default_rng(2)
    copies = unit_draws(layout, resampling, rng)
    weights = row_weights(layout, copies, resampling, rng)
    assert (weights[:, :3].sum(axis=1) == copies[:, 0] * 3).all()
    assert (weights[:, 3:].sum(axis=1) == copies[:, 1] * 5).all()
    assert weights[:, :3].std(axis=0).min() > 0  # the items of a unit are not always drawn together


def test_entries_scored_on_different_units_cannot_be_paired() -> None:
    a = _counts([1, 1], [0, 1], [0, 2])
    b = a.assign(unit=["e1", "e9"])
    with pytest.raises(ValueError, match="different units"):
        paired_difference(("a", [a]), ("b", [b]), CSI_74, Resampling())
    with pytest.raises(ValueError, match="lack the columns"):
        paired_difference(("a", [a.drop(columns="hits_74")]), ("b", [a]), CSI_74, Resampling())


def test_the_same_bootstrap_seed_gives_the_same_interval() -> None:
    a, b = _units(np.random.default_rng(5), 20, 0.1)
    first = paired_difference(("a", [a]), ("b", [b]), MAE, Resampling())
    assert first == paired_difference(("a", [a]), ("b", [b]), MAE, Resampling())
    other = paired_difference(("a", [a]), ("b", [b]), MAE, Resampling(settings=BootstrapSettings(seed=1)))
    assert (other.low, other.high) != (first.low, first.high)
