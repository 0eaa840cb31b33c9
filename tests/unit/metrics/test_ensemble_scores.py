"""Ensemble downscaling scores against properscoring, pysteps, brute-force formulas and known ensembles.

"Calibrated" ensembles here draw truth and members independently from one distribution per pixel
(exchangeable), so a correct score must call them calibrated; "under-dispersed" ones share that
distribution's centre but a third of its spread.
"""

from __future__ import annotations

import numpy as np
import properscoring
import pytest
from pysteps.utils.spectral import rapsd as pysteps_rapsd
from pysteps.verification import spatialscores
from scipy.ndimage import gaussian_filter, uniform_filter
from scipy.stats import chisquare

from atmo.metrics import (
    CRPSAccumulator,
    DiversityAccumulator,
    EnsembleSizeError,
    FSSAccumulator,
    IntensityAccumulator,
    RankHistogramAccumulator,
    RAPSDAccumulator,
    SpreadSkillAccumulator,
    TailMAEAccumulator,
    block_average,
    crps_ensemble,
    diversity,
    fss,
    intensity_bias,
    log_spectral_distance,
    percentile_thresholds,
    pooled_crps,
    rank_histogram,
    rank_histogram_summary,
    rapsd,
    spread_skill_ratio,
    tail_mae,
)


def rain_like(rng: np.random.Generator, shape: tuple[int, ...], dry: float = 0.3) -> np.ndarray:
    """Non-negative values with exact zeros (a fraction ``dry``), as precipitation in mm."""
    values = rng.gamma(0.8, 2.0, size=shape)
    values[rng.random(shape) < dry] = 0.0
    return values


def exchangeable(
    rng: np.random.Generator, n: int, k: int, hw: int = 8, member_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Truth ``(n, hw, hw)`` and ensemble ``(n, k, hw, hw)``: a per-pixel centre plus noise of unit scale for
    the truth and ``member_scale`` for the members (1: calibrated, < 1: under-dispersed)."""
    centre = rng.normal(0.0, 2.0, size=(n, 1, hw, hw))
    truth = (centre + rng.normal(size=centre.shape))[:, 0]
    members = centre + member_scale * rng.normal(size=(n, k, hw, hw))
    return truth, members


def brute_force_crps(truth: np.ndarray, ensemble: np.ndarray, fair: bool) -> np.ndarray:
    """The O(K^2) definition: E|X - y| - sum_ij |x_i - x_j| / (2 K^2) or / (2 K (K - 1))."""
    k = ensemble.shape[1]
    skill = np.abs(ensemble - truth[:, None]).mean(axis=1)
    pairs = np.abs(ensemble[:, :, None] - ensemble[:, None, :]).sum(axis=(1, 2))
    return skill - pairs / (2 * k * (k - 1) if fair else 2 * k * k)


# ----------------------------------------------------------------------------------------------- CRPS


def test_crps_matches_properscoring_and_the_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    truth = rain_like(rng, (3, 5, 6))
    ensemble = rain_like(rng, (3, 7, 5, 6))  # with exact zeros: ties in the sort must not matter
    ours = crps_ensemble(truth, ensemble)
    assert ours.shape == (3, 5, 6)
    reference = properscoring.crps_ensemble(truth, np.moveaxis(ensemble, 1, -1))
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours, brute_force_crps(truth, ensemble, fair=False), rtol=1e-9, atol=1e-12)


def test_fair_crps_divides_the_spread_term_by_k_k_minus_1() -> None:
    rng = np.random.default_rng(1)
    truth = rain_like(rng, (2, 4, 4))
    ensemble = rain_like(rng, (2, 5, 4, 4))
    fair = crps_ensemble(truth, ensemble, fair=True)
    np.testing.assert_allclose(fair, brute_force_crps(truth, ensemble, fair=True), rtol=1e-9, atol=1e-12)
    # the fair spread term is larger by K/(K-1), so the fair score is lower wherever the members differ
    assert (fair <= crps_ensemble(truth, ensemble) + 1e-12).all()
    assert (fair < crps_ensemble(truth, ensemble)).any()


def test_one_member_crps_is_the_absolute_error_and_fair_needs_two() -> None:
    rng = np.random.default_rng(2)
    truth = rain_like(rng, (2, 3, 4))
    member = rain_like(rng, (2, 1, 3, 4))
    np.testing.assert_allclose(crps_ensemble(truth, member), np.abs(member[:, 0] - truth), rtol=0, atol=1e-12)
    with pytest.raises(EnsembleSizeError, match="K=1"):
        crps_ensemble(truth, member, fair=True)


def test_pooled_crps_is_the_crps_of_block_means() -> None:
    rng = np.random.default_rng(3)
    truth = rain_like(rng, (2, 10, 9))
    ensemble = rain_like(rng, (2, 4, 10, 9))
    np.testing.assert_array_equal(pooled_crps(truth, ensemble, 1), crps_ensemble(truth, ensemble))
    pooled = pooled_crps(truth, ensemble, 4)
    assert pooled.shape == (2, 2, 2)  # 10 x 9 pixels hold 2 x 2 whole 4 x 4 tiles; the rest is dropped
    tile_truth = truth[:, 4:8, 0:4].mean(axis=(1, 2))
    tile_members = ensemble[:, :, 4:8, 0:4].mean(axis=(2, 3))
    np.testing.assert_allclose(pooled[:, 1, 0], properscoring.crps_ensemble(tile_truth, tile_members), rtol=1e-9)
    np.testing.assert_allclose(block_average(truth, 4)[:, 1, 0], tile_truth, rtol=1e-12)
    with pytest.raises(ValueError, match="larger than the field"):
        pooled_crps(truth, ensemble, 16)


def test_crps_accumulator_pools_uneven_batches() -> None:
    rng = np.random.default_rng(4)
    truth = rain_like(rng, (7, 8, 8))
    ensemble = rain_like(rng, (7, 3, 8, 8))
    acc = CRPSAccumulator(blocks=(1, 4))
    for start, stop in ((0, 1), (1, 7)):  # a mean of batch means would weight the single case like six
        acc.update(truth[start:stop], ensemble[start:stop])
    result = acc.crps()
    assert result[1] == pytest.approx(crps_ensemble(truth, ensemble).mean(), rel=1e-12)
    assert result[4] == pytest.approx(pooled_crps(truth, ensemble, 4).mean(), rel=1e-12)
    assert np.isnan(CRPSAccumulator().crps()[1])


# ----------------------------------------------------------------------------------------------- rank histogram


def test_calibrated_ensemble_has_a_flat_rank_histogram() -> None:
    truth, ensemble = exchangeable(np.random.default_rng(5), n=200, k=9)
    counts = rank_histogram(truth, ensemble, rng=0)
    assert counts.shape == (10,) and counts.sum() == truth.size
    assert chisquare(counts).pvalue > 0.01
    summary = rank_histogram_summary(counts)
    assert summary.expected_outlier_fraction == pytest.approx(0.2)
    assert summary.outlier_fraction == pytest.approx(0.2, abs=0.02)
    assert summary.reliability_index < 0.08


def test_under_dispersed_ensemble_has_a_u_shaped_rank_histogram() -> None:
    truth, ensemble = exchangeable(np.random.default_rng(6), n=200, k=9, member_scale=1 / 3)
    counts = rank_histogram(truth, ensemble, rng=0)
    middle = counts[1:-1].mean()
    assert counts[0] > 3 * middle and counts[-1] > 3 * middle
    assert chisquare(counts).pvalue < 1e-6
    summary = rank_histogram_summary(counts)
    assert summary.outlier_fraction > 2 * summary.expected_outlier_fraction
    assert summary.reliability_index > 0.5


def test_ties_at_zero_are_spread_uniformly_over_the_tied_ranks() -> None:
    dry_truth = np.zeros((1, 100, 100))
    dry_members = np.zeros((1, 4, 100, 100))
    counts = rank_histogram(dry_truth, dry_members, rng=np.random.default_rng(7))
    assert chisquare(counts).pvalue > 0.01  # all five ranks equally likely, not all in bin 0 (or 4)
    assert counts.min() > 0.18 * counts.sum()
    np.testing.assert_array_equal(counts, rank_histogram(dry_truth, dry_members, rng=7))  # seeded: reproducible
    # two of four members tie with the truth and two lie above it: only ranks 0, 1, 2 are possible
    partial = np.broadcast_to(np.array([0.0, 0.0, 1.0, 2.0])[None, :, None, None], (1, 4, 100, 100))
    counts = rank_histogram(dry_truth, partial, rng=8)
    assert counts[3:].sum() == 0
    assert chisquare(counts[:3]).pvalue > 0.01


def test_rank_histogram_summary_by_hand_and_streaming() -> None:
    summary = rank_histogram_summary([3, 1, 1, 1, 4])  # K = 4, n = 10
    assert (summary.n_members, summary.n) == (4, 10)
    assert summary.outlier_fraction == pytest.approx(0.7)
    assert summary.expected_outlier_fraction == pytest.approx(0.4)
    assert summary.reliability_index == pytest.approx(0.1 + 3 * 0.1 + 0.2)
    truth, ensemble = exchangeable(np.random.default_rng(9), n=6, k=3)
    acc = RankHistogramAccumulator(rng=1)
    acc.update(truth[:2], ensemble[:2])
    acc.update(truth[2:], ensemble[2:])
    assert acc.counts is not None and acc.counts.sum() == truth.size
    assert acc.summary().n == truth.size
    with pytest.raises(ValueError, match="same ensemble size"):
        acc.update(truth, ensemble[:, :2])


# ----------------------------------------------------------------------------------------------- spread-skill


def test_spread_skill_is_one_for_a_calibrated_ensemble_with_the_fortin_correction() -> None:
    truth, ensemble = exchangeable(np.random.default_rng(10), n=400, k=3, hw=16)
    assert spread_skill_ratio(truth, ensemble) == pytest.approx(1.0, abs=0.03)
    # without the (K+1)/K factor the same ensemble reads as under-dispersed: sqrt(3/4) = 0.866
    assert spread_skill_ratio(truth, ensemble, corrected=False) == pytest.approx(np.sqrt(3 / 4), abs=0.03)


def test_spread_skill_is_below_one_for_an_under_dispersed_ensemble() -> None:
    truth, ensemble = exchangeable(np.random.default_rng(11), n=400, k=3, hw=16, member_scale=1 / 3)
    assert spread_skill_ratio(truth, ensemble) < 0.5


def test_spread_skill_by_hand_and_streaming() -> None:
    # one pixel, two cases: members (0, 2) and (1, 1); truth 2 and 1 -> s^2 = 2 and 0; errors 1 and 0
    truth = np.array([2.0, 1.0]).reshape(2, 1, 1)
    ensemble = np.array([[0.0, 2.0], [1.0, 1.0]]).reshape(2, 2, 1, 1)
    acc = SpreadSkillAccumulator()
    acc.update(truth[:1], ensemble[:1])
    acc.update(truth[1:], ensemble[1:])
    assert acc.spread() == pytest.approx(1.0)  # sqrt((2 + 0) / 2)
    assert acc.skill() == pytest.approx(np.sqrt(0.5))
    assert acc.ratio(corrected=False) == pytest.approx(np.sqrt(2))
    assert acc.ratio() == pytest.approx(np.sqrt(1.5) * np.sqrt(2))
    assert spread_skill_ratio(truth, ensemble) == pytest.approx(acc.ratio())


# ----------------------------------------------------------------------------------------------- intensity, diversity


def test_intensity_bias_pools_members_and_the_accumulator_agrees_within_a_bin() -> None:
    rng = np.random.default_rng(12)
    truth = rain_like(rng, (5, 16, 16))
    ensemble = 0.8 * rain_like(rng, (5, 4, 16, 16))
    stats = intensity_bias(truth, ensemble)
    assert list(stats) == ["mean", "p95", "p99", "max"]
    assert stats["p99"].truth == pytest.approx(np.quantile(truth, 0.99))
    assert stats["p99"].forecast == pytest.approx(np.quantile(ensemble, 0.99))
    assert stats["p99"].ratio == pytest.approx(stats["p99"].forecast / stats["p99"].truth)
    assert stats["p99"].difference == pytest.approx(stats["p99"].forecast - stats["p99"].truth)
    assert stats["max"].forecast == ensemble.max() and stats["mean"].truth == pytest.approx(truth.mean())
    acc = IntensityAccumulator(bin_width=0.01)
    acc.update(truth[:2], ensemble[:2])
    acc.update(truth[2:], ensemble[2:])
    streamed = acc.result()
    for key in ("p95", "p99"):
        assert streamed[key].truth == pytest.approx(stats[key].truth, abs=0.01)
        assert streamed[key].forecast == pytest.approx(stats[key].forecast, abs=0.01)
    assert streamed["mean"].forecast == pytest.approx(stats["mean"].forecast, rel=1e-12)
    assert streamed["max"] == stats["max"]
    narrow = IntensityAccumulator(upper=1.0)
    narrow.update(truth, ensemble)
    with pytest.raises(ValueError, match="widen"):
        narrow.result()


def test_diversity_is_zero_for_identical_members_and_the_mean_std_otherwise() -> None:
    rng = np.random.default_rng(13)
    one = rain_like(rng, (3, 1, 6, 6))
    assert diversity(np.repeat(one, 5, axis=1)) == 0.0
    assert diversity(np.repeat(one, 5, axis=1), relative=True) == 0.0
    # two pixels: members (0, 2) -> std sqrt(2), mean 1; members (3, 3) -> std 0, mean 3
    ensemble = np.array([[0.0, 3.0], [2.0, 3.0]]).reshape(1, 2, 1, 2)
    assert diversity(ensemble) == pytest.approx(np.sqrt(2) / 2)
    assert diversity(ensemble, relative=True) == pytest.approx(np.sqrt(2) / 4)
    acc = DiversityAccumulator()
    acc.update(ensemble[:, :, :, :1])
    acc.update(ensemble[:, :, :, 1:])
    assert acc.diversity() == pytest.approx(diversity(ensemble))


# ----------------------------------------------------------------------------------------------- FSS


def pysteps_fss(truth: np.ndarray, forecast: np.ndarray, threshold: float, window: int) -> float:
    """pysteps' FSS pooled over cases with its init / accumulate / compute API."""
    state = spatialscores.fss_init(threshold, window)
    for f, o in zip(forecast, truth, strict=True):
        spatialscores.fss_accum(state, f, o)
    return spatialscores.fss_compute(state)


def test_fss_matches_pysteps_for_a_deterministic_forecast() -> None:
    rng = np.random.default_rng(14)
    truth = gaussian_filter(rain_like(rng, (3, 32, 32)), sigma=(0, 2, 2))
    forecast = gaussian_filter(rain_like(rng, (3, 32, 32)), sigma=(0, 2, 2))
    single = spatialscores.fss(forecast[0], truth[0], 1.0, 5)
    assert fss(truth[:1], forecast[:1], 1.0, 5) == pytest.approx(single, rel=1e-10)
    thresholds = percentile_thresholds(truth, (75, 95))
    np.testing.assert_allclose(thresholds, np.percentile(truth, [75, 95]))
    acc = FSSAccumulator(thresholds, [1, 4, 9])
    acc.update(truth, forecast)
    expected = [[pysteps_fss(truth, forecast, t, w) for w in (1, 4, 9)] for t in thresholds]
    np.testing.assert_allclose(acc.fss(), expected, rtol=1e-10)
    assert fss(truth, truth, 1.0, 3) == 1.0


def test_ensemble_fss_per_member_and_on_the_exceedance_probability() -> None:
    rng = np.random.default_rng(15)
    truth = gaussian_filter(rain_like(rng, (2, 24, 24)), sigma=(0, 1.5, 1.5))
    ensemble = gaussian_filter(rain_like(rng, (2, 3, 24, 24)), sigma=(0, 0, 1.5, 1.5))
    per_member = [pysteps_fss(truth, ensemble[:, k], 1.0, 5) for k in range(3)]
    assert fss(truth, ensemble, 1.0, 5) == pytest.approx(np.mean(per_member), rel=1e-10)
    # probability mode: the forecast fraction is the neighbourhood mean of the member-mean exceedance
    prob = (ensemble >= 1.0).mean(axis=1)
    p_f = np.stack([uniform_filter(p, size=5, mode="constant") for p in prob])
    p_o = np.stack([uniform_filter((o >= 1.0).astype(float), size=5, mode="constant") for o in truth])
    expected = 1 - np.sum((p_f - p_o) ** 2) / (np.sum(p_f**2) + np.sum(p_o**2))
    assert fss(truth, ensemble, 1.0, 5, mode="probability") == pytest.approx(expected, rel=1e-10)
    assert fss(truth, ensemble, 1.0, 5, mode="probability") != pytest.approx(np.mean(per_member), rel=1e-3)
    assert np.isnan(fss(truth, ensemble, 1e6, 5))  # no event anywhere: undefined, not 0 or 1


# ----------------------------------------------------------------------------------------------- tail MAE


def test_tail_mae_uses_only_pixels_where_the_truth_exceeds_the_threshold() -> None:
    truth = np.array([0.0, 1.0, 5.0, 10.0]).reshape(1, 1, 4)
    prediction = np.array([3.0, 1.0, 4.0, 6.0]).reshape(1, 1, 4)
    assert tail_mae(truth, prediction, 1.0) == pytest.approx((1 + 4) / 2)  # strict: the 1.0 pixel is out
    assert tail_mae(truth, prediction, 0.0) == pytest.approx((0 + 1 + 4) / 3)  # a P95 of 0 keeps wet pixels
    assert np.isnan(tail_mae(truth, prediction, 10.0))
    ensemble = np.stack([prediction, truth], axis=1)  # second member perfect
    assert tail_mae(truth, ensemble, 1.0) == pytest.approx((2.5 + 0) / 2)
    acc = TailMAEAccumulator([1.0, 10.0])
    acc.update(truth, prediction)
    np.testing.assert_allclose(acc.mae(), [2.5, np.nan])


# ----------------------------------------------------------------------------------------------- spectra


def test_white_noise_has_a_flat_spectrum_at_its_variance() -> None:
    noise = np.random.default_rng(16).normal(0.0, 2.0, size=(256, 32, 32))
    wavenumber, power = rapsd(noise)
    assert wavenumber.shape == power.shape == (15,)
    np.testing.assert_allclose(wavenumber, np.arange(1, 16) / 32)
    np.testing.assert_allclose(power, 4.0, rtol=0.12)  # the smallest ring holds 8 coefficients per field
    slope = np.polyfit(np.log(wavenumber), np.log(power), 1)[0]
    assert abs(slope) < 0.05


def test_smoothing_removes_high_frequency_power() -> None:
    noise = np.random.default_rng(17).normal(size=(16, 64, 64))
    smooth = gaussian_filter(noise, sigma=(0, 2, 2), mode="wrap")
    _, raw_power = rapsd(noise)
    _, smooth_power = rapsd(smooth)
    ratio = smooth_power / raw_power
    assert ratio[-10:].max() < 0.01 * ratio[:3].min()
    assert log_spectral_distance(smooth_power, raw_power) > 10.0


def test_rapsd_matches_pysteps_and_streams() -> None:
    rng = np.random.default_rng(18)
    for size in (32, 33):
        field = rng.normal(size=(size, size))
        reference, freq = pysteps_rapsd(field, fft_method=np.fft, return_freq=True)
        wavenumber, power = rapsd(field)
        np.testing.assert_allclose(power, reference[1:], rtol=1e-10)  # pysteps' bin 0 is the DC term
        np.testing.assert_allclose(wavenumber, freq[1:], rtol=1e-12)
    fields = rng.normal(size=(5, 2, 12, 20))  # non-square, with an ensemble axis
    acc = RAPSDAccumulator()
    acc.update(fields[:2])
    acc.update(fields[2:])
    np.testing.assert_allclose(acc.result()[1], rapsd(fields)[1], rtol=1e-12)
    assert rapsd(fields)[1].shape == (9,)
    with pytest.raises(ValueError, match="one size"):
        acc.update(rng.normal(size=(1, 12, 12)))


def test_log_spectral_distance() -> None:
    psd = rapsd(np.random.default_rng(19).normal(size=(4, 32, 32)))[1]
    assert log_spectral_distance(psd, psd) == 0.0
    assert log_spectral_distance(psd, 10 * psd) == pytest.approx(10.0)
    other = psd * np.linspace(0.5, 3.0, psd.size)
    assert log_spectral_distance(psd, other) == pytest.approx(log_spectral_distance(other, psd))
    with pytest.raises(ValueError, match="positive"):
        log_spectral_distance(psd, np.zeros_like(psd))
    with pytest.raises(ValueError, match="equal shape"):
        log_spectral_distance(psd, psd[:-1])


# ----------------------------------------------------------------------------------------------- input errors


@pytest.mark.parametrize(
    "score",
    [
        lambda y, x: rank_histogram(y, x, rng=0),
        spread_skill_ratio,
        lambda y, x: diversity(x),
        lambda y, x: crps_ensemble(y, x, fair=True),
        lambda y, x: rank_histogram_summary([1, 2]),
    ],
    ids=["rank_histogram", "spread_skill", "diversity", "fair_crps", "rank_summary"],
)
def test_scores_that_need_an_ensemble_refuse_one_member(score) -> None:
    truth = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match=r"at least 2 members per case, got K=1") as info:
        score(truth, np.zeros((2, 1, 3, 3)))
    assert isinstance(info.value, EnsembleSizeError) and "\n" not in str(info.value)


def test_bad_shapes_and_values_are_refused() -> None:
    truth = np.zeros((2, 3, 3))
    with pytest.raises(ValueError, match=r"\(N, K, H, W\) = \(2, K, 3, 3\)"):
        crps_ensemble(truth, np.zeros((2, 4, 3, 4)))
    with pytest.raises(ValueError, match=r"truth must have shape \(N, H, W\)"):
        crps_ensemble(truth[0], np.zeros((2, 4, 3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        crps_ensemble(truth, np.full((2, 4, 3, 3), np.nan))
    with pytest.raises(ValueError, match="block must be a positive integer"):
        pooled_crps(truth, np.zeros((2, 4, 3, 3)), 0)
    with pytest.raises(ValueError, match="mode"):
        FSSAccumulator([1.0], [3], mode="mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        intensity_bias(truth, np.zeros((2, 2, 3, 3)), quantiles=(99,))
